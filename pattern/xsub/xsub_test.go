package xsub_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func newSock(t testing.TB, s *socket.Socket) *socket.Socket {
	t.Cleanup(func() { s.Close() })
	return s
}

func must(s *socket.Socket, err error) *socket.Socket {
	if err != nil {
		panic(err)
	}
	return s
}

// publishUntil publishes "b-<i>" and "a-<i>" until x receives a message,
// which it returns.
func publishUntil(t testing.TB, p, x *socket.Socket) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		p.SendBytes(fmt.Appendf(nil, "b-%d", i))
		p.SendBytes(fmt.Appendf(nil, "a-%d", i))
		c, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		m, err := x.RecvContext(c)
		cancel()
		if err == nil {
			defer m.Free()
			return string(m.Body)
		}
	}
	t.Fatal("nothing received in 5 s")
	return ""
}

// An XSUB subscribes upstream to a publisher (a pub over ZMTP) by sending
// 1+topic, whether it listens or dials, and whether it subscribed before or
// after the connection; it receives only what matches (the publisher
// filters), and after the last cancel nothing.
func TestPublisher(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc"} {
		for _, xsubListens := range []bool{true, false} {
			for _, early := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/xsub-listens=%v/subscribe-first=%v", tr, xsubListens, early), func(t *testing.T) {
					testutil.CheckGoroutines(t)
					x := newSock(t, must(xsub.New()))
					p := newSock(t, must(pub.New(socket.DialDialect(socket.DialectZMTP))))
					if early {
						x.SendBytes([]byte("\x01a-"))
						x.SendBytes([]byte("\x01a-")) // counted: two cancels needed
					}
					var l, d = p, x
					if xsubListens {
						l, d = x, p
					}
					ln, err := l.Listen(testutil.URL(t, tr))
					if err != nil {
						t.Fatal(err)
					}
					if _, err := d.Dial(ln.URL()); err != nil {
						t.Fatal(err)
					}
					if !early {
						for p.Stats().Pipes == 0 || x.Stats().Pipes == 0 {
							time.Sleep(time.Millisecond)
						}
						x.SendBytes([]byte("\x01a-"))
						x.SendBytes([]byte("\x01a-"))
					}
					if got := publishUntil(t, p, x); !strings.HasPrefix(got, "a-") {
						t.Fatalf("got %q", got)
					}
					x.SendBytes([]byte("\x00a-"))
					x.SendBytes([]byte("\x01c-"))
					// The cancel did not go upstream (one subscription
					// left); the c- subscription after it shows it has
					// been applied.
					for {
						p.SendBytes([]byte("c-"))
						p.SendBytes([]byte("a-still"))
						c, cancel := context.WithTimeout(ctx(t), 10*time.Millisecond)
						m, err := x.RecvContext(c)
						cancel()
						if err == nil && string(m.Body) == "c-" {
							break
						}
					}
					for {
						m, err := x.RecvContext(ctx(t))
						if err != nil {
							t.Fatal(err)
						}
						if string(m.Body) == "a-still" {
							break
						}
					}
					x.SendBytes([]byte("\x00a-"))
					x.SendBytes([]byte("\x00c-"))
					x.SendBytes([]byte("\x01d-"))
					for {
						p.SendBytes([]byte("a-gone"))
						p.SendBytes([]byte("d-"))
						c, cancel := context.WithTimeout(ctx(t), 10*time.Millisecond)
						m, err := x.RecvContext(c)
						cancel()
						if err == nil && string(m.Body) == "d-" {
							break
						}
					}
					// The cancel was applied before d- was: every a-gone
					// after the first d- that arrived was filtered out.
					p.SendBytes([]byte("a-gone"))
					p.SendBytes([]byte("d-end"))
					for {
						m, err := x.RecvContext(ctx(t))
						if err != nil {
							t.Fatal(err)
						}
						if string(m.Body) == "d-end" {
							break
						}
						if string(m.Body) != "d-" {
							t.Fatalf("got %q", m.Body)
						}
					}
				})
			}
		}
	}
}

func TestNoFilter(t *testing.T) {
	testutil.CheckGoroutines(t)
	x := newSock(t, must(xsub.New()))
	p := newSock(t, must(pub.New(socket.DialDialect(socket.DialectZMTP))))
	ln, err := x.Listen(testutil.URL(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Dial(ln.URL()); err != nil {
		t.Fatal(err)
	}
	x.SendBytes([]byte("\x01")) // everything
	if got := publishUntil(t, p, x); !strings.HasPrefix(got, "b-") && !strings.HasPrefix(got, "a-") {
		t.Fatalf("got %q", got)
	}
}

// An XSUB whose reader is slow holds its publishers up as a SUB over ZMTP
// does, and as libzmq's XSUB does: an XPUB with NoDrop waits and then times
// out, and every message it took arrives, in order, with nothing dropped.
func TestSlowReaderHoldsNoDropPublisher(t *testing.T) {
	const size = 16 << 10 // large, so that socket buffers fill soon
	for _, tr := range []string{"inproc", "ipc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			x := newSock(t, must(xpub.New(xpub.NoDrop(true), socket.SendHWM(4), socket.SendTimeout(100*time.Millisecond))))
			s := newSock(t, must(xsub.New(socket.RecvHWM(4))))
			ln, err := x.Listen(testutil.URL(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Dial(ln.URL()); err != nil {
				t.Fatal(err)
			}
			if err := s.SendBytes([]byte{1}); err != nil { // everything
				t.Fatal(err)
			}
			if m, err := x.RecvContext(ctx(t)); err != nil {
				t.Fatal(err)
			} else {
				m.Free() // the subscription
			}
			body := make([]byte, size)
			sent := 0
			for ; sent < 100_000; sent++ {
				binary.BigEndian.PutUint32(body, uint32(sent))
				if err := x.SendBytes(body); err != nil {
					if !errors.Is(err, socket.ErrTimeout) {
						t.Fatalf("send %d: %v", sent, err)
					}
					break
				}
			}
			if sent == 100_000 {
				t.Fatal("Send never waited")
			}
			for i := range sent {
				m, err := s.RecvContext(ctx(t))
				if err != nil {
					t.Fatalf("message %d of %d: %v", i, sent, err)
				}
				if got := binary.BigEndian.Uint32(m.Body); got != uint32(i) {
					t.Fatalf("message %d is %d", i, got)
				}
				m.Free()
			}
			if d := s.Stats().TotalDrops() + x.Stats().TotalDrops(); d != 0 {
				t.Fatalf("%d messages dropped", d)
			}
			if err := x.SendBytes(body); err != nil {
				t.Fatalf("send once the reader caught up: %v", err)
			}
		})
	}
}
