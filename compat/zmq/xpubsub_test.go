package zmq_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// xconnect has s listen (and the peer connect) or the peer bind (and s
// dial), and starts the libzmq peer with args after TYPE how URL.
func xconnect(t *testing.T, s *socket.Socket, listen bool, tr, kind string, args ...string) *peer {
	t.Helper()
	if listen {
		l, err := s.Listen(endpoint(t, tr))
		if err != nil {
			t.Fatal(err)
		}
		return startPeer(t, append([]string{kind, "connect", l.URL()}, args...)...)
	}
	p := startPeer(t, append([]string{kind, "bind", peerEndpoint(t, tr)}, args...)...)
	if _, err := s.Dial(p.url); err != nil {
		t.Fatal(err)
	}
	return p
}

func each(t *testing.T, f func(t *testing.T, tr string, listen bool)) {
	for _, tr := range transports {
		for _, listen := range []bool{true, false} {
			name := tr + "/mqwire-dials"
			if listen {
				name = tr + "/mqwire-listens"
			}
			t.Run(name, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				f(t, tr, listen)
			})
		}
	}
}

func xrecv(t *testing.T, s *socket.Socket) string {
	t.Helper()
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	return string(m.Body)
}

// A libzmq SUB subscribes to an mqwire XPUB: the XPUB receives 1+topic and
// sends the SUB only what matches.
func TestXPUBLibzmqSUB(t *testing.T) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s, _ := xpub.New()
		defer s.Close()
		p := xconnect(t, s, listen, tr, "SUB", "recv", "5", "a-")
		if got := xrecv(t, s); got != "\x01a-" {
			t.Fatalf("xpub got %q, want 1+a-", got)
		}
		for i := range 5 {
			s.SendBytes(fmt.Appendf(nil, "b-%d", i))
			s.SendBytes(fmt.Appendf(nil, "a-%d", i))
		}
		for i := range 5 {
			if got, want := p.line(t), hex.EncodeToString(fmt.Appendf(nil, "a-%d", i)); got != want {
				t.Fatalf("libzmq SUB got %q, want %q", got, want)
			}
		}
	})
}

// A libzmq XSUB subscribes twice to a- and cancels once, then subscribes to
// z: the mqwire XPUB passes up the first a- and z only, still sends a-
// messages, and passes up both cancels when the XSUB goes away.
func TestXPUBLibzmqXSUB(t *testing.T) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s, _ := xpub.New()
		defer s.Close()
		p := xconnect(t, s, listen, tr, "XSUB", "xsubscribe", "1", "+a-", "+a-", "-a-", "+z")
		if got := xrecv(t, s); got != "\x01a-" {
			t.Fatalf("xpub got %q, want 1+a-", got)
		}
		if got := xrecv(t, s); got != "\x01z" {
			t.Fatalf("xpub got %q, want 1+z (and no cancel of a-)", got)
		}
		s.SendBytes([]byte("b-0"))
		s.SendBytes([]byte("a-0"))
		if got := p.line(t); got != hex.EncodeToString([]byte("a-0")) {
			t.Fatalf("libzmq XSUB got %q", got)
		}
		if got := p.line(t); got != "done" {
			t.Fatalf("peer said %q", got)
		}
		got := map[string]bool{xrecv(t, s): true, xrecv(t, s): true}
		if !got["\x00a-"] || !got["\x00z"] {
			t.Fatalf("cancels when the XSUB left: %v", got)
		}
	})
}

// An mqwire XSUB subscribes upstream to a libzmq PUB (twice, then one
// cancel: still subscribed); the PUB sends it only what matches.
func TestXSUBLibzmqPUB(t *testing.T) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s, _ := xsub.New()
		defer s.Close()
		s.SendBytes([]byte("\x01a-"))
		xconnect(t, s, listen, tr, "PUB", "publish", "2000")
		s.SendBytes([]byte("\x01a-"))
		s.SendBytes([]byte("\x00a-"))
		for i := range 20 {
			m, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if !strings.HasPrefix(string(m.Body), "a-") {
				t.Fatalf("got %q without a subscription to it", m.Body)
			}
		}
	})
}

