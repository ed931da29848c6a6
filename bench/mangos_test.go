package bench_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.nanomsg.org/mangos/v3"
	"go.nanomsg.org/mangos/v3/protocol/pull"
	"go.nanomsg.org/mangos/v3/protocol/push"
	"go.nanomsg.org/mangos/v3/protocol/rep"
	"go.nanomsg.org/mangos/v3/protocol/req"
	_ "go.nanomsg.org/mangos/v3/transport/ipc"
	_ "go.nanomsg.org/mangos/v3/transport/tcp"

	"github.com/mqwire/mqwire/internal/testutil"
)

// The Mangos benchmarks run the push/pull and req/rep cases of the mqwire
// benchmarks with mangos v3 on both ends, each library with its default
// queue lengths, for comparison on the same machine.

// mangosSocket is a mangos socket with a count of its attached pipes.
type mangosSocket struct {
	mangos.Socket
	pipes atomic.Int32
}

func newMangos(b *testing.B, mk func() (mangos.Socket, error)) *mangosSocket {
	b.Helper()
	s, err := mk()
	check(b, err)
	ms := &mangosSocket{Socket: s}
	s.SetPipeEventHook(func(ev mangos.PipeEvent, _ mangos.Pipe) {
		switch ev {
		case mangos.PipeEventAttached:
			ms.pipes.Add(1)
		case mangos.PipeEventDetached:
			ms.pipes.Add(-1)
		}
	})
	b.Cleanup(func() { s.Close() })
	return ms
}

// mangosURL returns a fresh address for transport (tcp or ipc).
func mangosURL(b *testing.B, transport string) string {
	if transport == "ipc" {
		return testutil.URL(b, "ipc")
	}
	return "tcp://127.0.0.1:0"
}

// connectMangos makes l listen on a fresh address and d dial it, and waits
// until both have their pipe.
func connectMangos(b *testing.B, transport string, l, d *mangosSocket) {
	b.Helper()
	ln, err := l.NewListener(mangosURL(b, transport), nil)
	check(b, err)
	check(b, ln.Listen())
	check(b, d.Dial(ln.Address()))
	deadline := time.Now().Add(setupTimeout)
	for l.pipes.Load() < 1 || d.pipes.Load() < 1 {
		if time.Now().After(deadline) {
			b.Fatalf("mangos: pipes not attached after %v", setupTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

func newMangosMessage(size int, i int) *mangos.Message {
	m := mangos.NewMessage(size)
	m.Body = m.Body[:size]
	m.Body[0] = byte(i)
	return m
}

// BenchmarkMangosPushPull is BenchmarkPushPull with mangos v3.
func BenchmarkMangosPushPull(b *testing.B) {
	for _, tr := range []string{"ipc", "tcp"} {
		for _, sz := range sizes2 {
			b.Run(tr+"/"+sz.name, func(b *testing.B) {
				tx := newMangos(b, push.NewSocket)
				rx := newMangos(b, pull.NewSocket)
				connectMangos(b, tr, rx, tx)
				mangosOneWay(b, tx, rx, sz.n)
				tx.Close()
				rx.Close()
			})
		}
	}
}

func mangosOneWay(b *testing.B, tx, rx *mangosSocket, size int) {
	b.Helper()
	var sendErr error
	var wg sync.WaitGroup

	b.SetBytes(int64(size))
	b.ReportAllocs()
	allocs := startMallocs()
	b.ResetTimer()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range b.N {
			m := newMangosMessage(size, i)
			if err := tx.SendMsg(m); err != nil {
				m.Free()
				sendErr = fmt.Errorf("send %d of %d: %w", i, b.N, err)
				rx.Close() // unblock the receiver
				return
			}
		}
	}()
	var recvErr error
	for i := range b.N {
		m, err := rx.RecvMsg()
		if err != nil {
			recvErr = fmt.Errorf("receive %d of %d: %w", i, b.N, err)
			tx.Close() // unblock the sender
			break
		}
		m.Free()
	}
	wg.Wait()
	reportRate(b)
	b.StopTimer()
	allocs.report(b)
	if sendErr != nil {
		b.Fatal(sendErr)
	}
	if recvErr != nil {
		b.Fatal(recvErr)
	}
}

// BenchmarkMangosReqRep is BenchmarkReqRep with mangos v3.
func BenchmarkMangosReqRep(b *testing.B) {
	for _, tr := range []string{"ipc", "tcp"} {
		for _, sz := range sizes2 {
			b.Run(tr+"/"+sz.name, func(b *testing.B) {
				rq := newMangos(b, req.NewSocket)
				rp := newMangos(b, rep.NewSocket)
				connectMangos(b, tr, rp, rq)
				mangosRoundTrips(b, rq, rp, sz.n)
				rq.Close()
				rp.Close()
			})
		}
	}
}

func mangosRoundTrips(b *testing.B, rq, rp *mangosSocket, size int) {
	b.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := rp.RecvMsg()
			if err != nil {
				return
			}
			if err := rp.SendMsg(m); err != nil {
				m.Free()
				return
			}
		}
	}()

	b.SetBytes(int64(size))
	b.ReportAllocs()
	allocs := startMallocs()
	b.ResetTimer()
	for i := range b.N {
		if err := rq.SendMsg(newMangosMessage(size, i)); err != nil {
			b.Fatalf("request %d: %v", i, err)
		}
		r, err := rq.RecvMsg()
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
	rp.Close()
	<-done
}
