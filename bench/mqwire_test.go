package bench_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

// transports are those every benchmark runs over. curve+tcp is tcp with
// ZMTP's CURVE security, so in the ZMTP dialect only.
var transports = []string{"inproc", "ipc", "tcp", "ws", "wss", "tls+tcp", "curve+tcp"}

// BenchmarkPushPull: one push sends, one pull receives, default high-water
// marks (push blocks when the pipe is full, so nothing is lost).
func BenchmarkPushPull(b *testing.B) {
	for _, tr := range transports {
		for _, sz := range sizes3 {
			b.Run(tr+"/"+sz.name, func(b *testing.B) {
				tx := newSockets(b, 1, push.New)[0]
				rx := newSockets(b, 1, pull.New)[0]
				connect(b, tr, rx, tx)
				oneWay(b, tx, []*socket.Socket{rx}, sz.n, false)
				closeAll(tx, rx)
			})
		}
	}
}

// BenchmarkPushPullTimeouts is BenchmarkPushPull of 64 B with a send and a
// receive timeout set, as libzmq programs often set ZMQ_SNDTIMEO and
// ZMQ_RCVTIMEO: a send with room and a receive with a message waiting must
// cost no more than without (no timeout context is made for them).
func BenchmarkPushPullTimeouts(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr, func(b *testing.B) {
			tx := newSockets(b, 1, push.New, socket.SendTimeout(time.Second))[0]
			rx := newSockets(b, 1, pull.New, socket.RecvTimeout(time.Second))[0]
			connect(b, tr, rx, tx)
			oneWay(b, tx, []*socket.Socket{rx}, 64, false)
			closeAll(tx, rx)
		})
	}
}

// BenchmarkReqRep: one request in flight at a time, answered by a rep server
// goroutine; us/roundtrip is the latency of one request and its reply. Both
// sides send and receive with a context that can end (as a Go service
// passes its request's), which a body larger than the read buffer (64 KiB)
// must not make slower than Send and Recv without one.
func BenchmarkReqRep(b *testing.B) {
	for _, tr := range transports {
		for _, sz := range sizes3 {
			b.Run(tr+"/"+sz.name, func(b *testing.B) {
				rq := newSockets(b, 1, req.New)[0]
				rp := newSockets(b, 1, rep.New)[0]
				connect(b, tr, rp, rq)
				roundTrips(b, rq, rp, sz.n)
				closeAll(rq, rp)
			})
		}
	}
}

// BenchmarkReqRepTimeouts is BenchmarkReqRep of 64 B through Send and Recv
// with send and receive timeouts set on both sockets, as a libzmq program
// with ZMQ_SNDTIMEO and ZMQ_RCVTIMEO (the lazy pirate pattern) does: every
// Recv waits, so each applies its timeout, and that must not allocate.
func BenchmarkReqRepTimeouts(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr, func(b *testing.B) {
			opts := []socket.Option{socket.SendTimeout(time.Second), socket.RecvTimeout(time.Second)}
			rq := newSockets(b, 1, req.New, opts...)[0]
			rp := newSockets(b, 1, rep.New, opts...)[0]
			connect(b, tr, rp, rq)
			plainRoundTrips(b, rq, rp, 64)
			closeAll(rq, rp)
		})
	}
}

// BenchmarkPubSub: one publisher, 1 or 10 subscribers to everything; every
// subscriber receives every message (the publisher is paced, see oneWay).
// msg/s counts messages published; each is delivered once per subscriber.
func BenchmarkPubSub(b *testing.B) {
	for _, tr := range []string{"inproc", "tcp"} {
		for _, n := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/%dsub/64B", tr, n), func(b *testing.B) {
				tx := newSockets(b, 1, pub.New, socket.SendHWM(pacedHWM))[0]
				rxs := newSockets(b, n, sub.New, socket.RecvHWM(pacedHWM), sub.Subscribe(nil))
				connect(b, tr, tx, rxs...)
				oneWay(b, tx, rxs, 64, true)
				closeAll(append(rxs, tx)...)
			})
		}
	}
}

// BenchmarkPair: pair0, one side sends and the other receives.
func BenchmarkPair(b *testing.B) {
	b.Run("tcp/64B", func(b *testing.B) {
		ss := newSockets(b, 2, pair.New)
		connect(b, "tcp", ss[1], ss[0])
		oneWay(b, ss[0], ss[1:], 64, false)
		closeAll(ss...)
	})
}

// BenchmarkBus: two bus0 nodes, one sends and the other receives (paced,
// as bus drops when a peer's queue is full).
func BenchmarkBus(b *testing.B) {
	b.Run("tcp/64B", func(b *testing.B) {
		ss := newSockets(b, 2, bus.New, socket.SendHWM(pacedHWM), socket.RecvHWM(pacedHWM))
		connect(b, "tcp", ss[1], ss[0])
		oneWay(b, ss[0], ss[1:], 64, true)
		closeAll(ss...)
	})
}