// An mqwire XSUB subscribes to a libzmq XPUB, which prints the
// subscriptions it receives: the duplicate subscription is not passed up
// by libzmq, the first cancel is not sent (counted), the last is.
func TestXSUBLibzmqXPUB(t *testing.T) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s, _ := xsub.New()
		defer s.Close()
		p := xconnect(t, s, listen, tr, "XPUB", "recv", "4")
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().Pipes == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		for _, m := range []string{"\x01a-", "\x01a-", "\x00a-", "\x01z", "\x00a-"} {
			if err := s.SendContext(context.Background(), socket.NewMessageBytes([]byte(m))); err != nil {
				t.Fatal(err)
			}
		}
		m := socket.NewMessageBytes([]byte("upstream"))
		m.Frames = [][]byte{[]byte("data")}
		s.SendContext(ctx(t), m)
		for _, want := range [][]string{{"\x01a-"}, {"\x01z"}, {"\x00a-"}, {"upstream", "data"}} {
			var parts [][]byte
			for _, w := range want {
				parts = append(parts, []byte(w))
			}
			if got := p.line(t); got != frames(parts...) {
				t.Fatalf("libzmq XPUB got %q, want %q", got, frames(parts...))
			}
		}
	})
}

// An mqwire XPUB with a welcome message: a libzmq SUB subscribed to a
// prefix of it receives it first.
func TestXPUBWelcomeLibzmqSUB(t *testing.T) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s, _ := xpub.New(xpub.WelcomeMessage([]byte("a-hello")))
		defer s.Close()
		p := xconnect(t, s, listen, tr, "SUB", "recv", "2", "a-")
		if got := xrecv(t, s); got != "\x01a-" {
			t.Fatalf("xpub got %q, want 1+a-", got)
		}
		s.SendBytes([]byte("a-0"))
		for _, want := range []string{"a-hello", "a-0"} {
			if got := p.line(t); got != hex.EncodeToString([]byte(want)) {
				t.Fatalf("libzmq SUB got %q, want %q", got, want)
			}
		}
	})
}

// An mqwire XPUB under NoDrop, and a libzmq SUB that reads nothing for a
// second: Send waits and times out instead of dropping, and once the SUB
// reads, it gets every message Send took, in order.
func TestXPUBNoDropLibzmqSUB(t *testing.T) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s, _ := xpub.New(xpub.NoDrop(true), socket.SendHWM(4), socket.SendTimeout(100*time.Millisecond))
		defer s.Close()
		p := xconnect(t, s, listen, tr, "SUB", "late-recv", "0", "a-")
		if got := xrecv(t, s); got != "\x01a-" {
			t.Fatalf("xpub got %q, want 1+a-", got)
		}
		body := make([]byte, 16<<10)
		copy(body, "a-")
		sent := 0
		for ; sent < 100_000; sent++ {
			binary.BigEndian.PutUint32(body[2:], uint32(sent))
			if err := s.SendBytes(body); err != nil {
				if !errors.Is(err, socket.ErrTimeout) {
					t.Fatalf("send %d: %v", sent, err)
				}
				break
			}
		}
		if sent == 100_000 {
			t.Fatal("Send never waited")
		}
		// The SUB prints a line a message: take them as they come, or
		// the pipe to us fills and the SUB stops reading.
		lines := make(chan string, sent+1)
		go func() {
			defer close(lines)
			for range sent + 1 {
				if !p.out.Scan() {
					return
				}
				lines <- p.out.Text()
			}
		}()
		// The end waits for the SUB to read, past the send timeout.
		if err := s.SetOption(socket.SendTimeout(-1)); err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.SendContext(sctx, socket.NewMessageBytes([]byte("a-end"))); err != nil {
			t.Fatalf("send of the end: %v", err)
		}
		next := func() string {
			select {
			case l := <-lines:
				return l
			case <-time.After(10 * time.Second):
				t.Fatal("the libzmq SUB printed nothing for 10 s")
				return ""
			}
		}
		for i := range sent {
			want := make([]byte, 8)
			copy(want, "a-")
			binary.BigEndian.PutUint32(want[2:], uint32(i))
			if got := next(); got != hex.EncodeToString(want) {
				t.Fatalf("message %d of %d: libzmq SUB got %q, want %x", i, sent, got, want)
			}
		}
		if got := next(); got != hex.EncodeToString([]byte("a-end")) {
			t.Fatalf("libzmq SUB got %q, want the end", got)
		}
		if d := s.Stats().TotalDrops(); d != 0 {
			t.Fatalf("%d drops under NoDrop", d)
		}
		t.Logf("%d messages of 16 KiB before Send waited", sent)
	})
}

