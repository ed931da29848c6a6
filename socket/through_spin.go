package socket

import (
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Spinning before parking. An application that waits in Recv reading its
// only tcp pipe through (through.go) may poll the connection for a while
// before it waits in the runtime's poller (RecvSpin, off by default): over
// loopback tcp between two processes, being woken from the poller made up
// most of a small message's one-way latency (64 B through mqperf REQ/REP:
// medians of 52 us parked and 9 us polling for up to 200 us). How long it
// polls adapts per pipe between 0 and RecvSpin, as shm's spin does: the
// budget halves each time a spin ends in a park, grows back (doubling,
// plus spinStep) each time the bytes come within it, and a park shorter
// than RecvSpin sets it at once to twice the park's length. So a
// request-reply loop with a fast peer keeps polling, and sparse traffic,
// or a peer slower than RecvSpin, soon does not poll at all.
//
// It is off by default because a goroutine that polls a descriptor keeps
// the runtime from noticing the process's other connections meanwhile
// (while one processor runs and the others idle, no thread waits in the
// poller): other goroutines' bytes wait for the spin to end. For a peer in
// the same process that is self-defeating (64 B round trips every 2 ms took
// 120-170 us polling against about 50 us parked), so a pipe whose peer is
// a pipe of this process never spins (tcpEnds).

// maxRecvSpin bounds RecvSpin: a spin delays a Recv's cancellation, and
// the socket's closing, by up to its length.
const maxRecvSpin = 10 * time.Millisecond

// spinStep is how much a budget grows by, besides doubling, when a spin
// succeeds (so that one at 0 grows again).
const spinStep = int64(time.Microsecond)

// RecvSpin sets how long Recv, when it reads the socket's only tcp
// connection itself (a REQ, REP, PAIR or DEALER talking to one peer, a
// PULL or SUB with one), polls the connection for the next message before
// it waits to be woken: the longest it spins, as the spin adapts to the
// traffic (docs/design.md). Polling keeps a CPU busy while it lasts and
// saves the wake-up, which on loopback tcp between two processes is most
// of a small message's latency: 200 us took 64 B round trips from about
// 50 us one way to about 9. It suits a process that waits on one peer in
// another process, with a core to spare: while it polls, the runtime does
// not look at the process's other connections, whose goroutines so wait
// up to the spin longer. 0, the default, turns it off; at most 10 ms. Only
// tcp pipes on Linux spin (shm has its own spin, set per endpoint), not
// one whose peer is a socket of this same process, and none in a process
// running with GOMAXPROCS 1. It applies from the next wait on.
func RecvSpin(d time.Duration) Option {
	return NewOption("RecvSpin", func(s *Socket) error {
		if !s.info.CanRecv {
			return notApplicable("RecvSpin", s)
		}
		if d < 0 || d > maxRecvSpin {
			return badOption("RecvSpin", d)
		}
		s.cfg.recvSpin.Store(int64(d))
		return nil
	})
}

// initSpin readies p's reads through for spinning, on lazy, the source the
// reader reads: only tcp connections (over ipc polling saved nothing
// measurable at 64 B, and at 64 KiB the polling reads slowed the writer's:
// 1.75x the latency), only on Linux (spinReader), and only with a second
// processor to spin on. The reader goroutine calls it.
func (p *Pipe) initSpin(lazy lazySource) {
	if runtime.GOMAXPROCS(0) < 2 {
		return
	}
	r := spinReader(lazy)
	peer, ok := tcpEnd(p.conn.RemoteAddr())
	if r == nil || !ok || p.end == nil {
		return
	}
	p.spinner, p.spinPeer = r, peer
	p.spinBudget = int64(maxRecvSpin) // clipped to RecvSpin at use: the first wait spins
}

// knownEnd is the local end of a tcp connection of this process, in
// tcpEnds from before the connection's handshake until its pipe has ended:
// so by the time either end of a connection between two sockets of this
// process can read, the other is known, and neither spins (until session
// 42 a pipe's end went in when its reader goroutine started, and a client
// whose first reply came before the server's reader had begun spun for it).
type knownEnd struct{ key netip.AddrPort }

// rememberEnd puts c's local end in tcpEnds if c is tcp; nil if not.
func rememberEnd(c net.Conn) *knownEnd {
	if c == nil {
		return nil
	}
	k, ok := tcpEnd(c.LocalAddr())
	if !ok {
		return nil
	}
	e := &knownEnd{key: k}
	tcpEnds.Store(k, e)
	return e
}

// forget takes e out of tcpEnds, unless another connection has its address
// now; e may be nil.
func (e *knownEnd) forget() {
	if e != nil {
		tcpEnds.CompareAndDelete(e.key, e)
	}
}

// tcpEnds holds the local end of every tcp connection of this process
// (knownEnd), so that a pipe whose peer is among them does not spin (see
// above).
var tcpEnds sync.Map // netip.AddrPort to *knownEnd

// spinSameProcess, set by tests, lets pipes spin with a peer in this
// process.
var spinSameProcess atomic.Bool

// tcpEnd returns a tcp address as a key of tcpEnds, IPv4 addresses in
// IPv6 form as plain IPv4.
func tcpEnd(a net.Addr) (netip.AddrPort, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// fillSpinning is fill, a read of more bytes for the application reading
// through, spinning first when between messages (in the middle of one, the
// rest is on its way, and polling for it only slows the writer) and the
// socket's RecvSpin allows.
func (p *Pipe) fillSpinning(fill func() error, between bool) error {
	r, most := p.spinner, p.sock.cfg.recvSpin.Load()
	if r == nil || most <= 0 || !between || p.peerHere() {
		return fill()
	}
	b := min(p.spinBudget, most)
	r.spin = b
	err := fill()
	r.spin = 0
	if err == nil {
		parked := int64(-1)
		if r.parkedAt != 0 {
			parked = monoNow() - r.parkedAt
		}
		p.spinBudget = nextSpin(b, most, parked)
	}
	return err
}

// nextSpin returns the spin budget after a wait that spun for up to b of
// most (ns) and then parked for parked ns, or did not park (parked < 0).
func nextSpin(b, most, parked int64) int64 {
	if parked < 0 {
		return min(2*b+spinStep, most)
	}
	b /= 2
	if parked < most {
		// Spinning twice as long as the park would have caught the peer.
		b = min(max(2*b+spinStep, 2*parked), most)
	}
	return b
}

// peerHere reports whether p's peer is a pipe of this process (tcpEnds),
// and once it is, says so from then on without looking.
func (p *Pipe) peerHere() bool {
	if !p.spinHere && !spinSameProcess.Load() {
		_, p.spinHere = tcpEnds.Load(p.spinPeer)
	}
	return p.spinHere
}
