package pattern_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// must returns v, or panics with err: for set-up steps that cannot fail in a
// healthy build.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// connect listens on a fresh address of transport with l and dials it with d.
func connect(t testing.TB, transport string, l, d *socket.Socket) {
	t.Helper()
	ln := must(l.Listen(testutil.URL(t, transport)))
	must(d.Dial(ln.URL()))
}

func closeAll(t testing.TB, ss ...*socket.Socket) {
	t.Cleanup(func() {
		for _, s := range ss {
			s.Close()
		}
	})
}

const timeout = 5 * time.Second

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

func send(t testing.TB, s *socket.Socket, body string) {
	t.Helper()
	if err := s.SendContext(ctx(t), socket.NewMessageBytes([]byte(body))); err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
}

func recv(t testing.TB, s *socket.Socket) string {
	t.Helper()
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	defer m.Free()
	return string(m.Body)
}

func forEachTransport(t *testing.T, f func(t *testing.T, transport string)) {
	for _, tr := range testutil.SPTransports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			f(t, tr)
		})
	}
}

func TestPushPull(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		p := must(push.New())
		q := must(pull.New())
		closeAll(t, p, q)
		connect(t, tr, q, p)
		for i := range 100 {
			send(t, p, fmt.Sprint(i))
		}
		for i := range 100 {
			if got := recv(t, q); got != fmt.Sprint(i) {
				t.Fatalf("got %q, want %d", got, i)
			}
		}
	})
}

func TestPushRoundRobin(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		p := must(push.New())
		q1 := must(pull.New())
		q2 := must(pull.New())
		closeAll(t, p, q1, q2)
		ln := must(p.Listen(testutil.URL(t, tr)))
		must(q1.Dial(ln.URL()))
		must(q2.Dial(ln.URL()))
		socktest.WaitPipes(t, p, 2)
		for i := range 10 {
			send(t, p, fmt.Sprint(i))
		}
		for range 5 {
			recv(t, q1)
			recv(t, q2)
		}
	})
}

func TestPushBlocksAtHWM(t *testing.T) {
	p := must(push.New(socket.SendHWM(2), socket.Linger(0)))
	closeAll(t, p)
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.SendContext(c, socket.NewMessageBytes([]byte("x")))
	if !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("send with no peer: %v, want ErrTimeout", err)
	}
}

func TestReqRep(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		rq := must(req.New())
		rp := must(rep.New())
		closeAll(t, rq, rp)
		connect(t, tr, rp, rq)
		for i := range 20 {
			send(t, rq, fmt.Sprint("ping", i))
			if got := recv(t, rp); got != fmt.Sprint("ping", i) {
				t.Fatalf("rep got %q", got)
			}
			send(t, rp, fmt.Sprint("pong", i))
			if got := recv(t, rq); got != fmt.Sprint("pong", i) {
				t.Fatalf("req got %q", got)
			}
		}
	})
}

func TestReqContexts(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		rq := must(req.New())
		rp := must(rep.New())
		closeAll(t, rq, rp)
		connect(t, tr, rp, rq)
		// Servers: several rep contexts echo.
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := must(rep.NewContext(rp))
				for {
					m, err := c.Recv(context.Background())
					if err != nil {
						return
					}
					if err := c.Send(context.Background(), m); err != nil {
						return
					}
				}
			}()
		}
		var cw sync.WaitGroup
		for g := range 8 {
			cw.Add(1)
			go func() {
				defer cw.Done()
				c := must(req.NewContext(rq))
				for i := range 20 {
					want := fmt.Sprintf("g%d-%d", g, i)
					if err := c.Send(ctx(t), socket.NewMessageBytes([]byte(want))); err != nil {
						t.Error(err)
						return
					}
					m, err := c.Recv(ctx(t))
					if err != nil {
						t.Error(err)
						return
					}
					if string(m.Body) != want {
						t.Errorf("got %q want %q", m.Body, want)
					}
				}
			}()
		}
		cw.Wait()
		rp.Close()
		wg.Wait()
	})
}

