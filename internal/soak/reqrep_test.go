package soak_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

// TestReqRep: clients (req sockets, and over SP also the contexts of one
// req socket) each send requests one at a time to a rep socket served by
// several rep contexts that echo them after random pauses. Every reply is
// its own request's, byte for byte.
func TestReqRep(t *testing.T) {
	n := 150 * scale()
	for _, c := range cases() {
		t.Run(c.String(), func(t *testing.T) {
			seed := begin(t)
			r := must(rep.New(socket.MaxRecvSize(1 << 20)))
			defer r.Close()
			ln := must(r.Listen(url(t, c.transport)))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			type client struct {
				send func(context.Context, *socket.Message) error
				recv func(context.Context) (*socket.Message, error)
			}
			var clients []client
			for range 3 {
				s := must(req.New(socket.DialDialect(c.dialect), socket.MaxRecvSize(1<<20)))
				defer s.Close()
				must(s.Dial(ln.URL()))
				clients = append(clients, client{s.SendContext, s.RecvContext})
			}
			if c.dialect == socket.DialectSP {
				s := must(req.New(socket.MaxRecvSize(1 << 20)))
				defer s.Close()
				must(s.Dial(ln.URL()))
				for range 3 {
					rc := must(req.NewContext(s))
					defer rc.Close()
					clients = append(clients, client{rc.Send, rc.Recv})
				}
			}

			var workers sync.WaitGroup
			for k := range 4 {
				rc := must(rep.NewContext(r))
				defer rc.Close()
				workers.Add(1)
				go func() {
					defer workers.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(k)+1000))
					for {
						m, err := rc.Recv(ctx)
						if err != nil {
							return // the test ends (ctx), or failed
						}
						pause(rng)
						if err := rc.Send(ctx, m); err != nil {
							return
						}
					}
				}()
			}

			var wg sync.WaitGroup
			errs := make(chan error, len(clients))
			for id, cl := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(id)+2))
					for seq := range uint64(n) {
						m := socket.NewMessage(pickSize(rng))
						fill(m.Body, uint32(id), seq)
						size := len(m.Body)
						if err := cl.send(ctx, m); err != nil {
							errs <- fmt.Errorf("client %d request %d: %w", id, seq, err)
							return
						}
						rep, err := cl.recv(ctx)
						if err != nil {
							errs <- fmt.Errorf("client %d request %d: %w", id, seq, err)
							return
						}
						gid, gseq, err := check(rep.Body)
						if err == nil && (gid != uint32(id) || gseq != seq || len(rep.Body) != size) {
							err = fmt.Errorf("client %d request %d (%d bytes): reply of client %d request %d (%d bytes)",
								id, seq, size, gid, gseq, len(rep.Body))
						}
						rep.Free()
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			cancel()
			workers.Wait()
			failAll(t, errs)
		})
	}
}