// A libzmq XPUB under ZMQ_XPUB_NODROP, and an mqwire SUB that reads
// nothing until the XPUB's send times out: the SUB waits for room rather
// than dropping, as a libzmq SUB does, so the publisher feels the
// back-pressure, and every message it sent arrives, in order.
func TestSUBBackPressureLibzmqXPUB(t *testing.T) {
	backPressureFromLibzmqXPUB(t, func() *socket.Socket {
		s, _ := sub.New(sub.Subscribe([]byte("a-")), socket.RecvHWM(4), socket.DialDialect(socket.DialectZMTP))
		return s
	})
}

// The same with an mqwire XSUB, which waits for room as libzmq's does.
func TestXSUBBackPressureLibzmqXPUB(t *testing.T) {
	backPressureFromLibzmqXPUB(t, func() *socket.Socket {
		s, _ := xsub.New(socket.RecvHWM(4))
		if err := s.SendBytes([]byte("\x01a-")); err != nil { // sent to the XPUB once connected
			t.Fatal(err)
		}
		return s
	})
}

// backPressureFromLibzmqXPUB has a libzmq XPUB under ZMQ_XPUB_NODROP send
// to a subscriber from newSub (subscribed to "a-") that reads nothing until
// the XPUB's send times out; then every message must arrive, in order.
func backPressureFromLibzmqXPUB(t *testing.T, newSub func() *socket.Socket) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s := newSub()
		defer s.Close()
		p := xconnect(t, s, listen, tr, "XPUB", "nodrop-publish", "0")
		var sent int
		if _, err := fmt.Sscanf(p.line(t), "sent %d", &sent); err != nil {
			t.Fatalf("the libzmq XPUB said: %v", err)
		}
		for i := range sent {
			m, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatalf("message %d of %d: %v", i, sent, err)
			}
			if got := binary.BigEndian.Uint32(m.Body[2:]); len(m.Body) != 16<<10 || got != uint32(i) {
				t.Fatalf("message %d of %d is number %d, %d bytes", i, sent, got, len(m.Body))
			}
			m.Free()
		}
		if got := xrecv(t, s); got != "a-end" {
			t.Fatalf("got %q, want the end", got)
		}
		if d := s.Stats().TotalDrops(); d != 0 {
			t.Fatalf("the subscriber dropped %d", d)
		}
		t.Logf("the libzmq XPUB sent %d messages of 16 KiB before its send timed out", sent)
	})
}

// An mqwire XPUB in manual mode and a libzmq SUB: the subscription comes up
// but takes effect only once the application applies it.
func TestXPUBManualLibzmqSUB(t *testing.T) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s, _ := xpub.New(xpub.Manual(true))
		defer s.Close()
		p := xconnect(t, s, listen, tr, "SUB", "recv", "1", "a-")
		m, err := s.RecvContext(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Body) != "\x01a-" {
			t.Fatalf("xpub got %q, want 1+a-", m.Body)
		}
		s.SendBytes([]byte("a-0")) // not applied yet: goes nowhere
		if err := xpub.Subscribe(s, m.Pipe, []byte("a-")); err != nil {
			t.Fatal(err)
		}
		m.Free()
		s.SendBytes([]byte("a-1"))
		if got := p.line(t); got != hex.EncodeToString([]byte("a-1")) {
			t.Fatalf("libzmq SUB got %q, want a-1 (and not a-0)", got)
		}
	})
}

