package socket

import (
	"runtime"
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
// the runtime from noticing the process's other connections meanwhile:
// with both ends in one process, 64 B round trips every 2 ms took 120-140
// us polling against 50 us parked.

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
// another process, with a core to spare; while it polls, the runtime
// does not look at the process's other connections, so a peer in the same
// process answers later, not sooner. 0, the default, turns it off; at most
// 10 ms. Only tcp pipes on Linux spin (shm has its own spin, set per
// endpoint), and none in a process running with GOMAXPROCS 1. It applies
// from the next wait on.
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
// reader reads: only tcp connections on Linux (spinReader), and only with
// a second processor to spin on.
func (p *Pipe) initSpin(lazy lazySource) {
	if runtime.GOMAXPROCS(0) < 2 {
		return
	}
	p.spinner = spinReader(p.conn, lazy)
	p.spinBudget = int64(maxRecvSpin) // clipped to RecvSpin at use: the first wait spins
}

// fillSpinning is fill, a read of more bytes for the application reading
// through, spinning first when between messages (in the middle of one, the
// rest is on its way, and polling for it only slows the writer) and the
// socket's RecvSpin allows.
func (p *Pipe) fillSpinning(fill func() error, between bool) error {
	r, most := p.spinner, p.sock.cfg.recvSpin.Load()
	if r == nil || most <= 0 || !between {
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
