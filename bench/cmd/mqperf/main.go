// Command mqperf measures throughput and latency the way libzmq's perf tools
// do, so that figures compare directly with theirs and with nng's:
//
//	mqperf [flags] local_thr  <bind-url>    <size> <count>       # PULL (or the -pattern's receiver), binds, prints throughput
//	mqperf [flags] remote_thr <connect-url> <size> <count>       # PUSH (or the -pattern's sender), connects
//	mqperf [flags] local_lat  <bind-url>    <size> <roundtrips>  # REP (or PAIR), binds, echoes every message
//	mqperf [flags] remote_lat <connect-url> <size> <roundtrips>  # REQ (or PAIR), connects, prints latency
//	mqperf [flags] inproc_thr <size> <count>       # both ends in this process, inproc transport
//	mqperf [flags] inproc_lat <size> <roundtrips>
//
// Flags:
//
//	-zmtp             speak ZMTP (libzmq's protocol) when connecting; the default is SP
//	                  (nng's). Binding ends accept both dialects either way.
//	-pattern push|pair|pub   throughput pattern (default push: push/pull); pub is
//	                  pub/sub with an empty subscription, the sender waiting 0.5 s
//	                  for the subscription before sending and then waiting for
//	                  room (pub.NoDrop); an SP subscriber still drops what its
//	                  queue has no room for, as nng's does, so the receiving end
//	                  stops once nothing has come for a second and says how
//	                  many were lost
//	-pattern reqrep|pair     latency pattern (default reqrep)
//	-hwm n            send and receive high-water marks (default 1000, libzmq's)
//	-recvspin d       socket.RecvSpin: how long a receiving end reading its tcp
//	                  connection itself polls before it parks (default 0,
//	                  the library's: never)
//	(tls+tcp:// urls: the binding end serves a fixed published certificate,
//	the connecting end does not check it; see benchCertPEM)
//	-curve            CURVE security: the binding end is the server, the connecting
//	                  end its client, with fixed keys (bench/peers/zmqperf.c's -curve)
//	-cpuprofile file  write a CPU profile of the run (go tool pprof)
//	-trace file       write an execution trace of the run (go tool trace)
//	-cpu              print the process's user and system CPU time at the end
//
// The throughput clock starts when the first message arrives and stops at
// the last, as in libzmq's local_thr; the latency is one way, the elapsed time
// over twice the round trips. Output lines are libzmq's:
//
//	message size: 64 [B]
//	message count: 1000000
//	mean throughput: 2500000 [msg/s]
//	mean throughput: 1280.000 [Mb/s]
//
//	message size: 64 [B]
//	roundtrip count: 10000
//	average latency: 30.000 [us]
//
// Both ends really send and receive every message, each of exactly size
// bytes; the receiving ends check the size. The connecting ends retry until
// the other end listens, and the sending ends linger until every message is
// handed over. The ends run against libzmq's and nng's own perf tools and
// against bench/perfpeer's other ends (tcp://, ipc:// and inproc://).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/mqwire/mqwire/bench/internal/perfcmd"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
	wzmtp "github.com/mqwire/mqwire/wire/zmtp"
)

var (
	zmtp  = flag.Bool("zmtp", false, "speak ZMTP (libzmq's protocol) when connecting; default SP")
	hwm   = flag.Int("hwm", 1000, "send and receive high-water marks")
	spin  = flag.Duration("recvspin", 0, "socket.RecvSpin: how long a receiving end reading tcp through polls before it parks")
	curve = flag.Bool("curve", false, "CURVE: the binding end is the server, the connecting end its client (fixed keys, as bench/peers/zmqperf.c's -curve); implies -zmtp")
)

// The key pairs of -curve, in Z85: made for benchmarks and published here
// (and in bench/peers/zmqperf.c), so secret from nobody.
const (
	curveServerPublic = "G4FRl0QELd06YOX^cZ%8SFXHpB9#ODWPK7OHvF>4"
	curveServerSecret = "!^C:t9]I?!)$i+$U8)/l2{f&RrRk?<O7+e-1nO0S"
	curveClientPublic = "28okAfHHOGzWc[BpeBkwR3r6kahhf3-e>rw)4Q*f"
	curveClientSecret = "S>VLdi(>r6G0VPEXoxMkSzXTy<c0Dm%iX=Co]dy+"
)