// Inverted matching against libzmq, both ways. An mqwire XPUB with
// InvertMatching sends a libzmq SUB with ZMQ_INVERT_MATCHING, subscribed to
// "a-", only what does not start with "a-" (filtered on our side: the
// publisher writes nothing else); an mqwire SUB with InvertMatching, under
// a libzmq PUB with ZMQ_INVERT_MATCHING, gets only "b-" messages.
func TestInvertMatchingLibzmq(t *testing.T) {
	t.Run("xpub-to-libzmq", func(t *testing.T) {
		each(t, func(t *testing.T, tr string, listen bool) {
			s, _ := xpub.New(xpub.InvertMatching(true))
			defer s.Close()
			p := xconnect(t, s, listen, tr, "SUB", "recv", "5", "a-", "invert=1")
			if got := xrecv(t, s); got != "\x01a-" {
				t.Fatalf("xpub got %q, want 1+a-", got)
			}
			for i := range 5 {
				s.SendBytes(fmt.Appendf(nil, "a-%d", i))
				s.SendBytes(fmt.Appendf(nil, "b-%d", i))
			}
			for i := range 5 {
				if got, want := p.line(t), hex.EncodeToString(fmt.Appendf(nil, "b-%d", i)); got != want {
					t.Fatalf("libzmq SUB got %q, want %q", got, want)
				}
			}
			// The writer counts a write once it returns, which can be
			// after the peer has read it.
			deadline := time.Now().Add(5 * time.Second)
			for s.Stats().MessagesOut < 5 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if out := s.Stats().MessagesOut; out != 5 {
				t.Fatalf("xpub wrote %d messages, want the 5 not matching", out)
			}
		})
	})
	t.Run("libzmq-to-sub", func(t *testing.T) {
		each(t, func(t *testing.T, tr string, listen bool) {
			s, _ := sub.New(sub.Subscribe([]byte("a-")), sub.InvertMatching(true), socket.DialDialect(socket.DialectZMTP))
			defer s.Close()
			xconnect(t, s, listen, tr, "PUB", "publish", "2000", "invert=1")
			for i := range 20 {
				m, err := s.RecvContext(ctx(t))
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if !strings.HasPrefix(string(m.Body), "b-") {
					t.Fatalf("got %q, which matches the subscription", m.Body)
				}
				m.Free()
			}
		})
	})
}

// An mqwire SUB that counts its subscriptions (sub.CountSubscriptions)
// tells a libzmq XPUB (ZMQ_XPUB_VERBOSER, which passes up everything it is
// told) what libzmq's own SUB tells for the same calls: subscribed twice,
// unsubscribed once, from an unknown topic once, and again, then
// subscribed to another, it sends 1+a-, 1+a-, 0+a-, 1+z (pyzmq's SUB over
// libzmq 4.3.4 sends the same).
func TestCountingSUBLibzmqXPUB(t *testing.T) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s, _ := sub.New(sub.CountSubscriptions(true), socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		p := xconnect(t, s, listen, tr, "XPUB", "recv", "4", "verboser=1")
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().Pipes == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		for _, o := range []socket.Option{
			sub.Subscribe([]byte("a-")), sub.Subscribe([]byte("a-")),
			sub.Unsubscribe([]byte("a-")), sub.Unsubscribe([]byte("unknown")),
			sub.Unsubscribe([]byte("a-")), sub.Subscribe([]byte("z")),
		} {
			if err := s.SetOption(o); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range []string{"\x01a-", "\x01a-", "\x00a-", "\x01z"} {
			if got := p.line(t); got != hex.EncodeToString([]byte(want)) {
				t.Fatalf("libzmq XPUB got %q, want %q", got, hex.EncodeToString([]byte(want)))
			}
		}
	})
}

// A counting mqwire SUB subscribed twice and unsubscribed once still gets
// the topic from a libzmq PUB, which sends only what it was told is
// wanted.
func TestCountingSUBLibzmqPUB(t *testing.T) {
	each(t, func(t *testing.T, tr string, listen bool) {
		s, _ := sub.New(sub.CountSubscriptions(true), sub.Subscribe([]byte("a-")), socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		xconnect(t, s, listen, tr, "PUB", "publish", "2000")
		xrecv(t, s) // the subscription reached the publisher
		if err := s.SetOption(sub.Subscribe([]byte("a-"))); err != nil {
			t.Fatal(err)
		}
		if err := s.SetOption(sub.Unsubscribe([]byte("a-"))); err != nil {
			t.Fatal(err)
		}
		// A cancel sent would have stopped the publisher within this.
		time.Sleep(300 * time.Millisecond)
		for range 100 { // what came meanwhile, and then some
			if got := xrecv(t, s); !strings.HasPrefix(got, "a-") {
				t.Fatalf("got %q without a subscription to it", got)
			}
		}
	})
}
