package pattern_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// Raw pair, push and pull sockets carry messages as the cooked ones do
// (these patterns have no header words), and say they are raw.
func TestRawConstructors(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to func(...socket.Option) (*socket.Socket, error)
	}{
		{"pair", pair.NewRaw, pair.NewRaw},
		{"push-pull", push.NewRaw, pull.NewRaw},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := must(c.from()), must(c.to())
			linked(t, b, a)
			if !a.Info().Raw || !b.Info().Raw {
				t.Fatalf("Info().Raw: %v, %v", a.Info().Raw, b.Info().Raw)
			}
			sendExpect(t, a, b, "raw")
		})
	}
}

// A cooked respondent answers surveys through contexts, each answering the
// survey it received; a raw respondent has none.
func TestRespondentContexts(t *testing.T) {
	s := must(surveyor.New(surveyor.SurveyTime(time.Second)))
	r := must(respondent.New())
	closeAll(t, s, r)
	connect(t, "inproc", s, r)
	socktest.WaitPipes(t, s, 1)
	c1, c2 := must(respondent.NewContext(r)), must(respondent.NewContext(r))
	defer c1.Close()
	defer c2.Close()
	for i, c := range []*respondent.Context{c1, c2} {
		q := []string{"first?", "second?"}[i]
		send(t, s, q)
		m, err := c.Recv(ctx(t))
		if err != nil || string(m.Body) != q {
			t.Fatalf("context %d: %v %v", i, m, err)
		}
		m.Free()
		if err := c.Send(ctx(t), socket.NewMessageBytes([]byte("from-context"))); err != nil {
			t.Fatalf("context %d answers: %v", i, err)
		}
		if got := recv(t, s); got != "from-context" {
			t.Fatalf("survey %d answered %q", i, got)
		}
	}
	raw := must(respondent.NewRaw())
	defer raw.Close()
	if _, err := respondent.NewContext(raw); !errors.Is(err, socket.ErrNotSupported) {
		t.Errorf("NewContext on a raw respondent: %v", err)
	}
}

// rep.TTL and respondent.TTL take 1 to 15 and refuse the rest.
func TestReplierTTL(t *testing.T) {
	for name, ttl := range map[string]func(int) socket.Option{"rep": rep.TTL, "respondent": respondent.TTL} {
		newSocket := rep.New
		if name == "respondent" {
			newSocket = respondent.New
		}
		for _, n := range []int{1, 15} {
			s, err := newSocket(ttl(n))
			if err != nil {
				t.Errorf("%s.TTL(%d): %v", name, n, err)
				continue
			}
			s.Close()
		}
		for _, n := range []int{0, 16} {
			if _, err := newSocket(ttl(n)); !errors.Is(err, socket.ErrBadOption) {
				t.Errorf("%s.TTL(%d): %v, want ErrBadOption", name, n, err)
			}
		}
	}
}

// With SendTimeout or RecvTimeout set, Send and Recv try without waiting
// first (TrySend, TryRecv) and only then wait: a message that can go or
// is there passes at once, and one that cannot waits out the timeout.
func TestTryPathsUnderTimeouts(t *testing.T) {
	t.Run("pair", func(t *testing.T) {
		a := must(pair.New(socket.SendTimeout(time.Second), socket.RecvTimeout(time.Second)))
		b := must(pair.New(socket.RecvTimeout(time.Second)))
		linked(t, b, a)
		sendExpect(t, a, b, "try")
		sendExpect(t, b, a, "back")
	})
	t.Run("pair-timeout", func(t *testing.T) {
		a := must(pair.New(socket.SendTimeout(50*time.Millisecond), socket.RecvTimeout(50*time.Millisecond)))
		defer a.Close()
		if err := a.Send(socket.NewMessageBytes([]byte("nobody"))); !errors.Is(err, socket.ErrTimeout) {
			t.Errorf("Send with no peer: %v, want ErrTimeout", err)
		}
		if _, err := a.Recv(); !errors.Is(err, socket.ErrTimeout) {
			t.Errorf("Recv with no peer: %v, want ErrTimeout", err)
		}
	})
	t.Run("bus", func(t *testing.T) {
		a := must(bus.New(socket.SendTimeout(time.Second)))
		b := must(bus.New())
		linked(t, b, a)
		sendExpect(t, a, b, "to-all")
	})
	t.Run("xsub", func(t *testing.T) {
		x := must(xsub.New(socket.SendTimeout(time.Second)))
		defer x.Close()
		// A subscription with no publisher yet goes nowhere, and waits
		// for nothing.
		if err := x.Send(socket.NewMessageBytes([]byte("\x01topic"))); err != nil {
			t.Fatalf("xsub Send: %v", err)
		}
	})
	t.Run("router", func(t *testing.T) {
		r := must(router.New(socket.RecvTimeout(time.Second)))
		d := must(dealer.New())
		linked(t, r, d)
		send(t, d, "hello")
		m, err := r.Recv()
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if len(m.Frames) == 0 || string(m.Frames[len(m.Frames)-1]) != "hello" {
			t.Fatalf("router got body %q frames %q", m.Body, m.Frames)
		}
	})
}

// linked connects d to l over inproc, waits until d has its pipe, and
// closes both when the test ends.
func linked(t *testing.T, l, d *socket.Socket) {
	t.Helper()
	closeAll(t, l, d)
	connect(t, "inproc", l, d)
	socktest.WaitPipes(t, d, 1)
}

// sendExpect sends body from a and checks that b receives it.
func sendExpect(t *testing.T, a, b *socket.Socket, body string) {
	t.Helper()
	send(t, a, body)
	if got := recv(t, b); got != body {
		t.Fatalf("got %q, want %q", got, body)
	}
}