func TestReqResend(t *testing.T) {
	rq := must(req.New(req.ResendInterval(50 * time.Millisecond)))
	rp := must(rep.New())
	closeAll(t, rq, rp)
	connect(t, "inproc", rp, rq)
	send(t, rq, "hello")
	recv(t, rp) // dropped without a reply: the request comes again
	if got := recv(t, rp); got != "hello" {
		t.Fatalf("resent request %q", got)
	}
	send(t, rp, "world")
	if got := recv(t, rq); got != "world" {
		t.Fatalf("reply %q", got)
	}
}

// TestReqResendAfterAnsweredRequests: the resend timer, left running across
// requests, still resends a request a full interval after it went out, not
// when the timer set for an earlier request goes off.
func TestReqResendAfterAnsweredRequests(t *testing.T) {
	const interval = 200 * time.Millisecond
	rq := must(req.New(req.ResendInterval(interval)))
	rp := must(rep.New())
	closeAll(t, rq, rp)
	connect(t, "inproc", rp, rq)
	for i := range 20 { // the timer is set by the first of these
		send(t, rq, fmt.Sprint("q", i))
		recv(t, rp)
		send(t, rp, "a")
		recv(t, rq)
	}
	time.Sleep(interval / 2)
	sent := time.Now()
	send(t, rq, "unanswered")
	recv(t, rp)
	if got := recv(t, rp); got != "unanswered" {
		t.Fatalf("resent request %q", got)
	}
	if after := time.Since(sent); after < interval {
		t.Fatalf("resent after %v, before its interval of %v", after, interval)
	}
	send(t, rp, "at last")
	if got := recv(t, rq); got != "at last" {
		t.Fatalf("reply %q", got)
	}
}

// TestReqResendLarge: a large request is kept for resending without a copy
// (shared with the pipe that sends it); a REP that changes the request it
// received, in place, must not change what is sent again, over any
// transport (over inproc the REP is given a copy of its own).
func TestReqResendLarge(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		rq := must(req.New(req.ResendInterval(50 * time.Millisecond)))
		rp := must(rep.New())
		closeAll(t, rq, rp)
		connect(t, tr, rp, rq)
		body := bytes.Repeat([]byte("request "), 64<<10)
		if err := rq.Send(socket.NewMessageBytes(body)); err != nil {
			t.Fatal(err)
		}
		for i := range 3 { // dropped twice without a reply: it comes again
			m, err := rp.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.Body, body) {
				t.Fatalf("request %d: %d bytes, not what was sent", i, len(m.Body))
			}
			clear(m.Body)
			if i < 2 {
				m.Free()
				continue
			}
			if err := rp.Send(m); err != nil { // the cleared body as the reply
				t.Fatal(err)
			}
		}
		m, err := rq.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Body) != len(body) || m.Body[0] != 0 {
			t.Fatalf("reply of %d bytes", len(m.Body))
		}
		m.Free()
	})
}

func TestReqRecvWithoutSend(t *testing.T) {
	rq := must(req.New())
	closeAll(t, rq)
	if _, err := rq.Recv(); !errors.Is(err, socket.ErrBadState) {
		t.Fatalf("got %v, want ErrBadState", err)
	}
}

func TestPubSub(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		p := must(pub.New())
		s1 := must(sub.New(sub.Subscribe([]byte("a"))))
		s2 := must(sub.New(sub.Subscribe(nil)))
		s3 := must(sub.New()) // no subscription: receives nothing
		closeAll(t, p, s1, s2, s3)
		ln := must(p.Listen(testutil.URL(t, tr)))
		for _, s := range []*socket.Socket{s1, s2, s3} {
			must(s.Dial(ln.URL()))
		}
		socktest.WaitPipes(t, p, 3)
		send(t, p, "b1")
		send(t, p, "a1")
		if got := recv(t, s1); got != "a1" {
			t.Fatalf("s1 got %q", got)
		}
		if got := recv(t, s2); got != "b1" {
			t.Fatalf("s2 got %q", got)
		}
		if got := recv(t, s2); got != "a1" {
			t.Fatalf("s2 got %q", got)
		}
		c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := s3.RecvContext(c); !errors.Is(err, socket.ErrTimeout) {
			t.Fatalf("s3 with no subscription: %v", err)
		}
	})
}

