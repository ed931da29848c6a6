// Package shm is the shm:// transport: a byte stream over shared memory
// between processes of one Linux machine. "shm:///run/app/x.sock" names a
// Unix socket path, used only to set connections up and to tell when a peer
// is gone; the bytes themselves go through two single-producer
// single-consumer rings (one per direction) in a sealed memfd that the
// listener creates and passes to the dialer over the socket.
//
// Every pattern and both dialects (SP and ZMTP) run over shm:// as over any
// stream transport. A side waiting for data or room spins for a while
// (adaptively, up to SetDefaultSpin or "?spin=" in the URL) and then parks on
// an eventfd in the runtime's poller, with a flag in the shared mapping that
// tells the peer to wake it; a side that is not parked costs its peer no
// system call. See docs/shm.md for the ring format and the spin's CPU cost.
//
// Everything read from shared memory is checked: a peer that scribbles over
// the rings makes that connection fail with a *CorruptError (which matches
// socket.ErrProtocol), and nothing else. On systems other than Linux the
// scheme is registered but Dial and Listen fail with an error matching
// socket.ErrNotSupported.
//
// Large bodies can also go by loan, without a copy through the ring: a
// connection implements socket.LoanConn. Each side has a pool of fixed-size
// slots in the shared mapping; Loan gives the writer a free slot to fill,
// WriteLoan hands it to the peer with a small record on the ring, and the
// peer's ReadLoan returns the body in place until it releases it (the slot
// then goes back to the writer through a release ring). A reader that
// calls plain Read gets the same bytes, copied out. Loaned bodies alias
// memory the peer can still write to: copy them if they must stay stable.
//
// URL parameters, after the path: "spin" (a Go duration, how long a waiting
// side spins at most before it parks, default 200µs; 0 parks at once),
// "ring" (listeners only: the capacity in bytes of each direction's ring, a
// power of two from 4 KiB to 1 GiB; default 512 KiB), "slots" (listeners
// only: slots per side, 0 to 128, default 16; 0 turns loans off) and
// "slotsize" (listeners only: bytes per slot, a multiple of 4096 from 64 KiB
// to 64 MiB, default 1 MiB + 64 KiB), as in
// "shm:///run/app/x.sock?spin=0&ring=1048576&slots=8". The listener
// chooses; the dialer checks what it is given.
package shm

import (
	"fmt"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/socket"
)

// DefaultRingSize is the capacity of each direction's ring when the URL
// names none.
const DefaultRingSize = 512 << 10

var defaultSpin atomic.Int64

func init() { defaultSpin.Store(int64(200 * time.Microsecond)) }

// SetDefaultSpin sets how long a side waiting for data or room spins before
// it parks, for connections set up afterwards whose URL has no "spin"
// parameter, and returns the previous value. Spinning burns a CPU for up to
// d each time a side runs dry, and saves the two system calls and the
// scheduler wake-up of parking; 0 parks at once. The default is 200 µs.
func SetDefaultSpin(d time.Duration) time.Duration {
	if d < 0 {
		d = 0
	}
	return time.Duration(defaultSpin.Swap(int64(d)))
}

// config is what a shm URL says.
type config struct {
	path     string
	spin     time.Duration
	ring     int
	slots    int
	slotSize int
}

func parseAddr(addr string) (config, error) {
	cfg := config{path: addr, spin: time.Duration(defaultSpin.Load()), ring: DefaultRingSize, slots: DefaultSlots, slotSize: DefaultSlotSize}
	if i := indexQuery(addr); i >= 0 {
		cfg.path = addr[:i]
		q, err := url.ParseQuery(addr[i+1:])
		if err != nil {
			return cfg, fmt.Errorf("%w: shm://%s: %v", socket.ErrBadURL, addr, err)
		}
		for k, v := range q {
			val := v[len(v)-1]
			switch k {
			case "spin":
				d, err := time.ParseDuration(val)
				if err != nil || d < 0 {
					return cfg, fmt.Errorf("%w: shm://%s: spin=%q is not a duration", socket.ErrBadURL, addr, val)
				}
				cfg.spin = d
			case "ring":
				n, err := strconv.Atoi(val)
				if err != nil || n < 0 || !ringCapOK(uint64(n)) {
					return cfg, fmt.Errorf("%w: shm://%s: ring=%q is not a power of two from %d to %d", socket.ErrBadURL, addr, val, minRingCap, maxRingCap)
				}
				cfg.ring = n
			case "slots":
				n, err := strconv.Atoi(val)
				if err != nil || n < 0 || n > maxSlots {
					return cfg, fmt.Errorf("%w: shm://%s: slots=%q is not a number from 0 to %d", socket.ErrBadURL, addr, val, maxSlots)
				}
				cfg.slots = n
			case "slotsize":
				n, err := strconv.Atoi(val)
				if err != nil || !slotSizeOK(uint64(n)) {
					return cfg, fmt.Errorf("%w: shm://%s: slotsize=%q is not a multiple of %d from %d to %d", socket.ErrBadURL, addr, val, slotAlign, minSlotSize, maxSlotSize)
				}
				cfg.slotSize = n
			default:
				return cfg, fmt.Errorf("%w: shm://%s: unknown parameter %q", socket.ErrBadURL, addr, k)
			}
		}
	}
	if cfg.path == "" {
		return cfg, fmt.Errorf("%w: shm:// needs a path", socket.ErrBadURL)
	}
	return cfg, nil
}

func slotSizeOK(n uint64) bool {
	return n >= minSlotSize && n <= maxSlotSize && n%slotAlign == 0
}

func indexQuery(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '?' {
			return i
		}
		if s[i] == '/' {
			return -1
		}
	}
	return -1
}