// benchCertPEM is the listener's certificate and key on tls+tcp
// (self-signed, made for benchmarks and published here and in
// bench/peers/nngperf.c, so secret from nobody). A dialer does not check
// it: what is measured starts after the handshake.
const benchCertPEM = `-----BEGIN CERTIFICATE-----
MIIBqDCCAU2gAwIBAgIBATAKBggqhkjOPQQDAjAcMRowGAYDVQQDExFtcXdpcmUg
YmVuY2htYXJrczAgFw0yNjAxMDEwMDAwMDBaGA8yMTI2MDEwMTAwMDAwMFowHDEa
MBgGA1UEAxMRbXF3aXJlIGJlbmNobWFya3MwWTATBgcqhkjOPQIBBggqhkjOPQMB
BwNCAARuyF/H4VgzwaMUy4jsinj95et2aXvLfr4Oy3cyLFVRbymddGJvRgzBpRiy
qJi8dUzMS26RaZc9dG3lYJgFQfwTo34wfDAOBgNVHQ8BAf8EBAMCAoQwEwYDVR0l
BAwwCgYIKwYBBQUHAwEwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUgQHz8boQ
5N8BEXa2vAwJgcy7AQYwJQYDVR0RBB4wHIIJbG9jYWxob3N0ggkxMjcuMC4wLjGH
BH8AAAEwCgYIKoZIzj0EAwIDSQAwRgIhAL34J4Dv+nKFk2wCGZIY4o1E3NpmVGH4
sDcpYHeAsDJjAiEAu+wcJyr7gn+k0B/F6q/XraQqrRDwBKJYpuIpof+3kJQ=
-----END CERTIFICATE-----
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEILnLUCaQYnCXw4yBlgte/8UqCAXFn7KKF9ppS4YJVG0IoAoGCCqGSM49
AwEHoUQDQgAEbshfx+FYM8GjFMuI7Ip4/eXrdml7y36+Dst3MixVUW8pnXRib0YM
waUYsqiYvHVMzEtukWmXPXRt5WCYBUH8Ew==
-----END EC PRIVATE KEY-----`

// tlsOption is the TLSConfig of a binding end (the certificate) or a
// connecting one (no check of it).
func tlsOption(server bool) socket.Option {
	if !server {
		return socket.TLSConfig(&tls.Config{InsecureSkipVerify: true})
	}
	pair, err := tls.X509KeyPair([]byte(benchCertPEM), []byte(benchCertPEM))
	if err != nil {
		panic(err)
	}
	return socket.TLSConfig(&tls.Config{Certificates: []tls.Certificate{pair}})
}

// curveOption is the CURVE option of a binding end (server) or a
// connecting one (client).
func curveOption(server bool) socket.Option {
	key := func(s string) wzmtp.CurveKey {
		k, err := wzmtp.ParseCurveKey(s)
		if err != nil {
			panic(err)
		}
		return k
	}
	if server {
		return socket.CurveServer(key(curveServerSecret), nil)
	}
	return socket.CurveClient(key(curveServerPublic), key(curveClientPublic), key(curveClientSecret))
}

func main() {
	perfcmd.Main(perfcmd.Ends{
		Name:       "mqperf",
		Transports: []string{"inproc", "ipc", "tcp", "shm", "tls+tcp", "ws"},
		LocalThr:   localThr,
		RemoteThr:  remoteThr,
		LocalLat:   localLat,
		RemoteLat:  remoteLat,
	})
}

// opts returns the options every socket gets (the high-water marks of the
// directions it has), plus extra.
func opts(send, recv bool, extra ...socket.Option) []socket.Option {
	// No receive limit, as libzmq's default: the 1 MiB default counts the
	// protocol header, so 1 MiB requests would be refused.
	o := []socket.Option{socket.MaxRecvSize(0)}
	if send {
		o = append(o, socket.SendHWM(*hwm))
	}
	if recv {
		o = append(o, socket.RecvHWM(*hwm), socket.RecvSpin(*spin))
	}
	if *zmtp {
		o = append(o, socket.DialDialect(socket.DialectZMTP))
	}
	return append(o, extra...)
}

func newSocket(pattern string, sending bool) (*socket.Socket, error) {
	// Senders linger without limit: Close returns once all is handed over.
	var linger []socket.Option
	if sending {
		linger = append(linger, socket.Linger(-1))
	}
	switch {
	case pattern == "push" && sending:
		return push.New(opts(true, false, linger...)...)
	case pattern == "push":
		return pull.New(opts(false, true)...)
	case pattern == "pub" && sending:
		return pub.New(opts(true, false, append(linger, pub.NoDrop(true))...)...)
	case pattern == "pub":
		return sub.New(opts(false, true, sub.Subscribe(nil))...)
	case pattern == "pair":
		return pair.New(opts(true, true, linger...)...)
	case pattern == "reqrep" && sending:
		return req.New(opts(true, true, linger...)...)
	case pattern == "reqrep":
		return rep.New(opts(true, true, linger...)...)
	}
	return nil, fmt.Errorf("unknown pattern %q", pattern)
}

