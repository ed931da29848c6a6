package soak_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/inproc"
	_ "github.com/mqwire/mqwire/transport/ipc"
	_ "github.com/mqwire/mqwire/transport/shm"
	_ "github.com/mqwire/mqwire/transport/tcp"
)

// scale multiplies every case's message count under MQWIRE_SOAK=1.
func scale() int {
	if os.Getenv("MQWIRE_SOAK") == "1" {
		return 100
	}
	return 1
}

// A body is its sender (4 bytes), its sequence number (8), its length (4),
// then bytes that depend on all three.
const headLen = 16

// sizes are the body sizes a sender picks from: mostly small, and the
// edges of the readers' spans (1 KiB copied under the consumer's lock,
// 16 KiB read as a span or not), of a read chunk (64 KiB) and a few
// larger ones.
var sizes = []int{
	headLen, headLen + 1, 40, 64, 64, 64, 64, 100, 100, 200,
	1023, 1024, 1025, 4096,
	16<<10 - 1, 16 << 10, 16<<10 + 1, 64<<10 - 20, 70 << 10, 300 << 10,
}

// pickSize returns a body size, the large ones seldom.
func pickSize(r *rand.Rand) int {
	if r.IntN(8) != 0 {
		return sizes[r.IntN(10)]
	}
	return sizes[r.IntN(len(sizes))]
}

func fill(b []byte, id uint32, seq uint64) {
	binary.BigEndian.PutUint32(b, id)
	binary.BigEndian.PutUint64(b[4:], seq)
	binary.BigEndian.PutUint32(b[12:], uint32(len(b)))
	x := uint32(seq)*2654435761 + id*40503 + 1
	for i := headLen; i < len(b); i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
}

// check returns the sender and sequence number of a body, or an error if
// its bytes are not the ones fill wrote.
func check(b []byte) (id uint32, seq uint64, err error) {
	if len(b) < headLen {
		return 0, 0, fmt.Errorf("a body of %d bytes", len(b))
	}
	id, seq = binary.BigEndian.Uint32(b), binary.BigEndian.Uint64(b[4:])
	if n := binary.BigEndian.Uint32(b[12:]); int(n) != len(b) {
		return id, seq, fmt.Errorf("sender %d message %d: %d bytes, its header says %d", id, seq, len(b), n)
	}
	want := make([]byte, len(b))
	fill(want, id, seq)
	for i := headLen; i < len(b); i++ {
		if b[i] != want[i] {
			return id, seq, fmt.Errorf("sender %d message %d (%d bytes): byte %d is %#x, want %#x", id, seq, len(b), i, b[i], want[i])
		}
	}
	return id, seq, nil
}

type transportCase struct {
	transport string
	dialect   socket.Dialect
}

func (c transportCase) String() string { return c.transport + "/" + c.dialect.String() }

// cases are the transports and dialects every soak runs over. inproc
// carries messages, not a dialect's bytes: once is enough.
func cases() []transportCase {
	cs := []transportCase{{"inproc", socket.DialectSP}}
	trs := []string{"ipc", "tcp"}
	if runtime.GOOS == "linux" {
		trs = append(trs, "shm")
	}
	for _, tr := range trs {
		for _, d := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
			cs = append(cs, transportCase{tr, d})
		}
	}
	return cs
}