func TestPair(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		for _, mk := range []func(...socket.Option) (*socket.Socket, error){pair.New, pair1.New} {
			a := must(mk())
			b := must(mk())
			closeAll(t, a, b)
			connect(t, tr, a, b)
			send(t, a, "ab")
			send(t, b, "ba")
			if got := recv(t, b); got != "ab" {
				t.Fatalf("got %q", got)
			}
			if got := recv(t, a); got != "ba" {
				t.Fatalf("got %q", got)
			}
		}
	})
}

func TestBus(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		a := must(bus.New())
		b := must(bus.New())
		c := must(bus.New())
		closeAll(t, a, b, c)
		ln := must(a.Listen(testutil.URL(t, tr)))
		must(b.Dial(ln.URL()))
		must(c.Dial(ln.URL()))
		socktest.WaitPipes(t, a, 2)
		send(t, a, "hi")
		if recv(t, b) != "hi" || recv(t, c) != "hi" {
			t.Fatal("bus broadcast")
		}
		send(t, b, "from b")
		if recv(t, a) != "from b" {
			t.Fatal("bus to a")
		}
	})
}

func TestSurvey(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		s := must(surveyor.New(surveyor.SurveyTime(300 * time.Millisecond)))
		r1 := must(respondent.New())
		r2 := must(respondent.New())
		closeAll(t, s, r1, r2)
		ln := must(s.Listen(testutil.URL(t, tr)))
		must(r1.Dial(ln.URL()))
		must(r2.Dial(ln.URL()))
		socktest.WaitPipes(t, s, 2)
		send(t, s, "who?")
		for _, r := range []*socket.Socket{r1, r2} {
			if recv(t, r) != "who?" {
				t.Fatal("survey")
			}
		}
		send(t, r1, "me1")
		send(t, r2, "me2")
		got := []string{recv(t, s), recv(t, s)}
		if !(got[0] == "me1" && got[1] == "me2" || got[0] == "me2" && got[1] == "me1") {
			t.Fatalf("answers %q", got)
		}
		_, err := s.RecvContext(ctx(t))
		if !errors.Is(err, surveyor.ErrSurveyOver) || !errors.Is(err, socket.ErrTimeout) {
			t.Fatalf("after the survey time: %v, want ErrSurveyOver, matching ErrTimeout", err)
		}
	})
}

// TestSurveyTimeAfterEarlierSurveys: the survey timer, left running
// across surveys, still ends a survey a full survey time after it was
// sent, not when the timer set for an earlier survey goes off.
func TestSurveyTimeAfterEarlierSurveys(t *testing.T) {
	const surveyTime = 200 * time.Millisecond
	s := must(surveyor.New(surveyor.SurveyTime(surveyTime)))
	r := must(respondent.New())
	closeAll(t, s, r)
	connect(t, "inproc", s, r)
	socktest.WaitPipes(t, s, 1)
	for i := range 20 { // the timer is set by the first of these
		send(t, s, fmt.Sprint("q", i))
		recv(t, r)
		send(t, r, "a")
		recv(t, s)
	}
	time.Sleep(surveyTime / 2)
	sent := time.Now()
	send(t, s, "last")
	recv(t, r)
	send(t, r, "a")
	if got := recv(t, s); got != "a" {
		t.Fatalf("answer %q", got)
	}
	if _, err := s.RecvContext(ctx(t)); !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("after the survey time: %v", err)
	}
	if after := time.Since(sent); after < surveyTime {
		t.Fatalf("the survey ended after %v, before its time of %v", after, surveyTime)
	}
}

func TestOptionsChecked(t *testing.T) {
	if _, err := pull.New(socket.SendHWM(10)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("SendHWM on pull: %v", err)
	}
	if _, err := push.New(socket.SendHWM(0)); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("SendHWM(0): %v", err)
	}
	if _, err := req.New(surveyor.SurveyTime(time.Second)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("SurveyTime on req: %v", err)
	}
	if _, err := pub.New(sub.Subscribe([]byte("x"))); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("Subscribe on pub: %v", err)
	}
}

