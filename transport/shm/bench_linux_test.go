package shm_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/shm"
	"github.com/mqwire/mqwire/wire/sp"
)

// benchTransports are compared side by side in each benchmark.
var benchTransports = []string{"shm", "shm-nospin", "ipc"}

func benchURL(b *testing.B, tr string) string {
	switch tr {
	case "shm":
		return shmURL(b)
	case "shm-nospin":
		return shmURL(b) + "?spin=0"
	}
	return testutil.URL(b, tr)
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPushPull64 sends 64-byte messages one way, both sockets in this
// process, and reports the rate.
func BenchmarkPushPull64(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr, func(b *testing.B) {
			rx, tx := must(pull.New()), must(push.New())
			defer rx.Close()
			defer tx.Close()
			l := must(rx.Listen(benchURL(b, tr)))
			must(tx.Dial(l.URL()))
			body := make([]byte, 64)
			ctx := context.Background()
			done := make(chan error, 1)
			b.ResetTimer()
			go func() {
				for range b.N {
					m, err := rx.RecvContext(ctx)
					if err != nil {
						done <- err
						return
					}
					m.Free()
				}
				done <- nil
			}()
			for range b.N {
				if err := tx.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			reportRate(b)
		})
	}
}

// BenchmarkReqRep64 measures 64-byte round trips: ns/op is one round trip,
// twice the one-way latency.
func BenchmarkReqRep64(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr, func(b *testing.B) {
			server, client := must(rep.New()), must(req.New())
			defer server.Close()
			defer client.Close()
			l := must(server.Listen(benchURL(b, tr)))
			must(client.Dial(l.URL()))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for {
					m, err := server.RecvContext(ctx)
					if err != nil {
						return
					}
					if server.SendContext(ctx, m) != nil {
						return
					}
				}
			}()
			body := make([]byte, 64)
			// One round trip first, so that set-up is not timed.
			must(0, client.SendContext(ctx, socket.NewMessageBytes(body)))
			must(client.RecvContext(ctx)).Free()
			b.ResetTimer()
			for range b.N {
				if err := client.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
					b.Fatal(err)
				}
				m, err := client.RecvContext(ctx)
				if err != nil {
					b.Fatal(err)
				}
				m.Free()
			}
			reportRate(b)
		})
	}
}

// BenchmarkStream64 writes 64-byte chunks on the bare stream (no socket,
// no framing): what the transport itself carries, shm against a Unix
// socket.
func BenchmarkStream64(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr, func(b *testing.B) {
			path := filepath.Join(testutil.ShortTempDir(b), "b.sock")
			var l interface {
				Accept() (net.Conn, error)
				Close() error
			}
			var dial func() (net.Conn, error)
			if tr != "ipc" {
				if tr == "shm-nospin" {
					path += "?spin=0"
				}
				l = must(shm.ListenRaw(path))
				dial = func() (net.Conn, error) { return shm.DialRaw(context.Background(), path) }
			} else {
				l = must(net.Listen("unix", path))
				dial = func() (net.Conn, error) { return net.Dial("unix", path) }
			}
			defer l.Close()
			accepted := make(chan net.Conn, 1)
			go func() { c, _ := l.Accept(); accepted <- c }()
			w := must(dial())
			r := <-accepted
			defer r.Close()
			defer w.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 64<<10)
				want := int64(b.N) * 64
				for got := int64(0); got < want; {
					r.SetReadDeadline(time.Now().Add(timeout))
					n, err := r.Read(buf)
					if err != nil && err != io.EOF {
						return
					}
					got += int64(n)
				}
			}()
			chunk := make([]byte, 64)
			b.SetBytes(64)
			b.ResetTimer()
			for range b.N {
				if _, err := w.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			<-done
			reportRate(b)
		})
	}
}

// BenchmarkStreamPingPong64 bounces 64 bytes on the bare stream: ns/op is
// one round trip, each side waiting (spinning, then parked) for the other.
func BenchmarkStreamPingPong64(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr, func(b *testing.B) {
			r, w := rawPair(b, tr)
			go func() {
				buf := make([]byte, 64)
				for {
					if _, err := io.ReadFull(r, buf); err != nil {
						return
					}
					if _, err := r.Write(buf); err != nil {
						return
					}
				}
			}()
			buf := make([]byte, 64)
			b.ResetTimer()
			for range b.N {
				if _, err := w.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(w, buf); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b)
		})
	}
}