func url(t *testing.T, tr string) string {
	if tr == "shm" {
		return "shm://" + testutil.ShortTempDir(t) + "/s.sock"
	}
	return testutil.URL(t, tr)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// pause sleeps now and then, so that queues fill and the reading changes
// hands between the pipes' readers and the application.
func pause(r *rand.Rand) {
	switch r.IntN(200) {
	case 0:
		time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
	case 1, 2, 3:
		runtime.Gosched()
	}
}

// recvCtx returns a context for one Recv: mostly none, sometimes a
// deadline, sometimes one so short that the Recv may give up (the caller
// then tries again).
func recvCtx(parent context.Context, r *rand.Rand) (context.Context, context.CancelFunc) {
	switch r.IntN(10) {
	case 0:
		return context.WithTimeout(parent, time.Duration(r.IntN(200))*time.Microsecond)
	case 1, 2:
		return context.WithTimeout(parent, time.Minute)
	}
	return parent, func() {}
}

// failAll closes errs and fails t with each error it holds.
func failAll(t *testing.T, errs chan error) {
	t.Helper()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// recvWithin receives from s, waiting at most d.
func recvWithin(ctx context.Context, s *socket.Socket, d time.Duration) (*socket.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return s.RecvContext(ctx)
}

// greet publishes messages made by hello on p until each subscriber of ss
// has received one, then discards the copies still arriving: after it,
// the publisher has every subscription made before.
func greet(t *testing.T, ctx context.Context, p *socket.Socket, ss []*socket.Socket, hello func() *socket.Message) {
	t.Helper()
	for i, s := range ss {
		for {
			if err := p.SendContext(ctx, hello()); err != nil {
				t.Fatal(err)
			}
			if m, err := recvWithin(ctx, s, 20*time.Millisecond); err == nil {
				m.Free()
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("subscriber %d never got a message", i)
			}
		}
	}
	for _, s := range ss {
		for {
			m, err := recvWithin(ctx, s, 20*time.Millisecond)
			if err != nil {
				break
			}
			m.Free()
		}
	}
}

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
				defer testutil.CheckGoroutines(t)
				seed := uint64(time.Now().UnixNano())
				rng := rand.New(rand.NewPCG(seed, 1))
				hwm := []int{1, 4, 16, 100}[rng.IntN(4)]
				t.Logf("seed %d, RecvHWM %d", seed, hwm)
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
				defer testutil.CheckGoroutines(t)
				seed := uint64(time.Now().UnixNano())
				rng := rand.New(rand.NewPCG(seed, 1))
				t.Logf("seed %d", seed)
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

// TestReqRep: clients (req sockets, and over SP also the contexts of one
// req socket) each send requests one at a time to a rep socket served by
// several rep contexts that echo them after random pauses. Every reply is
// its own request's, byte for byte.
func TestReqRep(t *testing.T) {
	n := 150 * scale()
	for _, c := range cases() {
		t.Run(c.String(), func(t *testing.T) {
			defer testutil.CheckGoroutines(t)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
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

// TestChurn: senders come and go while a pull reads: each dials, sends a
// few messages, and closes with a linger long enough to deliver them.
// Every message of every sender arrives, whole and in its sender's order,
// and nothing of a closed connection is left running.
func TestChurn(t *testing.T) {
	rounds := 30 * scale()
	for _, c := range cases() {
		t.Run(c.String(), func(t *testing.T) {
			defer testutil.CheckGoroutines(t)
			seed := uint64(time.Now().UnixNano())
			rng := rand.New(rand.NewPCG(seed, 1))
			t.Logf("seed %d", seed)
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
			defer testutil.CheckGoroutines(t)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
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

// TestRestart: a pull goes away and comes back at the same address, again
// and again, while a push that dialed it keeps sending and reconnects.
// What was in flight when a pull closed is lost with it; everything that
// arrives is whole and in order, every restarted pull gets messages, and
// the push never fails.
func TestRestart(t *testing.T) {
	restarts := 8 * scale()
	for _, c := range cases() {
		t.Run(c.String(), func(t *testing.T) {
			defer testutil.CheckGoroutines(t)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
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
			defer testutil.CheckGoroutines(t)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
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
			defer testutil.CheckGoroutines(t)
			seed := uint64(time.Now().UnixNano())
			rng := rand.New(rand.NewPCG(seed, 1))
			t.Logf("seed %d", seed)
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
					drops0 := s.Stats().TotalDrops()
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
								missing, d := gaps, s.Stats().TotalDrops()-drops0
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
			defer testutil.CheckGoroutines(t)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
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
			defer testutil.CheckGoroutines(t)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
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