func TestLingerFlushes(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		p := must(push.New(socket.Linger(5 * time.Second)))
		q := must(pull.New())
		closeAll(t, q)
		connect(t, tr, q, p)
		socktest.WaitPipes(t, p, 1)
		for i := range 500 {
			send(t, p, fmt.Sprint(i))
		}
		p.Close()
		for i := range 500 {
			if got := recv(t, q); got != fmt.Sprint(i) {
				t.Fatalf("got %q want %d", got, i)
			}
		}
	})
}

func TestLargeMessage(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		p := must(pair.New())
		q := must(pair.New(socket.MaxRecvSize(8 << 20)))
		closeAll(t, p, q)
		connect(t, tr, q, p)
		big := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
		if err := p.SendContext(ctx(t), socket.NewMessageBytes(big)); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, q); got != string(big) {
			t.Fatalf("large message corrupted (%d bytes)", len(got))
		}
	})
}

func TestConflate(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := must(pub.New())
	s := must(sub.New(sub.Subscribe(nil), socket.Conflate(true)))
	closeAll(t, p, s)
	connect(t, "inproc", p, s)
	socktest.WaitPipes(t, p, 1)
	for i := range 100 {
		send(t, p, fmt.Sprint(i))
	}
	deadline := time.Now().Add(timeout)
	for s.Stats().MessagesIn < 100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := recv(t, s); got != "99" {
		t.Fatalf("conflated socket gave %q, want the newest, 99", got)
	}
	if n := s.Stats().Dropped(socket.DropConflated); n != 99 {
		t.Fatalf("DropConflated = %d, want 99", n)
	}
	if _, err := push.New(socket.Conflate(true)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Fatalf("Conflate on push: %v", err)
	}
}

