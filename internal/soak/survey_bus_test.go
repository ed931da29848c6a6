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

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
)

// TestSurvey: a surveyor runs survey after survey among three respondents,
// some of whose answers come too late for theirs. Every answer the
// surveyor gets is whole and answers the survey under way, and no
// respondent answers one survey twice.
func TestSurvey(t *testing.T) {
	surveys := 60 * scale()
	for _, c := range cases() {
		if c.dialect != socket.DialectSP {
			continue // surveys are SP's
		}
		t.Run(c.transport, func(t *testing.T) {
			seed := begin(t)
			const surveyTime = 30 * time.Millisecond
			s := must(surveyor.New(surveyor.SurveyTime(surveyTime), socket.MaxRecvSize(1<<20)))
			defer s.Close()
			ln := must(s.Listen(url(t, c.transport)))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const respondents = 3
			var wg sync.WaitGroup
			errs := make(chan error, respondents)
			for id := range respondents {
				r := must(respondent.New(socket.MaxRecvSize(1 << 20)))
				defer r.Close()
				must(r.Dial(ln.URL()))
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(id)+2))
					for {
						m, err := r.RecvContext(ctx)
						if err != nil {
							return // the test is over
						}
						sid, seq, err := check(m.Body)
						m.Free()
						if err == nil && sid != 99 {
							err = fmt.Errorf("respondent %d: a survey from %d", id, sid)
						}
						if err != nil {
							errs <- err
							return
						}
						if rng.IntN(30) == 0 {
							time.Sleep(2 * surveyTime) // too late
						}
						a := socket.NewMessage(pickSize(rng))
						fill(a.Body, uint32(id), seq)
						if err := r.SendContext(ctx, a); err != nil {
							return
						}
					}
				}()
			}
			// Every respondent must be there before the count starts.
			testutil.WaitFor(t, "respondents", 10*time.Second, func() bool { return len(s.PipeStats()) == respondents })
			full := 0
			for seq := range uint64(surveys) {
				m := socket.NewMessage(headLen + 8)
				fill(m.Body, 99, seq)
				if err := s.SendContext(ctx, m); err != nil {
					t.Fatal(err)
				}
				var answered [respondents]bool
				n := 0
				for n < respondents {
					a, err := s.RecvContext(ctx)
					if errors.Is(err, socket.ErrTimeout) {
						break
					}
					if err != nil {
						t.Fatalf("survey %d: %v", seq, err)
					}
					id, aseq, err := check(a.Body)
					a.Free()
					if err == nil && (id >= respondents || aseq != seq || answered[id]) {
						err = fmt.Errorf("survey %d: answer %d from respondent %d (answered already: %v)", seq, aseq, id, id < respondents && answered[id])
					}
					if err != nil {
						t.Fatal(err)
					}
					answered[id] = true
					n++
				}
				if n == respondents {
					full++
				}
			}
			cancel()
			wg.Wait()
			failAll(t, errs)
			t.Logf("%d surveys, %d answered by all; %d late answers dropped", surveys, full, s.Stats().TotalDrops())
			if full == 0 {
				t.Error("no survey was answered by every respondent")
			}
		})
	}
}

// TestBus: four bus sockets, each connected to every other (the first two
// listen, the others dial them, and the second dials the first), all send
// at once. A peer whose queue is full misses a message and counts it as a
// drop; what arrives is whole, from a direct peer, never its own, and in
// each sender's order, and every message sent is either received by each
// other node or counted as dropped by one of the two ends.
func TestBus(t *testing.T) {
	n := 1000 * scale()
	for _, c := range cases() {
		if c.dialect != socket.DialectSP {
			continue // bus is SP's
		}
		t.Run(c.transport, func(t *testing.T) {
			seed := begin(t)
			const nodes = 4
			var bs []*socket.Socket
			for range nodes {
				b := must(bus.New(socket.RecvHWM(8), socket.SendHWM(8), socket.MaxRecvSize(1<<20)))
				defer b.Close()
				bs = append(bs, b)
			}
			l0 := must(bs[0].Listen(url(t, c.transport)))
			l1 := must(bs[1].Listen(url(t, c.transport)))
			must(bs[1].Dial(l0.URL()))
			for _, b := range bs[2:] {
				must(b.Dial(l0.URL()))
				must(b.Dial(l1.URL()))
			}
			// Nodes 2 and 3 are not connected to each other: a mesh
			// less one edge, so that "not further" is checked too.
			peers := func(i int) int {
				if i >= 2 {
					return 2
				}
				return 3
			}
			for i, b := range bs {
				testutil.WaitFor(t, "the mesh", 10*time.Second, func() bool { return len(b.PipeStats()) == peers(i) })
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			connected := func(a, b int) bool { return a != b && !(a >= 2 && b >= 2) }

			var got [nodes][nodes]atomic.Uint64 // got[to][from]
			done := make(chan struct{})
			errs := make(chan error, 2*nodes)
			var senders, receivers sync.WaitGroup
			for i, b := range bs {
				senders.Add(1)
				receivers.Add(1)
				go func() {
					defer senders.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(i)+2))
					for seq := range uint64(n) {
						m := socket.NewMessage(pickSize(rng))
						fill(m.Body, uint32(i), seq)
						if err := b.SendContext(ctx, m); err != nil {
							errs <- fmt.Errorf("node %d message %d: %w", i, seq, err)
							return
						}
						if seq%8 == 7 { // paced, so that most messages arrive
							time.Sleep(100 * time.Microsecond)
						}
						pause(rng)
					}
				}()
				go func() {
					defer receivers.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(i)+100))
					var next [nodes]uint64
					for {
						m, err := recvWithin(ctx, b, 50*time.Millisecond)
						if err != nil {
							select {
							case <-done:
								return
							default:
							}
							if ctx.Err() != nil {
								errs <- fmt.Errorf("node %d: %w", i, err)
								return
							}
							continue
						}
						from, seq, err := check(m.Body)
						m.Free()
						switch {
						case err != nil:
						case from >= nodes || !connected(i, int(from)):
							err = fmt.Errorf("node %d: a message from node %d", i, from)
						case seq < next[from]:
							err = fmt.Errorf("node %d: node %d's message %d after %d", i, from, seq, next[from]-1)
						}
						if err != nil {
							errs <- err
							return
						}
						next[from] = seq + 1
						got[i][from].Add(1)
						pause(rng)
					}
				}()
			}
			senders.Wait()
			// Wait until every message is accounted for.
			var drops0 uint64 // drops at the start are none: the sockets are new
			accounted := func() (sum, want uint64) {
				for i, b := range bs {
					sum += b.Stats().TotalDrops() - drops0
					for from := range nodes {
						sum += got[i][from].Load()
					}
					want += uint64(peers(i)) * uint64(n)
				}
				return sum, want
			}
			deadline := time.Now().Add(time.Minute)
			for sum, want := accounted(); sum < want && time.Now().Before(deadline); sum, want = accounted() {
				time.Sleep(5 * time.Millisecond)
			}
			close(done)
			receivers.Wait()
			failAll(t, errs)
			sum, want := accounted()
			if sum != want {
				t.Errorf("received and dropped %d of %d", sum, want)
			}
			var drops uint64
			for _, b := range bs {
				drops += b.Stats().TotalDrops()
			}
			t.Logf("%d of %d received, %d dropped", sum-drops, want, drops)
		})
	}
}
