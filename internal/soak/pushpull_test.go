package soak_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// TestPushPull: three pushers flood one pull whose receive queue holds
// RecvHWM from each (1 to 100), read by one goroutine or by three at once
// (and then, over a stream, the pushers speak both dialects to the one
// listener). Nothing is lost, nothing arrives twice, every body is whole,
// and, with one reader, each pusher's messages arrive in order.
func TestPushPull(t *testing.T) {
	const senders = 3
	n := 1500 * scale()
	for _, c := range cases() {
		for _, readers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%v/readers=%d", c, readers), func(t *testing.T) {
				seed := begin(t)
				rng := rand.New(rand.NewPCG(seed, 1))
				hwm := []int{1, 4, 16, 100}[rng.IntN(4)]
				t.Logf("RecvHWM %d", hwm)
				r := must(pull.New(socket.RecvHWM(hwm), socket.MaxRecvSize(1<<20)))
				defer r.Close()
				ln := must(r.Listen(url(t, c.transport)))
				var ws []*socket.Socket
				for id := range senders {
					d := c.dialect
					if readers > 1 && c.transport != "inproc" {
						// The listener serves both dialects at once.
						d = []socket.Dialect{socket.DialectSP, socket.DialectZMTP}[id%2]
					}
					w := must(push.New(socket.DialDialect(d), socket.SendHWM(1+rng.IntN(64))))
					defer w.Close()
					must(w.Dial(ln.URL()))
					ws = append(ws, w)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				var wg sync.WaitGroup
				errs := make(chan error, senders+readers)
				for id, w := range ws {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(seed, uint64(id)+2))
						for seq := range uint64(n) {
							m := socket.NewMessage(pickSize(rng))
							fill(m.Body, uint32(id), seq)
							if err := w.SendContext(ctx, m); err != nil {
								errs <- fmt.Errorf("sender %d message %d: %w", id, seq, err)
								return
							}
							pause(rng)
						}
					}()
				}
				var seen [senders][]atomic.Bool
				for i := range seen {
					seen[i] = make([]atomic.Bool, n)
				}
				var got atomic.Int64
				total := int64(senders * n)
				// The reader that takes the last message ends the others'
				// Recvs.
				allIn, allInCancel := context.WithCancel(ctx)
				defer allInCancel()
				for k := range readers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(seed, uint64(k)+100))
						var next [senders]uint64
						for got.Load() < total {
							rctx, rcancel := recvCtx(allIn, rng)
							m, err := r.RecvContext(rctx)
							rcancel()
							if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
								continue
							}
							if allIn.Err() != nil && ctx.Err() == nil && got.Load() == total {
								return
							}
							if err != nil {
								errs <- fmt.Errorf("reader %d after %d of %d: %w", k, got.Load(), total, err)
								return
							}
							id, seq, err := check(m.Body)
							m.Free()
							if err == nil && (id >= senders || seq >= uint64(n)) {
								err = fmt.Errorf("sender %d message %d: no such message", id, seq)
							}
							if err == nil && seen[id][seq].Swap(true) {
								err = fmt.Errorf("sender %d message %d: received twice", id, seq)
							}
							if err == nil && readers == 1 && seq != next[id] {
								err = fmt.Errorf("sender %d: message %d, want %d", id, seq, next[id])
							}
							if err != nil {
								errs <- err
								cancel()
								return
							}
							next[id] = seq + 1
							if got.Add(1) == total {
								allInCancel()
							}
							pause(rng)
						}
					}()
				}
				wg.Wait()
				failAll(t, errs)
				if st := r.Stats(); st.TotalDrops() != 0 {
					t.Errorf("the pull dropped %d", st.TotalDrops())
				}
			})
		}
	}
}