// Conflate keeps the newest message of each peer, as libzmq conflates each
// connection: a subscriber of two publishers gets both publishers' latest,
// the one whose message began to wait first first.
func TestConflateEachPeer(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := must(pub.New()), must(pub.New())
	s := must(sub.New(sub.Subscribe(nil), socket.Conflate(true)))
	closeAll(t, a, b, s)
	connect(t, "inproc", a, s)
	connect(t, "inproc", b, s)
	socktest.WaitPipes(t, a, 1)
	socktest.WaitPipes(t, b, 1)
	// a's messages arrive before b's begin, so a's pipe is the first to
	// wait (an inproc pipe's first messages may go through its reader
	// goroutine, so sending a's first is not enough).
	arrived := func(n uint64) {
		deadline := time.Now().Add(timeout)
		for s.Stats().MessagesIn < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	for i := range 100 {
		send(t, a, fmt.Sprint("a", i))
	}
	arrived(100)
	for i := range 100 {
		send(t, b, fmt.Sprint("b", i))
	}
	arrived(200)
	for _, want := range []string{"a99", "b99"} {
		if got := recv(t, s); got != want {
			t.Fatalf("conflated socket gave %q, want %q", got, want)
		}
	}
	if n := s.Stats().Dropped(socket.DropConflated); n != 198 {
		t.Fatalf("DropConflated = %d, want 198", n)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if m, err := s.RecvContext(short); err == nil {
		t.Fatalf("a third message %q", m.Body)
	}
}

// TestConflateEveryReceiver: every pattern that takes Conflate keeps only
// the newest message, and those that would not (cooked req and surveyor,
// whose replies belong to a request) refuse it rather than ignore it.
func TestConflateEveryReceiver(t *testing.T) {
	testutil.CheckGoroutines(t)
	c := socket.Conflate(true)
	cases := []struct {
		name     string
		sender   func() (*socket.Socket, error)
		receiver func() (*socket.Socket, error)
	}{
		{"pull", func() (*socket.Socket, error) { return push.New() }, func() (*socket.Socket, error) { return pull.New(c) }},
		{"pair", func() (*socket.Socket, error) { return pair.New() }, func() (*socket.Socket, error) { return pair.New(c) }},
		{"pair1", func() (*socket.Socket, error) { return pair1.New() }, func() (*socket.Socket, error) { return pair1.New(c) }},
		{"bus", func() (*socket.Socket, error) { return bus.New() }, func() (*socket.Socket, error) { return bus.New(c) }},
		{"router", func() (*socket.Socket, error) { return dealer.New() }, func() (*socket.Socket, error) { return router.New(c) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := must(tc.sender()), must(tc.receiver())
			closeAll(t, a, b)
			connect(t, "inproc", b, a)
			socktest.WaitPipes(t, a, 1)
			const n = 5
			for i := range n {
				send(t, a, fmt.Sprint(i))
			}
			deadline := time.Now().Add(timeout)
			for b.Stats().MessagesIn < n && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			m, err := b.Recv()
			if err != nil {
				t.Fatal(err)
			}
			got := string(m.Body)
			if len(m.Frames) > 0 { // router: the peer's id, then the message
				got = string(m.Frames[len(m.Frames)-1])
			}
			if got != fmt.Sprint(n-1) {
				t.Fatalf("conflated %s gave %q, want the newest, %d", tc.name, got, n-1)
			}
			if d := b.Stats().Dropped(socket.DropConflated); d != n-1 {
				t.Fatalf("DropConflated = %d, want %d", d, n-1)
			}
		})
	}
	for name, f := range map[string]func(...socket.Option) (*socket.Socket, error){
		"req": req.New, "surveyor": surveyor.New, "push": push.New, "pub": pub.New,
	} {
		if _, err := f(c); !errors.Is(err, socket.ErrOptionNotApplicable) {
			t.Errorf("Conflate on %s: %v, want ErrOptionNotApplicable", name, err)
		}
	}
	for name, f := range map[string]func(...socket.Option) (*socket.Socket, error){
		"raw req": req.NewRaw, "raw surveyor": surveyor.NewRaw, "rep": rep.New, "respondent": respondent.New,
		"sub": sub.New, "xsub": xsub.New, "xpub": xpub.New, "dealer": dealer.New,
	} {
		s, err := f(c)
		if err != nil {
			t.Errorf("Conflate on %s: %v", name, err)
			continue
		}
		s.Close()
	}
}

// With Immediate(false), push keeps what is sent before any peer is
// connected and the first peer gets it, in order (libzmq's default).
func TestImmediateFalse(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		url := testutil.URL(t, tr)
		switch tr {
		case "tcp":
			url = freeTCP(t)
		case "ws":
			url = "ws" + strings.TrimPrefix(freeTCP(t), "tcp") + "/immediate"
		}
		p := must(push.New(socket.Immediate(false), socket.SendHWM(10), socket.ReconnectInterval(10*time.Millisecond)))
		q := must(pull.New())
		closeAll(t, p, q)
		must(p.Dial(url))
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for i := range 10 {
			if err := p.SendContext(c, socket.NewMessageBytes([]byte(fmt.Sprint(i)))); err != nil {
				t.Fatalf("send %d with no peer: %v", i, err)
			}
		}
		// The eleventh is over the high-water mark: it waits.
		short, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel2()
		if err := p.SendContext(short, socket.NewMessageBytes([]byte("x"))); !errors.Is(err, socket.ErrTimeout) {
			t.Fatalf("send over the HWM with no peer: %v", err)
		}
		must(q.Listen(url))
		for i := range 10 {
			if got := recv(t, q); got != fmt.Sprint(i) {
				t.Fatalf("got %q, want %d", got, i)
			}
		}
	})
	if _, err := pub.New(socket.Immediate(false)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Fatalf("Immediate on pub: %v", err)
	}
}

