package zmq_test

import (
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// A libzmq REQ asks an mqwire REP: the envelope (libzmq's empty delimiter)
// goes back in front of each reply.
func TestLibzmqRequester(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc"} {
		for _, listen := range []bool{true, false} {
			name := tr + "/mqwire-rep-dials"
			if listen {
				name = tr + "/mqwire-rep-listens"
			}
			t.Run(name, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				s, _ := rep.New(socket.DialDialect(socket.DialectZMTP))
				defer s.Close()
				var p *peer
				if listen {
					l, err := s.Listen(endpoint(t, tr))
					if err != nil {
						t.Fatal(err)
					}
					p = startPeer(t, "REQ", "connect", l.URL(), "request", fmt.Sprint(count))
				} else {
					url := peerEndpoint(t, tr)
					p = startPeer(t, "REQ", "bind", url, "request", fmt.Sprint(count))
					if _, err := s.Dial(url); err != nil {
						t.Fatal(err)
					}
				}
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
	}
}

// An mqwire REQ asks a libzmq REP, from several contexts at once: replies
// come back in order and each reaches the request it answers.
func TestLibzmqReplier(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc"} {
		for _, listen := range []bool{true, false} {
			name := tr + "/mqwire-req-dials"
			if listen {
				name = tr + "/mqwire-req-listens"
			}
			t.Run(name, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				s, _ := req.New(socket.DialDialect(socket.DialectZMTP))
				defer s.Close()
				if listen {
					l, err := s.Listen(endpoint(t, tr))
					if err != nil {
						t.Fatal(err)
					}
					startPeer(t, "REP", "connect", l.URL(), "echo", fmt.Sprint(4*count))
				} else {
					url := peerEndpoint(t, tr)
					startPeer(t, "REP", "bind", url, "echo", fmt.Sprint(4*count))
					if _, err := s.Dial(url); err != nil {
						t.Fatal(err)
					}
				}
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
	}
}