// TestChurn: senders come and go while a pull reads: each dials, sends a
// few messages, and closes with a linger long enough to deliver them.
// Every message of every sender arrives, whole and in its sender's order,
// and nothing of a closed connection is left running.
func TestChurn(t *testing.T) {
	rounds := 30 * scale()
	for _, c := range cases() {
		t.Run(c.String(), func(t *testing.T) {
			seed := begin(t)
			rng := rand.New(rand.NewPCG(seed, 1))
			r := must(pull.New(socket.RecvHWM(1+rng.IntN(32)), socket.MaxRecvSize(1<<20)))
			defer r.Close()
			ln := must(r.Listen(url(t, c.transport)))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			const live = 3 // senders at once
			counts := make([]uint64, rounds)
			for i := range counts {
				counts[i] = uint64(rng.IntN(100))
			}
			var total int64
			for _, k := range counts {
				total += int64(k)
			}
			var wg sync.WaitGroup
			errs := make(chan error, rounds+1)
			slots := make(chan struct{}, live)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range rounds {
					slots <- struct{}{}
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer func() { <-slots }()
						rng := rand.New(rand.NewPCG(seed, uint64(id)+2))
						w, err := push.New(socket.DialDialect(c.dialect), socket.Linger(time.Minute))
						if err != nil {
							errs <- err
							return
						}
						if _, err := w.Dial(ln.URL()); err != nil {
							errs <- err
							w.Close()
							return
						}
						for seq := range counts[id] {
							m := socket.NewMessage(pickSize(rng))
							fill(m.Body, uint32(id), seq)
							if err := w.SendContext(ctx, m); err != nil {
								errs <- fmt.Errorf("sender %d message %d: %w", id, seq, err)
								break
							}
							pause(rng)
						}
						if err := w.Close(); err != nil {
							errs <- fmt.Errorf("sender %d: close: %w", id, err)
						}
					}()
				}
			}()
			next := make([]uint64, rounds)
			for got := int64(0); got < total; got++ {
				m, err := r.RecvContext(ctx)
				if err != nil {
					t.Fatalf("after %d of %d: %v", got, total, err)
				}
				id, seq, err := check(m.Body)
				m.Free()
				if err == nil && (int(id) >= rounds || seq != next[id]) {
					err = fmt.Errorf("sender %d: message %d, want %d", id, seq, next[min(int(id), rounds-1)])
				}
				if err != nil {
					t.Fatal(err)
				}
				next[id]++
				pause(rng)
			}
			wg.Wait()
			failAll(t, errs)
			if st := r.Stats(); st.TotalDrops() != 0 {
				t.Errorf("the pull dropped %d", st.TotalDrops())
			}
		})
	}
}

// TestRestart: a pull goes away and comes back at the same address, again
// and again, while a push that dialed it keeps sending and reconnects.
// What was in flight when a pull closed is lost with it; everything that
// arrives is whole and in order, every restarted pull gets messages, and
// the push never fails.
func TestRestart(t *testing.T) {
	restarts := 8 * scale()
	for _, c := range cases() {
		t.Run(c.String(), func(t *testing.T) {
			seed := begin(t)
			addr := url(t, c.transport)
			r := must(pull.New(socket.MaxRecvSize(1 << 20)))
			ln := must(r.Listen(addr))
			addr = ln.URL() // tcp's port, for the next listen
			w := must(push.New(socket.DialDialect(c.dialect), socket.ReconnectInterval(time.Millisecond),
				socket.ReconnectIntervalMax(10*time.Millisecond)))
			defer w.Close()
			must(w.Dial(addr))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			var sent atomic.Uint64
			stop := make(chan struct{})
			sendErr := make(chan error, 1)
			go func() {
				rng := rand.New(rand.NewPCG(seed, 2))
				for seq := uint64(0); ; seq++ {
					select {
					case <-stop:
						sendErr <- nil
						return
					default:
					}
					m := socket.NewMessage(pickSize(rng))
					fill(m.Body, 0, seq)
					if err := w.SendContext(ctx, m); err != nil {
						select {
						case <-stop: // blocked with no pull to send to, the last one gone
							err = nil
						default:
							err = fmt.Errorf("message %d: %w", seq, err)
						}
						sendErr <- err
						return
					}
					sent.Store(seq + 1)
					pause(rng)
				}
			}()
			next := uint64(0)
			for round := 0; round <= restarts; round++ {
				got := 0
				for got < 50 { // each incarnation gets some
					m, err := r.RecvContext(ctx)
					if err != nil {
						t.Fatalf("round %d after %d: %v", round, got, err)
					}
					id, seq, err := check(m.Body)
					m.Free()
					if err == nil && (id != 0 || seq < next) {
						err = fmt.Errorf("round %d: message %d of sender %d after %d", round, seq, id, next)
					}
					if err != nil {
						t.Fatal(err)
					}
					next = seq + 1
					got++
				}
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				if round == restarts {
					break
				}
				// The address is free again once Close returns.
				r = must(pull.New(socket.MaxRecvSize(1 << 20)))
				if _, err := r.Listen(addr); err != nil {
					t.Fatalf("round %d: listen again: %v", round, err)
				}
			}
			close(stop)
			cancel()
			if err := <-sendErr; err != nil {
				t.Fatal(err)
			}
			t.Logf("%d restarts: %d sent, the last received %d", restarts, sent.Load(), next-1)
		})
	}
}