// What Immediate(false) kept for a peer that never came is counted as
// dropped when the socket closes.
func TestImmediateFalseLossCounted(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := must(push.New(socket.Immediate(false), socket.SendHWM(10)))
	must(p.Dial(testutil.URL(t, "inproc")))
	for i := range 3 {
		if err := p.SendContext(ctx(t), socket.NewMessageBytes([]byte(fmt.Sprint(i)))); err != nil {
			t.Fatalf("send %d with no peer: %v", i, err)
		}
	}
	p.Close()
	if d := p.Stats().Dropped(socket.DropClosed); d != 3 {
		t.Fatalf("%d counted as dropped on Close, want 3", d)
	}
}

// freeTCP returns a tcp URL on a port free at the time of the call.
func freeTCP(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "tcp://" + l.Addr().String()
}

// TestManySubscriptions: a subscriber with more subscriptions than its
// pipe's high-water mark (3,000 against 1,000) gets every one to an xpub:
// a sub's, told when it connects, and an xsub's, sent in a tight loop.
// They were offered like any message and lost past the mark, so that the
// publisher never sent the topics lost (as libzmq's subscribers lose them).
func TestManySubscriptions(t *testing.T) {
	const n = 3000
	topic := func(i int) []byte { return fmt.Appendf(nil, "topic-%05d", i) }
	for _, tr := range []string{"inproc", "tcp"} {
		for _, kind := range []string{"sub", "xsub"} {
			t.Run(tr+"/"+kind, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				x := must(xpub.New(socket.RecvHWM(2 * n)))
				var s *socket.Socket
				if kind == "sub" {
					s = must(sub.New(socket.DialDialect(socket.DialectZMTP)))
					for i := range n {
						must(0, s.SetOption(sub.Subscribe(topic(i))))
					}
				} else {
					s = must(xsub.New())
				}
				closeAll(t, x, s)
				connect(t, tr, x, s)
				socktest.WaitPipes(t, s, 1)
				if kind == "xsub" {
					for i := range n {
						if err := s.SendBytes(append([]byte{1}, topic(i)...)); err != nil {
							t.Fatal(err)
						}
					}
				}
				seen := map[string]bool{}
				for len(seen) < n {
					m, err := x.RecvContext(ctx(t))
					if err != nil {
						t.Fatalf("%d of %d subscriptions reached the xpub: %v", len(seen), n, err)
					}
					if len(m.Body) > 0 && m.Body[0] == 1 {
						seen[string(m.Body[1:])] = true
					}
					m.Free()
				}
				if d := s.Stats().TotalDrops(); d != 0 {
					t.Errorf("%d dropped", d)
				}
			})
		}
	}
}

// An XPUB whose application never reads still applies every
// subscription: the notifications wait (up to 65,536 from a subscriber),
// not the subscriptions behind them. With RecvHWM's 1,000 as the bound, a
// subscriber with 3,000 topics got messages for 1,001 of them.
func TestXPUBUnreadAppliesAll(t *testing.T) {
	const n = 3000
	topic := func(i int) []byte { return fmt.Appendf(nil, "topic-%05d", i) }
	for _, tr := range []string{"inproc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			x := must(xpub.New(socket.SendHWM(2 * n))) // RecvHWM 1,000; never read
			s := must(sub.New(socket.DialDialect(socket.DialectZMTP), socket.RecvHWM(2*n)))
			for i := range n {
				must(0, s.SetOption(sub.Subscribe(topic(i))))
			}
			closeAll(t, x, s)
			connect(t, tr, x, s)
			socktest.WaitPipes(t, s, 1)
			// Publish each topic not yet seen until every one has come
			// through: a message for a subscription not yet applied goes
			// nowhere, and the subscriber sends its subscriptions in no
			// particular order.
			pending := map[string]bool{}
			for i := range n {
				pending[string(topic(i))] = true
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(pending) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d topics never reached the subscriber", len(pending), n)
				}
				for tp := range pending {
					if err := x.SendBytes([]byte(tp)); err != nil {
						t.Fatal(err)
					}
				}
				for {
					c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
					m, err := s.RecvContext(c)
					cancel()
					if err != nil {
						break
					}
					delete(pending, string(m.Body))
					m.Free()
				}
			}
		})
	}
}
