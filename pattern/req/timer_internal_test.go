package req

import (
	"context"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/socket"
)

// TestCloseStopsResendTimers: the resend timer keeps running after a reply
// (it is not stopped for every request), so Close must stop it; otherwise
// each closed socket would stay reachable from a timer until it went off,
// a minute later by default.
func TestCloseStopsResendTimers(t *testing.T) {
	rq, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rp, err := rep.New()
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	l, err := rp.Listen(testutil.URL(t, "inproc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rq.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	p := rq.Protocol().(*proto)
	c, err := NewContext(rq)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type conversation struct {
		send func(context.Context, *socket.Message) error
		recv func(context.Context) (*socket.Message, error)
	}
	for _, s := range []conversation{{rq.SendContext, rq.RecvContext}, {c.Send, c.Recv}} {
		if err := s.send(ctx, socket.NewMessageBytes([]byte("q"))); err != nil {
			t.Fatal(err)
		}
		m, err := rp.RecvContext(ctx)
		if err == nil {
			err = rp.SendContext(ctx, m)
		}
		if err == nil {
			m, err = s.recv(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		m.Free()
	}
	p.mu.Lock()
	timed := len(p.timers)
	p.mu.Unlock()
	if timed != 2 {
		t.Fatalf("%d contexts with a timer after two answered requests, want 2", timed)
	}
	rq.Close()
	for _, c := range []*Context{p.def, c} {
		if c.timer.Armed() {
			t.Error("a resend timer was still running after Close")
		}
	}
	if len(p.timers) != 0 {
		t.Errorf("%d timed contexts after Close", len(p.timers))
	}
}
