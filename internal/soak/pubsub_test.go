package soak_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

// TestPubSub: a publisher floods two subscribers, one of which reads
// slowly, through queues of 2 to 64. An SP subscriber drops what its full
// queue has no room for (the newest, or with PreferNew the oldest waiting);
// a ZMTP one waits and the publisher drops instead. Whatever is dropped,
// what arrives is whole and in order, and every message is either received
// or counted as dropped by one end.
func TestPubSub(t *testing.T) {
	n := 3000 * scale()
	for _, c := range cases() {
		for _, preferNew := range []bool{false, true} {
			if preferNew && c.dialect != socket.DialectSP {
				continue // PreferNew is for SP publishers
			}
			t.Run(fmt.Sprintf("%v/preferNew=%v", c, preferNew), func(t *testing.T) {
				seed := begin(t)
				rng := rand.New(rand.NewPCG(seed, 1))
				p := must(pub.New(socket.SendHWM(2 + rng.IntN(62))))
				defer p.Close()
				ln := must(p.Listen(url(t, c.transport)))
				const subs = 2
				var ss []*socket.Socket
				for range subs {
					s := must(sub.New(socket.DialDialect(c.dialect), socket.RecvHWM(2+rng.IntN(62)),
						socket.MaxRecvSize(1<<20), sub.PreferNew(preferNew), sub.Subscribe(nil)))
					defer s.Close()
					must(s.Dial(ln.URL()))
					ss = append(ss, s)
				}
				// Every subscriber must be connected, and subscribed, before
				// the count starts: a ZMTP publisher sends only what it was
				// asked for.
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				greet(t, ctx, p, ss, func() *socket.Message { return socket.NewMessageBytes([]byte("~hello")) })
				pubDrops0 := p.Stats().TotalDrops()
				var subDrops0 [subs]uint64
				for i, s := range ss {
					subDrops0[i] = s.Stats().TotalDrops()
				}

				var received [subs]atomic.Int64
				errs := make(chan error, subs+1)
				sent := make(chan struct{})
				var wg sync.WaitGroup
				for i, s := range ss {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(seed, uint64(i)+2))
						next := uint64(0)
						for {
							m, err := recvWithin(ctx, s, 50*time.Millisecond)
							if err != nil {
								select {
								case <-sent:
									return // quiet after the last message: counted below
								default:
								}
								if ctx.Err() != nil {
									errs <- fmt.Errorf("subscriber %d: %w", i, err)
									return
								}
								continue
							}
							id, seq, err := check(m.Body)
							m.Free()
							if err == nil && (id != 0 || seq < next || seq >= uint64(n)) {
								err = fmt.Errorf("subscriber %d: message %d of sender %d after %d", i, seq, id, next)
							}
							if err != nil {
								errs <- err
								return
							}
							next = seq + 1
							received[i].Add(1)
							if i == 0 {
								time.Sleep(time.Duration(rng.IntN(20)) * time.Microsecond)
							} else {
								pause(rng)
							}
						}
					}()
				}
				for seq := range uint64(n) {
					m := socket.NewMessage(pickSize(rng))
					fill(m.Body, 0, seq)
					if err := p.SendContext(ctx, m); err != nil {
						t.Fatal(err)
					}
					pause(rng)
				}
				// Wait until every message is accounted for at each
				// subscriber, as received or dropped by one of the ends.
				pubDrops := func() uint64 { return p.Stats().TotalDrops() - pubDrops0 }
				accounted := func() bool {
					var sum uint64
					for i, s := range ss {
						sum += uint64(received[i].Load()) + s.Stats().TotalDrops() - subDrops0[i]
					}
					return sum+pubDrops() >= uint64(subs*n)
				}
				deadline := time.Now().Add(time.Minute)
				for !accounted() && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				close(sent)
				wg.Wait()
				failAll(t, errs)
				var sum uint64
				for i, s := range ss {
					d := s.Stats().TotalDrops() - subDrops0[i]
					t.Logf("subscriber %d: received %d, dropped %d", i, received[i].Load(), d)
					sum += uint64(received[i].Load()) + d
				}
				t.Logf("publisher dropped %d", pubDrops())
				if sum+pubDrops() != uint64(subs*n) {
					t.Errorf("received and dropped %d, with the publisher's drops %d, of %d sent to %d subscribers",
						sum, sum+pubDrops(), subs*n, subs)
				}
			})
		}
	}
}

