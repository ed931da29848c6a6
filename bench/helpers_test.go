package bench_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// setupTimeout bounds connecting and draining; runTimeout bounds one run of a
// benchmark body, so a lost message fails the benchmark instead of hanging it.
const (
	setupTimeout = 10 * time.Second
	runTimeout   = 5 * time.Minute
)

// size is a message size and the name of its sub-benchmark.
type size struct {
	name string
	n    int
}

var (
	sizes3 = []size{{"64B", 64}, {"1KiB", 1 << 10}, {"64KiB", 64 << 10}}
	sizes2 = []size{{"64B", 64}, {"1KiB", 1 << 10}}
)

// check fails b if err is not nil.
func check(b testing.TB, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// newSockets makes n sockets with mk, closing them when b ends (a socket
// already closed by the benchmark is fine).
func newSockets(b *testing.B, n int, mk func(...socket.Option) (*socket.Socket, error), opts ...socket.Option) []*socket.Socket {
	b.Helper()
	ss := make([]*socket.Socket, n)
	for i := range ss {
		var err error
		ss[i], err = mk(opts...)
		check(b, err)
		b.Cleanup(func() { ss[i].Close() })
	}
	return ss
}

// connect makes l listen on a fresh address of transport and every d dial
// it, then waits until l has len(ds) pipes and each d has one.
func connect(b *testing.B, transport string, l *socket.Socket, ds ...*socket.Socket) {
	b.Helper()
	var lopts []socket.ListenOption
	var dopts []socket.DialOption
	switch transport {
	case "tls+tcp", "wss":
		certs := testutil.NewTLSCerts(b)
		lopts = append(lopts, socket.ListenTLSConfig(certs.ServerConfig()))
		dopts = append(dopts, socket.DialTLSConfig(certs.ClientConfig()))
	case "curve+tcp": // ZMTP's CURVE over tcp: the dialers speak ZMTP
		srvPub, srvSec, err := zmtp.NewCurveKeyPair()
		check(b, err)
		check(b, l.SetOption(socket.CurveServer(srvSec, nil)))
		for _, d := range ds {
			pub, sec, err := zmtp.NewCurveKeyPair()
			check(b, err)
			check(b, d.SetOption(socket.DialDialect(socket.DialectZMTP), socket.CurveClient(srvPub, pub, sec)))
		}
		transport = "tcp"
	}
	ln, err := l.Listen(testutil.URL(b, transport), lopts...)
	check(b, err)
	for _, d := range ds {
		_, err := d.Dial(ln.URL(), dopts...)
		check(b, err)
	}
	waitPipes(b, l, len(ds))
	for _, d := range ds {
		waitPipes(b, d, 1)
	}
}

// waitPipes waits until s has at least n connected pipes.
func waitPipes(b *testing.B, s *socket.Socket, n int) {
	b.Helper()
	deadline := time.Now().Add(setupTimeout)
	for s.Stats().Pipes < n {
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d pipes after %v, want %d", s.Info().Name, s.Stats().Pipes, setupTimeout, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// closeAll closes the sockets, outside the timer.
func closeAll(ss ...*socket.Socket) {
	for _, s := range ss {
		s.Close()
	}
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// mallocs counts heap allocations, for allocs/msg: allocs/op is rounded
// down to a whole number, which hides an allocation made every few messages.
type mallocs uint64

func startMallocs() mallocs {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mallocs(ms.Mallocs)
}

// report reports allocs/msg, the heap allocations per message since start;
// call it after b.StopTimer.
func (start mallocs) report(b *testing.B) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Mallocs-uint64(start))/float64(b.N), "allocs/msg")
}

// window is how many messages a paced sender may have in flight ahead of its
// slowest receiver; pacedHWM, the high-water mark given to both ends, is
// above it, so no queue can overflow and nothing is dropped.
const (
	window   = 4096
	pacedHWM = 2 * window
	// progressEvery: a receiver pokes the paced sender each time it has
	// taken this many messages.
	progressEvery = 256
)

// oneWay is the body of every one-way benchmark: a sender goroutine sends
// b.N messages of size bytes on tx, and every socket in rxs receives all of
// them (rxs[0] on the benchmark goroutine, the others on their own). When
// paced is set (patterns that drop instead of blocking: pub, bus), the sender
// waits whenever it is window messages ahead of the slowest receiver, until
// that one is half a window behind. It
// reports msg/s (messages sent per second, each received by every rx) and,
// when paced, drops (total messages dropped, expected 0).
func oneWay(b *testing.B, tx *socket.Socket, rxs []*socket.Socket, size int, paced bool) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	got := make([]atomic.Int64, len(rxs))
	progress := make(chan struct{}, 1) // receivers poke the paced sender
	var sendErr, lost atomic.Value

	// drops returns the messages dropped so far on every socket involved.
	drops := func() uint64 {
		st := tx.Stats()
		n := st.TotalDrops()
		for _, r := range rxs {
			st := r.Stats()
			n += st.TotalDrops()
		}
		return n
	}
	slowest := func() int64 {
		m := got[0].Load()
		for i := 1; i < len(got); i++ {
			m = min(m, got[i].Load())
		}
		return m
	}

	b.SetBytes(int64(size))
	b.ReportAllocs()
	allocs := startMallocs()
	b.ResetTimer()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// wait waits for a receiver to make progress, or 10 ms; it
		// reports false when the run is over.
		tick := time.NewTimer(time.Hour)
		defer tick.Stop()
		wait := func() bool {
			tick.Reset(10 * time.Millisecond)
			defer tick.Stop()
			select {
			case <-progress:
			case <-tick.C:
			case <-ctx.Done():
				return false
			}
			return true
		}
		pacing := paced
		low := int64(0) // slowest receiver's count when last looked at
		for i := range b.N {
			if pacing && int64(i)-low >= window {
				// Wait until the slowest receiver is at most half a
				// window behind, then send on.
				for low = slowest(); int64(i)-low >= window/2; low = slowest() {
					if !wait() {
						return
					}
					if d := drops(); d > 0 {
						// Pacing cannot stop drops: give up on it
						// and let the end count what is lost.
						pacing = false
						break
					}
				}
			}
			m := socket.NewMessage(size)
			m.Body[0] = byte(i)
			if err := tx.SendContext(ctx, m); err != nil {
				m.Free()
				sendErr.Store(fmt.Errorf("send %d of %d: %w", i, b.N, err))
				cancel()
				return
			}
		}
		if !paced {
			return
		}
		// Wait until every message is received or accounted as dropped.
		want := uint64(b.N) * uint64(len(rxs))
		for {
			var n uint64
			for i := range got {
				n += uint64(got[i].Load())
			}
			if n == want {
				return
			}
			if d := drops(); d > 0 && n+d >= want {
				lost.Store(d)
				cancel()
				return
			}
			if !wait() {
				return
			}
		}
	}()
	recv := func(i int) error {
		for got[i].Load() < int64(b.N) {
			m, err := rxs[i].RecvContext(ctx)
			if err != nil {
				cancel() // stop the sender and the other receivers
				return err
			}
			m.Free()
			if n := got[i].Add(1); n%progressEvery == 0 || n == int64(b.N) {
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}
		return nil
	}
	errs := make([]error, len(rxs))
	for i := 1; i < len(rxs); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = recv(i)
		}()
	}
	errs[0] = recv(0)
	wg.Wait()
	reportRate(b)
	b.StopTimer()
	allocs.report(b)

	if err, _ := sendErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	if paced {
		d, _ := lost.Load().(uint64)
		b.ReportMetric(float64(d), "drops")
		if d > 0 {
			b.Logf("%d of %d messages dropped", d, uint64(b.N)*uint64(len(rxs)))
			return
		}
	}
	for i, err := range errs {
		if err != nil {
			b.Fatalf("receiver %d: got %d of %d: %v", i, got[i].Load(), b.N, err)
		}
	}
}

