package zmq_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

// The compatible pairings of RFC 37 not covered elsewhere: mqwire REQ with
// a libzmq ROUTER, mqwire REP with a libzmq DEALER, DEALER with DEALER,
// mqwire PUB with a libzmq XSUB, mqwire SUB with a libzmq XPUB.

func TestReqToLibzmqRouter(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := req.New(socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		p := attach(t, s, tr, listen, "ROUTER", "route-echo", fmt.Sprint(count))
		for i := range count {
			body := fmt.Sprintf("req-%d", i)
			if err := s.SendContext(ctx(t), socket.NewMessageBytes([]byte(body))); err != nil {
				t.Fatal(err)
			}
			// The ROUTER sees [routing id, "", body].
			frames := strings.Fields(p.line(t))
			if len(frames) != 3 || frames[1] != "." || frames[2] != hex.EncodeToString([]byte(body)) {
				t.Fatalf("libzmq ROUTER got %q", frames)
			}
			m, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Body) != body {
				t.Fatalf("reply %q, want %q", m.Body, body)
			}
		}
	})
}

func TestRepWithLibzmqDealer(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := rep.New(socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		p := attach(t, s, tr, listen, "DEALER", "dealer-req", fmt.Sprint(count))
		for i := range count {
			m, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			m.Body = append(m.Body, '!')
			if err := s.SendContext(ctx(t), m); err != nil {
				t.Fatal(err)
			}
			want := ". " + hex.EncodeToString(fmt.Appendf(nil, "req-%d!", i))
			if got := p.line(t); got != want {
				t.Fatalf("libzmq DEALER got %q, want %q", got, want)
			}
		}
	})
}

func TestDealerWithLibzmqDealer(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := dealer.New()
		defer s.Close()
		attach(t, s, tr, listen, "DEALER", "echo", fmt.Sprint(count))
		for i := range count {
			m := socket.NewMessageBytes(fmt.Appendf(nil, "d-%d", i))
			m.Frames = [][]byte{{}, []byte("tail")}
			if err := s.SendContext(ctx(t), m); err != nil {
				t.Fatal(err)
			}
			r, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := frames(append([][]byte{r.Body}, r.Frames...)...), frames(fmt.Appendf(nil, "d-%d", i), nil, []byte("tail")); got != want {
				t.Fatalf("echo %q, want %q", got, want)
			}
		}
	})
}

// A libzmq XSUB subscribes to "a-" with a `01` message; the mqwire
// publisher sends it only what matches.
func TestPubWithLibzmqXSUB(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := pub.New(socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		p := attach(t, s, tr, listen, "XSUB", "xsubscribe", "1000", "+a-")
		// An XSUB does not filter: anything but a- would show.
		publishFiltered(t, s, p)
	})
}

// An mqwire SUB subscribes to a libzmq XPUB, which filters on "a-".
func TestSubWithLibzmqXPUB(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := sub.New(sub.Subscribe([]byte("a-")), socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		attach(t, s, tr, listen, "XPUB", "publish", "2000")
		recvSubscribed(t, s)
	})
}

// ROUTER to ROUTER: each side knows the other by the identity it announced.
func TestRouterWithLibzmqRouter(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := router.New(socket.Identity([]byte("mq")))
		defer s.Close()
		p := attach(t, s, tr, listen, "ROUTER", "router-send", fmt.Sprint(count), "lz", "target=mq")
		for i := range count {
			m, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Body) != "lz" || len(m.Frames) != 1 || string(m.Frames[0]) != fmt.Sprintf("r-%d", i) {
				t.Fatalf("got %q %q", m.Body, m.Frames)
			}
			m.Frames[0] = append(m.Frames[0], '!')
			if err := s.SendContext(ctx(t), m); err != nil {
				t.Fatal(err)
			}
			want := hex.EncodeToString([]byte("mq")) + " " + hex.EncodeToString(fmt.Appendf(nil, "r-%d!", i))
			if got := p.line(t); got != want {
				t.Fatalf("libzmq ROUTER got %q, want %q", got, want)
			}
		}
	})
}

// REQ contexts with Correlate, to a libzmq ROUTER that answers two
// requests last first: each Context gets its own reply, matched by the id
// frame the ROUTER sent back (in order matching would swap them).
func TestReqCorrelateLibzmqRouter(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := req.New(req.Correlate(true), socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		p := attach(t, s, tr, listen, "ROUTER", "route-reverse", "2")
		var ctxs [2]*req.Context
		for i := range ctxs {
			c, err := req.NewContext(s)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctxs[i] = c
			if err := c.Send(ctx(t), socket.NewMessageBytes(fmt.Appendf(nil, "req-%d", i))); err != nil {
				t.Fatal(err)
			}
		}
		for i := range ctxs {
			// [routing id, request id, "", body]
			frames := strings.Fields(p.line(t))
			if len(frames) != 4 || len(frames[1]) != 8 || frames[2] != "." || frames[3] != hex.EncodeToString(fmt.Appendf(nil, "req-%d", i)) {
				t.Fatalf("libzmq ROUTER got %q", frames)
			}
		}
		ownReplies(t, ctxs[:])
	})
}

// REQ contexts without Correlate, to a libzmq ROUTER that answers what
// it holds last first: a connection carries one request at a time, so
// each Context still gets its own reply (the ROUTER sees them one by one).
func TestReqContextsLibzmqRouter(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := req.New(socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		p := attach(t, s, tr, listen, "ROUTER", "route-window", "2")
		var ctxs [2]*req.Context
		sent := make(chan error, len(ctxs))
		for i := range ctxs {
			c, err := req.NewContext(s)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctxs[i] = c
			go func() { sent <- c.Send(ctx(t), socket.NewMessageBytes(fmt.Appendf(nil, "req-%d", i))) }()
		}
		for range ctxs {
			// [routing id, "", body], one batch each
			if frames := strings.Fields(p.line(t)); len(frames) != 3 || frames[1] != "." {
				t.Fatalf("libzmq ROUTER got %q", frames)
			}
		}
		for range ctxs {
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
		}
		ownReplies(t, ctxs[:])
	})
}

// REQ with Correlate to a libzmq REP, which sends the whole envelope back.
func TestReqCorrelateLibzmqRep(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := req.New(req.Correlate(true), socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		attach(t, s, tr, listen, "REP", "echo", fmt.Sprint(count))
		for i := range count {
			body := fmt.Sprintf("req-%d", i)
			if err := s.SendContext(ctx(t), socket.NewMessageBytes([]byte(body))); err != nil {
				t.Fatal(err)
			}
			m, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Body) != body {
				t.Fatalf("reply %q, want %q", m.Body, body)
			}
			m.Free()
		}
	})
}

// ownReplies checks that each of ctxs gets the reply to its own request,
// "req-<i>" sent back as it came.
func ownReplies(t *testing.T, ctxs []*req.Context) {
	t.Helper()
	for i, c := range ctxs {
		m, err := c.Recv(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("req-%d", i); string(m.Body) != want {
			t.Fatalf("context %d got %q, want %q", i, m.Body, want)
		}
		m.Free()
	}
}