// rawPair connects two bare streams of transport tr; they close when b
// ends.
func rawPair(b *testing.B, tr string) (net.Conn, net.Conn) {
	path := filepath.Join(testutil.ShortTempDir(b), "b.sock")
	var l interface {
		Accept() (net.Conn, error)
		Close() error
	}
	var dial func() (net.Conn, error)
	if tr != "ipc" {
		if tr == "shm-nospin" {
			path += "?spin=0"
		}
		l = must(shm.ListenRaw(path))
		dial = func() (net.Conn, error) { return shm.DialRaw(context.Background(), path) }
	} else {
		l = must(net.Listen("unix", path))
		dial = func() (net.Conn, error) { return net.Dial("unix", path) }
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := l.Accept(); accepted <- c }()
	w := must(dial())
	r := <-accepted
	b.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// BenchmarkPacedReqRep64 sends a 64-byte request every 500 µs (2000 a
// second, both sockets in this process) and reports the CPU time the
// process spends per round trip: what spinning costs when traffic is
// sparse. Each round trip lets four waiters run dry (both pipes' readers,
// twice), and each spins for up to the spin time before parking.
func BenchmarkPacedReqRep64(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr, func(b *testing.B) {
			server, client := must(rep.New()), must(req.New())
			defer server.Close()
			defer client.Close()
			l := must(server.Listen(benchURL(b, tr)))
			must(client.Dial(l.URL()))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for {
					m, err := server.RecvContext(ctx)
					if err != nil || server.SendContext(ctx, m) != nil {
						return
					}
				}
			}()
			body := make([]byte, 64)
			must(0, client.SendContext(ctx, socket.NewMessageBytes(body)))
			must(client.RecvContext(ctx)).Free()
			tick := time.NewTicker(500 * time.Microsecond)
			defer tick.Stop()
			before := testutil.CPUTime()
			b.ResetTimer()
			for range b.N {
				<-tick.C
				if err := client.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
					b.Fatal(err)
				}
				m, err := client.RecvContext(ctx)
				if err != nil {
					b.Fatal(err)
				}
				m.Free()
			}
			b.ReportMetric(float64(testutil.CPUTime()-before)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}

// BenchmarkStreamPingPongCrossProcess64 bounces 64 bytes on the bare stream
// with a peer process (this test binary re-executed): ns/op is one round
// trip, the transport's own latency without any socket around it.
func BenchmarkStreamPingPongCrossProcess64(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr, func(b *testing.B) {
			path := filepath.Join(testutil.ShortTempDir(b), "p.sock")
			var l interface {
				Accept() (net.Conn, error)
				Close() error
			}
			url := "unix://" + path
			if tr != "ipc" {
				if tr == "shm-nospin" {
					path += "?spin=0"
				}
				l = must(shm.ListenRaw(path))
				url = "shm://" + path
			} else {
				l = must(net.Listen("unix", path))
			}
			defer l.Close()
			startPeer(b, "rawecho", url, "", 0)
			c := must(l.Accept())
			defer c.Close()
			buf := make([]byte, 64)
			for range 100 { // warm up
				must(c.Write(buf))
				must(io.ReadFull(c, buf))
			}
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N)/1000, "us-one-way")
		})
	}
}

// BenchmarkOneSide64 runs one side of a push/pull stream of 64-byte messages
// over shm against a bare peer that does next to nothing (it drains the
// ring, or floods it with messages framed in advance): the rate of that
// side alone. A change to one side can be judged here when the pair's rate
// is bound by the other (an mqperf pair over shm is bound by both sides in
// turn, as their costs are close).
func BenchmarkOneSide64(b *testing.B) {
	b.Run("sender", func(b *testing.B) {
		path := filepath.Join(testutil.ShortTempDir(b), "b.sock")
		l := must(shm.ListenRaw(path))
		defer l.Close()
		tx := must(push.New())
		defer tx.Close()
		must(tx.Dial("shm://" + path))
		c := must(l.Accept())
		defer c.Close()
		if _, err := c.Write(sp.AppendHeader(nil, sp.ProtoPull0)); err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, 256<<10)
			want := 8 + int64(b.N)*(8+64) // the handshake, then framed messages
			for got := int64(0); got < want; {
				n, err := c.Read(buf)
				if err != nil {
					done <- err
					return
				}
				got += int64(n)
			}
			done <- nil
		}()
		b.ResetTimer()
		for range b.N {
			if err := tx.Send(socket.NewMessage(64)); err != nil {
				b.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		reportRate(b)
	})
	b.Run("receiver", func(b *testing.B) {
		path := filepath.Join(testutil.ShortTempDir(b), "b.sock")
		rx := must(pull.New())
		defer rx.Close()
		must(rx.Listen("shm://" + path))
		c := must(shm.DialRaw(context.Background(), path))
		defer c.Close()
		if _, err := c.Write(sp.AppendHeader(nil, sp.ProtoPush0)); err != nil {
			b.Fatal(err)
		}
		batch := make([]byte, 0, 1024*(8+64))
		for range 1024 {
			batch = binary.BigEndian.AppendUint64(batch, 64)
			batch = append(batch, make([]byte, 64)...)
		}
		go func() {
			for left := b.N; left > 0; left -= 1024 {
				k := min(left, 1024)
				if _, err := c.Write(batch[:k*(8+64)]); err != nil {
					rx.Close() // the receive below fails
					return
				}
			}
		}()
		b.ResetTimer()
		for range b.N {
			m, err := rx.Recv()
			if err != nil {
				b.Fatal(err)
			}
			m.Free()
		}
		reportRate(b)
	})
}
