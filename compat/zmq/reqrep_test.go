package zmq_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// A libzmq REQ asks an mqwire REP: the envelope (libzmq's empty delimiter)
// goes back in front of each reply.
func TestLibzmqRequester(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := rep.New(socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		p := attach(t, s, tr, listen, "REQ", "request", fmt.Sprint(count))
		for i := range count {
			m, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("req-%d", i); string(m.Body) != want {
				t.Fatalf("request %q, want %q", m.Body, want)
			}
			m.Body = append(m.Body, " answered"...)
			if err := s.SendContext(ctx(t), m); err != nil {
				t.Fatal(err)
			}
			if got, want := p.line(t), hex.EncodeToString(fmt.Appendf(nil, "req-%d answered", i)); got != want {
				t.Fatalf("libzmq REQ got %q, want %q", got, want)
			}
		}
	})
}

// An mqwire REQ asks a libzmq REP, from several contexts at once: replies
// come back in order and each reaches the request it answers.
func TestLibzmqReplier(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := req.New(socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		attach(t, s, tr, listen, "REP", "echo", fmt.Sprint(4*count))
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := req.NewContext(s)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				for i := range count {
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
						t.Errorf("reply %q to %q", m.Body, want)
					}
				}
			}()
		}
		wg.Wait()
	})
}

// A request whose reply never comes (the libzmq ROUTER swallows it) does
// not hold the next one back: once the Recv has timed out, the next Send
// abandons it, closes the connection it went out on (a late reply there
// could not be told from the next one's), and the request goes out on the
// connection that replaces it. The old code waited for ever for that
// connection to be free.
func TestRequestAfterSwallowedOne(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := req.New(socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		p := attach(t, s, tr, listen, "ROUTER", "route-skip-first", "3")
		if err := s.SendContext(ctx(t), socket.NewMessageBytes([]byte("lost"))); err != nil {
			t.Fatal(err)
		}
		if got := p.line(t); got != ". "+hex.EncodeToString([]byte("lost")) {
			t.Fatalf("the ROUTER got %q", got)
		}
		short, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
		defer cancel()
		if _, err := s.RecvContext(short); !errors.Is(err, socket.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Recv of a swallowed request: %v", err)
		}
		for _, want := range []string{"next", "after"} {
			send, cancel := context.WithTimeout(ctx(t), 10*time.Second)
			defer cancel()
			if err := s.SendContext(send, socket.NewMessageBytes([]byte(want))); err != nil {
				t.Fatalf("Send %q after a swallowed request: %v", want, err)
			}
			m, err := s.RecvContext(send)
			if err != nil {
				t.Fatalf("reply to %q: %v", want, err)
			}
			if string(m.Body) != want {
				t.Fatalf("reply %q to %q", m.Body, want)
			}
			p.line(t)
		}
	})
}
