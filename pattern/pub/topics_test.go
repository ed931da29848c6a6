package pub_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// waitTopics waits until pub.Topics(p) is want.
func waitTopics(t testing.TB, p *socket.Socket, want ...string) {
	t.Helper()
	testutil.WaitStrings(t, 5*time.Second, func() ([]string, error) { return pub.Topics(p) }, want...)
}

// TestTopics: a pub lists its subscribers' topics, sorted and once each,
// from ZeroMQ subscribers over tcp and from subs and xsubs over inproc, as
// zmq4's PUB does; an SP subscriber's are its own. Subscriptions cancelled
// and subscribers gone leave the list. A sub over inproc still filters for
// itself.
func TestTopics(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := socktest.Must(t)(pub.New())
	if got, err := pub.Topics(p); err != nil || len(got) != 0 {
		t.Fatalf("no subscribers: %q, %v", got, err)
	}
	in, err := p.Listen("inproc://pub-topics")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := p.Listen(testutil.URL(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	local := socktest.Must(t)(sub.New(sub.Subscribe([]byte("b")), sub.Subscribe([]byte("a"))))
	zmq := socktest.Must(t)(sub.New(sub.Subscribe([]byte("a")), sub.Subscribe(nil), socket.DialDialect(socket.DialectZMTP)))
	spSub := socktest.Must(t)(sub.New(sub.Subscribe([]byte("z"))))
	xs := socktest.Must(t)(xsub.New())
	// inverted filters for itself over inproc: the pub must not filter
	// for it by the topics it lists.
	inverted := socktest.Must(t)(sub.New(sub.InvertMatching(true), sub.Subscribe([]byte("a"))))
	for s, url := range map[*socket.Socket]string{local: in.URL(), zmq: tcp.URL(), spSub: tcp.URL(), xs: in.URL(), inverted: in.URL()} {
		if _, err := s.Dial(url); err != nil {
			t.Fatal(err)
		}
	}
	if err := xs.SendBytes([]byte("\x01x")); err != nil {
		t.Fatal(err)
	}
	waitTopics(t, p, "", "a", "b", "x")
	testutil.WaitFor(t, "five pipes", 5*time.Second, func() bool { return p.Stats().Pipes == 5 })

	if err := local.SetOption(sub.Unsubscribe([]byte("b"))); err != nil {
		t.Fatal(err)
	}
	waitTopics(t, p, "", "a", "x")
	for _, b := range []string{"a1", "b1"} {
		if err := p.SendBytes([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := local.RecvContext(c)
	if err != nil || string(m.Body) != "a1" {
		t.Fatalf("inproc sub got %v, %v; want a1", m, err)
	}
	m.Free()
	if m, err = inverted.RecvContext(c); err != nil || string(m.Body) != "b1" {
		t.Fatalf("inverted inproc sub got %v, %v; want b1", m, err)
	}
	m.Free()
	c2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if m, err := local.RecvContext(c2); err == nil {
		t.Fatalf("inproc sub got %q, which it cancelled", m.Body)
	}

	zmq.Close()
	xs.Close()
	waitTopics(t, p, "a")
	local.Close()
	inverted.Close()
	waitTopics(t, p)

	if _, err := pub.Topics(spSub); !errors.Is(err, pub.ErrNotPUB) {
		t.Fatalf("Topics on a sub: %v, want ErrNotPUB", err)
	}
}