// TestSubscriptionChurn: a publisher that waits for room (NoDrop) floods
// ten topics while each subscriber keeps five of them and subscribes to
// and unsubscribes from the other five all the while, from a goroutine of
// its own beside the one receiving. Over ZMTP the publisher filters by
// what it was told; over SP each subscriber filters for itself. Every
// message received is whole and in its topic's order. On the five kept
// topics nothing is lost over ZMTP, where a subscriber's queue waits for
// room; an SP subscriber drops what its full queue has no room for, as
// nng's does (the publisher waits only for its own queue), and every
// message missing on a kept topic is counted in its drops.
func TestSubscriptionChurn(t *testing.T) {
	n := 2000 * scale()
	const topics, kept = 10, 5
	topicOf := func(i uint32) []byte { return binary.BigEndian.AppendUint32(nil, i) }
	for _, c := range cases() {
		t.Run(c.String(), func(t *testing.T) {
			seed := begin(t)
			rng := rand.New(rand.NewPCG(seed, 1))
			p := must(pub.New(pub.NoDrop(true), socket.SendHWM(1+rng.IntN(32))))
			defer p.Close()
			ln := must(p.Listen(url(t, c.transport)))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const subs = 2
			var ss []*socket.Socket
			for range subs {
				s := must(sub.New(socket.DialDialect(c.dialect), socket.RecvHWM(1+rng.IntN(32)), socket.MaxRecvSize(1<<20)))
				defer s.Close()
				must(s.Dial(ln.URL()))
				for i := range uint32(kept) {
					must(0, s.SetOption(sub.Subscribe(topicOf(i))))
				}
				ss = append(ss, s)
			}
			// A ZMTP publisher must have the kept subscriptions before
			// the count starts.
			greet(t, ctx, p, ss, func() *socket.Message {
				m := socket.NewMessage(headLen)
				fill(m.Body, 0, 1<<40)
				return m
			})

			// Drops from here on are the count's: taken before the
			// receivers start, which on one processor may be after the
			// publisher has sent everything.
			var drops0 [subs]uint64
			for i, s := range ss {
				drops0[i] = s.Stats().TotalDrops()
			}
			var wg sync.WaitGroup
			errs := make(chan error, 2*subs)
			done := make(chan struct{})
			sent := make([]uint64, topics) // messages per topic, once done is closed
			var doneBy time.Time           // the receivers' deadline, once done is closed
			for i, s := range ss {
				wg.Add(2)
				go func() { // churn
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(i)+100))
					var on [topics]bool
					for {
						select {
						case <-done:
							return
						default:
						}
						k := kept + rng.IntN(topics-kept)
						opt := sub.Subscribe(topicOf(uint32(k)))
						if on[k] {
							opt = sub.Unsubscribe(topicOf(uint32(k)))
						}
						on[k] = !on[k]
						if err := s.SetOption(opt); err != nil {
							errs <- fmt.Errorf("subscriber %d: %w", i, err)
							return
						}
						time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
					}
				}()
				go func() { // receive
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(i)+200))
					var next [topics]uint64
					lossy := c.dialect == socket.DialectSP
					gaps := uint64(0) // on the kept topics
					for {
						m, err := recvWithin(ctx, s, 100*time.Millisecond)
						if err != nil {
							select {
							case <-done:
								// Quiet after the last message: done once
								// every message on the kept topics is
								// received or dropped (on a loaded machine
								// the last may still be on their way).
								missing, d := gaps, s.Stats().TotalDrops()-drops0[i]
								for tp := range uint32(kept) {
									missing += sent[tp] - next[tp]
								}
								if !lossy {
									d = 0
								}
								if missing <= d {
									return
								}
								if time.Now().After(doneBy) {
									errs <- fmt.Errorf("subscriber %d: %d messages missing on the kept topics, %d dropped", i, missing, d)
									return
								}
								continue
							default:
							}
							if ctx.Err() != nil {
								errs <- fmt.Errorf("subscriber %d: %w", i, err)
								return
							}
							continue
						}
						tp, seq, err := check(m.Body)
						m.Free()
						switch {
						case err != nil:
						case tp >= topics:
							err = fmt.Errorf("subscriber %d: a message on topic %d", i, tp)
						case tp < kept && !lossy && seq != next[tp]:
							err = fmt.Errorf("subscriber %d: topic %d: message %d, want %d", i, tp, seq, next[tp])
						case seq < next[tp]:
							err = fmt.Errorf("subscriber %d: topic %d: message %d after %d", i, tp, seq, next[tp]-1)
						}
						if err != nil {
							errs <- err
							return
						}
						if tp < kept {
							gaps += seq - next[tp]
						}
						next[tp] = seq + 1
						pause(rng)
					}
				}()
			}
			var counts [topics]uint64
			for range n {
				tp := rng.IntN(topics)
				m := socket.NewMessage(pickSize(rng))
				fill(m.Body, uint32(tp), counts[tp])
				if err := p.SendContext(ctx, m); err != nil {
					t.Fatal(err)
				}
				counts[tp]++
			}
			copy(sent, counts[:])
			doneBy = time.Now().Add(time.Minute)
			close(done)
			wg.Wait()
			failAll(t, errs)
		})
	}
}