// TestDealerRouter: dealers send multipart messages of one to four frames
// of every size to a router that sends each back to its sender by routing
// id. Every dealer gets its own messages back, frame for frame, in the
// order it sent them.
func TestDealerRouter(t *testing.T) {
	n := 400 * scale()
	for _, c := range cases() {
		if c.dialect != socket.DialectZMTP && c.transport != "inproc" {
			continue // ROUTER and DEALER are ZeroMQ's
		}
		t.Run(c.transport, func(t *testing.T) {
			seed := begin(t)
			r := must(router.New(router.RouterMandatory(true), socket.MaxRecvSize(1<<20)))
			defer r.Close()
			ln := must(r.Listen(url(t, c.transport)))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			// One echoer: messages of one dealer must go back in order.
			echoed := make(chan struct{})
			go func() {
				defer close(echoed)
				for {
					m, err := r.RecvContext(ctx)
					if err != nil {
						return
					}
					if err := r.SendContext(ctx, m); err != nil {
						return
					}
				}
			}()
			const dealers = 3
			var wg sync.WaitGroup
			errs := make(chan error, 2*dealers)
			for id := range dealers {
				d := must(dealer.New(socket.DialDialect(socket.DialectZMTP), socket.MaxRecvSize(1<<20)))
				defer d.Close()
				must(d.Dial(ln.URL()))
				rng := rand.New(rand.NewPCG(seed, uint64(id)+2))
				frames := make([]int, n) // how many frames each message has
				for i := range frames {
					frames[i] = 1 + rng.IntN(4)
				}
				wg.Add(2)
				go func() {
					defer wg.Done()
					for seq := range uint64(n) {
						m := socket.NewMessage(pickSize(rng))
						fill(m.Body, uint32(id), seq*8)
						for k := 1; k < frames[seq]; k++ {
							f := make([]byte, pickSize(rng))
							fill(f, uint32(id), seq*8+uint64(k))
							m.Frames = append(m.Frames, f)
						}
						if err := d.SendContext(ctx, m); err != nil {
							errs <- fmt.Errorf("dealer %d message %d: %w", id, seq, err)
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for seq := range uint64(n) {
						m, err := d.RecvContext(ctx)
						if err != nil {
							errs <- fmt.Errorf("dealer %d message %d: %w", id, seq, err)
							return
						}
						parts := append([][]byte{m.Body}, m.Frames...)
						if len(parts) != frames[seq] {
							err = fmt.Errorf("dealer %d message %d: %d frames, want %d", id, seq, len(parts), frames[seq])
						}
						for k, f := range parts {
							if err != nil {
								break
							}
							gid, gseq, ferr := check(f)
							switch {
							case ferr != nil:
								err = fmt.Errorf("dealer %d message %d frame %d: %w", id, seq, k, ferr)
							case gid != uint32(id) || gseq != seq*8+uint64(k):
								err = fmt.Errorf("dealer %d message %d frame %d: dealer %d's frame %d of message %d",
									id, seq, k, gid, gseq%8, gseq/8)
							}
						}
						m.Free()
						if err != nil {
							errs <- err
							cancel()
							return
						}
					}
				}()
			}
			wg.Wait()
			cancel()
			<-echoed
			failAll(t, errs)
		})
	}
}

// TestReqRestart: clients keep asking while the replier goes away and
// comes back at the same address, again and again. A request caught by a
// restart is sent again (at once when its connection is lost, or after
// the resend interval), and every client gets, for every request, its own
// reply and no other: the replier may answer a request twice, and the
// client keeps only the answer to the request it waits on.
func TestReqRestart(t *testing.T) {
	restarts := 6 * scale()
	for _, c := range cases() {
		t.Run(c.String(), func(t *testing.T) {
			seed := begin(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			serve := func(r *socket.Socket) chan struct{} {
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						m, err := r.RecvContext(ctx)
						if err != nil {
							return // closed for a restart, or the end
						}
						if r.SendContext(ctx, m) != nil {
							return
						}
					}
				}()
				return done
			}
			newRep := func() *socket.Socket { return must(rep.New(socket.MaxRecvSize(1 << 20))) }
			r := newRep()
			addr := must(r.Listen(url(t, c.transport))).URL()
			served := serve(r)

			const clients = 3
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			var answered atomic.Int64
			stop := make(chan struct{})
			for id := range clients {
				q := must(req.New(socket.DialDialect(c.dialect), socket.MaxRecvSize(1<<20),
					req.ResendInterval(50*time.Millisecond), socket.ReconnectInterval(time.Millisecond),
					socket.ReconnectIntervalMax(10*time.Millisecond)))
				defer q.Close()
				must(q.Dial(addr))
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(id)+2))
					for seq := uint64(0); ; seq++ {
						select {
						case <-stop:
							return
						default:
						}
						m := socket.NewMessage(pickSize(rng))
						fill(m.Body, uint32(id), seq)
						size := len(m.Body)
						if err := q.SendContext(ctx, m); err != nil {
							errs <- fmt.Errorf("client %d request %d: %w", id, seq, err)
							return
						}
						a, err := q.RecvContext(ctx)
						if err != nil {
							errs <- fmt.Errorf("client %d request %d: %w", id, seq, err)
							return
						}
						gid, gseq, err := check(a.Body)
						if err == nil && (gid != uint32(id) || gseq != seq || len(a.Body) != size) {
							err = fmt.Errorf("client %d request %d: the reply to client %d request %d", id, seq, gid, gseq)
						}
						a.Free()
						if err != nil {
							errs <- err
							return
						}
						answered.Add(1)
					}
				}()
			}
			for range restarts {
				from := answered.Load()
				testutil.WaitFor(t, "answers", time.Minute, func() bool { return answered.Load() >= from+20 })
				r.Close()
				<-served
				r = newRep()
				if _, err := r.Listen(addr); err != nil {
					t.Fatal(err)
				}
				served = serve(r)
			}
			from := answered.Load()
			testutil.WaitFor(t, "answers", time.Minute, func() bool { return answered.Load() >= from+20 })
			close(stop)
			wg.Wait()
			r.Close()
			<-served
			failAll(t, errs)
			t.Logf("%d restarts, %d requests answered", restarts, answered.Load())
		})
	}
}