// secure gives s CURVE (-curve) and, on a tls+tcp url, TLS, as the
// binding end (server) or the connecting one.
func secure(s *socket.Socket, url string, server bool) error {
	if *curve {
		if err := s.SetOption(curveOption(server)); err != nil {
			return err
		}
	}
	if strings.HasPrefix(url, "tls+") {
		return s.SetOption(tlsOption(server))
	}
	return nil
}

func listen(pattern string, sending bool, url string, ready func()) (*socket.Socket, error) {
	s, err := newSocket(pattern, sending)
	if err != nil {
		return nil, err
	}
	if err := secure(s, url, true); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := s.Listen(url); err != nil {
		s.Close()
		return nil, err
	}
	if ready != nil {
		ready()
	}
	return s, nil
}

// dial connects; mqwire's dialer retries in the background until the
// listener is there.
func dial(pattern string, url string) (*socket.Socket, error) {
	s, err := newSocket(pattern, true)
	if err != nil {
		return nil, err
	}
	if err := secure(s, url, false); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := s.Dial(url); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func localThr(url, pattern string, size, count int, ready func()) (int, time.Duration, error) {
	s, err := listen(pattern, false, url, ready)
	if err != nil {
		return 0, 0, err
	}
	var w *perfcmd.IdleStop // a pub run may lose messages: it ends when they stop
	if pattern == "pub" {
		w = perfcmd.WatchIdle(func() { s.Close() })
	}
	defer s.Close()
	defer w.End()
	var start, last time.Time
	n := 0
	for ; n < count; n++ {
		m, err := s.Recv()
		if err != nil {
			if w.Stopped() {
				return n, last.Sub(start), nil
			}
			return 0, 0, err
		}
		if n == 0 {
			start = time.Now()
		}
		if w != nil {
			w.Got()
			last = time.Now()
		}
		if n := len(m.Body); n != size || len(m.Frames) != 0 {
			return 0, 0, perfcmd.SizeError(m.Len(), size)
		}
		m.Free()
	}
	return n, time.Since(start), nil
}

func remoteThr(url, pattern string, size, count int) error {
	s, err := dial(pattern, url)
	if err != nil {
		return err
	}
	if pattern == "pub" {
		// A publisher drops what nobody subscribed to: wait for the
		// subscriber, then a moment for its subscription to arrive.
		for s.Stats().Pipes == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for range count {
		if err := s.Send(socket.NewMessage(size)); err != nil {
			s.Close()
			return err
		}
	}
	// Wait until the receiver, having everything, closes the connection (at
	// most 10 s), then close; Linger(-1) makes Close wait until every message
	// is handed over in any case. The wait matters to a libzmq receiver over
	// ipc: one whose high-water mark is reached when the sender closes drops
	// the connection with messages still unread in the socket buffer (its own
	// senders lose messages the same way).
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Pipes > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return s.Close()
}

func localLat(url, pattern string, size, count int, ready func()) error {
	s, err := listen(pattern, false, url, ready)
	if err != nil {
		return err
	}
	for range count {
		m, err := s.Recv()
		if err != nil {
			s.Close()
			return err
		}
		if len(m.Body) != size || len(m.Frames) != 0 {
			s.Close()
			return perfcmd.SizeError(m.Len(), size)
		}
		if err := s.Send(m); err != nil {
			s.Close()
			return err
		}
	}
	return s.Close()
}

func remoteLat(url, pattern string, size, count int) (time.Duration, error) {
	s, err := dial(pattern, url)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	// The clock starts once connected, as for the libzmq end: a dial that
	// waits out a reconnect interval (the listener not up yet) would count
	// in the latency of a short run.
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Pipes == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	// One message goes back and forth: each reply is the next request.
	m := socket.NewMessage(size)
	start := time.Now()
	for range count {
		if err := s.Send(m); err != nil {
			return 0, err
		}
		if m, err = s.Recv(); err != nil {
			return 0, err
		}
		if len(m.Body) != size || len(m.Frames) != 0 {
			return 0, perfcmd.SizeError(m.Len(), size)
		}
	}
	d := time.Since(start)
	m.Free()
	return d, nil
}
