package mangos_test

import (
	"testing"
	"time"

	mgpub "go.nanomsg.org/mangos/v3/protocol/pub"
	_ "go.nanomsg.org/mangos/v3/transport/tcp"

	mw "github.com/mqwire/mqwire/compat/mangos"
	mwsub "github.com/mqwire/mqwire/compat/mangos/protocol/sub"
	"github.com/mqwire/mqwire/internal/testutil"
)

// Sub contexts as mangos code uses them, fed by mangos's own publisher:
// each context receives what matches its own subscriptions, cannot send,
// and refuses to unsubscribe from what it has not subscribed to.
func TestShimSubContexts(t *testing.T) {
	testutil.CheckGoroutines(t)
	p, err := mgpub.NewSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	url := "tcp://" + freeAddr(t)
	if err := p.Listen(url); err != nil {
		t.Fatal(err)
	}
	s := shim(t, mwsub.NewSocket)
	ctxs := map[string]mw.Context{}
	for _, topic := range []string{"a", "b"} {
		c, err := s.OpenContext()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SetOption(mw.OptionSubscribe, topic); err != nil {
			t.Fatal(err)
		}
		if err := c.SetOption(mw.OptionRecvDeadline, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		ctxs[topic] = c
	}
	if err := s.Dial(url); err != nil {
		t.Fatal(err)
	}
	// What the publisher sends before it has the connection is lost.
	for _, topic := range []string{"a", "b"} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			if err := p.Send([]byte(topic + "-warm")); err != nil {
				t.Fatal(err)
			}
			if _, err := ctxs[topic].Recv(); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("context %s got nothing", topic)
			}
		}
	}
	for _, m := range []string{"a1", "b1", "c1"} {
		if err := p.Send([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for topic, c := range ctxs {
		c.SetOption(mw.OptionRecvDeadline, 5*time.Second)
		if b, err := c.Recv(); err != nil || string(b) != topic+"1" {
			t.Errorf("context %s got %q %v", topic, b, err)
		}
		if err := c.Send([]byte("x")); err != mw.ErrProtoOp {
			t.Errorf("Send on a sub context: %v, want ErrProtoOp", err)
		}
	}
	// OptionReadQLen is each context's own, as mangos's.
	if err := ctxs["a"].SetOption(mw.OptionReadQLen, 7); err != nil {
		t.Fatal(err)
	}
	if v, err := ctxs["a"].GetOption(mw.OptionReadQLen); err != nil || v != 7 {
		t.Errorf("OptionReadQLen read back %v, %v; want 7", v, err)
	}
	if v, _ := ctxs["b"].GetOption(mw.OptionReadQLen); v == 7 {
		t.Error("another context's OptionReadQLen changed with it")
	}
	for _, bad := range []interface{}{0, "7", 1 << 20} {
		if err := ctxs["a"].SetOption(mw.OptionReadQLen, bad); err != mw.ErrBadValue {
			t.Errorf("OptionReadQLen %v: %v, want ErrBadValue", bad, err)
		}
	}
	if err := ctxs["a"].SetOption(mw.OptionUnsubscribe, "b"); err != mw.ErrBadValue {
		t.Errorf("unsubscribing from a topic not subscribed to: %v, want ErrBadValue", err)
	}
	if err := ctxs["a"].Close(); err != nil {
		t.Fatal(err)
	}
	if err := ctxs["a"].SetOption(mw.OptionSubscribe, "a"); err != mw.ErrClosed {
		t.Errorf("Subscribe on a closed context: %v, want ErrClosed", err)
	}
}