// roundTrips is the body of the request/reply benchmarks: the benchmark
// goroutine sends b.N requests of size bytes on req, each answered by a
// server goroutine on rep that sends the request back as the reply.
func roundTrips(b *testing.B, req, rep *socket.Socket, size int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	runRoundTrips(b, req, rep, size, ctx, cancel)
}

// plainRoundTrips is roundTrips through Send and Recv without a context, as
// programs ported from libzmq call them; the replier ends when rep closes.
func plainRoundTrips(b *testing.B, req, rep *socket.Socket, size int) {
	b.Helper()
	runRoundTrips(b, req, rep, size, nil, func() { rep.Close() })
}

// runRoundTrips times b.N requests and replies, sent and received with ctx,
// or with Send and Recv when ctx is nil; stop ends the replier.
func runRoundTrips(b *testing.B, req, rep *socket.Socket, size int, ctx context.Context, stop func()) {
	b.Helper()
	send := func(s *socket.Socket, m *socket.Message) error {
		if ctx == nil {
			return s.Send(m)
		}
		return s.SendContext(ctx, m)
	}
	recv := func(s *socket.Socket) (*socket.Message, error) {
		if ctx == nil {
			return s.Recv()
		}
		return s.RecvContext(ctx)
	}
	done := make(chan error, 1)
	go func() {
		for {
			m, err := recv(rep)
			if err != nil {
				done <- err
				return
			}
			if err := send(rep, m); err != nil {
				m.Free()
				done <- err
				return
			}
		}
	}()

	b.SetBytes(int64(size))
	b.ReportAllocs()
	allocs := startMallocs()
	b.ResetTimer()
	for i := range b.N {
		m := socket.NewMessage(size)
		m.Body[0] = byte(i)
		if err := send(req, m); err != nil {
			b.Fatalf("request %d: %v", i, err)
		}
		r, err := recv(req)
		if err != nil {
			b.Fatalf("reply %d: %v", i, err)
		}
		if len(r.Body) != size || r.Body[0] != byte(i) {
			b.Fatalf("reply %d: %d bytes starting %d", i, len(r.Body), r.Body[0])
		}
		r.Free()
	}
	reportRate(b)
	b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(b.N), "us/roundtrip")
	b.StopTimer()
	allocs.report(b)
	stop()
	<-done
}
