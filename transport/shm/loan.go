package shm

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Loans (stage 2). Each side owns a pool of fixed-size slots in the shared
// mapping. The owner writes a body into one of its slots and puts a loan
// record (kind 2) on its ring; the peer reads the body in place and, when it
// is done with it, gives the slot back by appending (index, generation) to
// the release ring of that pool, which the owner drains before it lends
// again. The state of every slot (free, lent to the caller, on loan to the
// peer, its generation) is kept privately by each side: nothing in shared
// memory but the bodies, the loan records and the release entries, and all
// three are checked before use.
//
// A loan record's payload is 16 bytes, little-endian:
//
//	slot index u32 | generation u32 | offset u32 | length u32
//
// The generation of a slot starts at 0 and grows by one with each loan of
// it (wrapping at 2^32), so the borrower expects exactly the next one. A
// release entry is a u64: slot index in the low 32 bits, generation in the
// high 32.
const (
	loanRecSize = 16

	// LoanMin is the smallest body a shm:// connection lends (64 KiB):
	// below it a copy through the ring costs less than a slot's round trip.
	LoanMin = 64 << 10

	// DefaultSlots and DefaultSlotSize size each side's pool when the URL
	// names none: 16 slots of 1 MiB plus 64 KiB, so that a 1 MiB message
	// with its framing fits.
	DefaultSlots    = 16
	DefaultSlotSize = 1<<20 + 64<<10

	maxSlots    = 128 // the release ring has room for every slot
	minSlotSize = 64 << 10
	maxSlotSize = 64 << 20
	slotAlign   = 4096

	// A release ring: a control block (head and tail on lines of their
	// own) and maxSlots entries of 8 bytes.
	relCtlSize = 256
	relHead    = 0
	relTail    = 128
	relCap     = maxSlots
	relEntSize = 8 * relCap
)

// relRing is one pool's release ring: the borrower produces, the owner
// consumes.
type relRing struct {
	head, tail *uint64
	ent        []byte // relCap entries of 8 bytes
}

func newRelRing(ctl, ent []byte) relRing {
	p := unsafe.Pointer(unsafe.SliceData(ctl))
	return relRing{
		head: (*uint64)(unsafe.Add(p, relHead)),
		tail: (*uint64)(unsafe.Add(p, relTail)),
		ent:  ent[:relEntSize],
	}
}

// Slot states, kept privately by the owner.
const (
	slotFree   = iota
	slotLent   // given to our caller by Loan, not yet written
	slotOnLoan // given to the peer by a loan record, not yet released
)

// outPool is our own slots: we lend them to the peer. Only the writer uses
// it (under the conn's write lock).
type outPool struct {
	mem   []byte // nslots × size bytes
	size  uint64 // bytes per slot
	state []uint8
	gen   []uint32
	free  []uint32 // stack of free slot indexes, the most recently freed on top
	rel   relRing
	tail  uint64 // our position in the release ring, published to rel.tail

	// A slot's pages stay in memory once written (the memfd keeps them)
	// until trim gives them back: touched says a slot was written since,
	// freedAt when it last came back (nanoseconds on the monotonic clock).
	touched []bool
	freedAt []int64
}

func newOutPool(mem []byte, nslots int, size uint64, rel relRing) *outPool {
	p := &outPool{mem: mem, size: size, state: make([]uint8, nslots), gen: make([]uint32, nslots), rel: rel,
		touched: make([]bool, nslots), freedAt: make([]int64, nslots)}
	for i := nslots - 1; i >= 0; i-- {
		p.free = append(p.free, uint32(i))
	}
	return p
}

// freed puts slot idx back on the free stack at time now.
func (p *outPool) freed(idx uint32, now int64) {
	p.state[idx] = slotFree
	p.freedAt[idx] = now
	p.free = append(p.free, idx)
}

// trim gives back to the system the pages of free slots that have been
// free for idle nanoseconds or more, except the keep most recently freed,
// which the next loans take (a busy pool reuses its top slots; a burst of
// large bodies once leaves every slot in memory for as long as the
// connection lasts otherwise). discard drops a slot's pages; the slot
// reads as zeros after, and is faulted in again when next written. It
// reports whether a free slot still holds pages that a later trim could
// give back, and whether any slot is out (lent or on loan).
func (p *outPool) trim(now, idle int64, keep int, discard func([]byte)) (pending, out bool) {
	for i, idx := range p.free {
		if !p.touched[idx] || i >= len(p.free)-keep {
			continue
		}
		if now-p.freedAt[idx] < idle {
			pending = true
			continue
		}
		at := uint64(idx) * p.size
		discard(p.mem[at : at+p.size])
		p.touched[idx] = false
	}
	return pending, len(p.free) < len(p.state)
}

// drain takes the peer's releases, checking each: the slot must exist, be
// on loan, and carry the generation we lent it with. now stamps the slots
// freed.
func (p *outPool) drain(now int64) error {
	h := atomic.LoadUint64(p.rel.head)
	if h < p.tail || h-p.tail > relCap {
		return corrupt("release ring position %d against ours %d", h, p.tail)
	}
	for ; p.tail < h; p.tail++ {
		e := binary.LittleEndian.Uint64(p.rel.ent[(p.tail%relCap)*8:])
		idx, gen := e&0xFFFFFFFF, uint32(e>>32)
		switch {
		case idx >= uint64(len(p.state)):
			return corrupt("release of slot %d of %d", idx, len(p.state))
		case p.state[idx] != slotOnLoan:
			return corrupt("release of slot %d, which is not on loan", idx)
		case gen != p.gen[idx]:
			return corrupt("release of slot %d generation %d, lent as %d", idx, gen, p.gen[idx])
		}
		p.freed(uint32(idx), now)
	}
	atomic.StoreUint64(p.rel.tail, p.tail)
	return nil
}

// take gives a free slot's first n bytes to the caller, or false.
func (p *outPool) take(n int) ([]byte, bool) {
	if len(p.free) == 0 {
		return nil, false
	}
	idx := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	p.state[idx] = slotLent
	p.touched[idx] = true
	at := uint64(idx) * p.size
	return p.mem[at : at+uint64(n) : at+uint64(n)], true
}

// index finds the slot a buffer from take lives in; false for a buffer
// that is not one.
func (p *outPool) index(buf []byte) (uint32, bool) {
	if len(buf) == 0 || uint64(len(buf)) > p.size {
		return 0, false
	}
	off := uintptr(unsafe.Pointer(unsafe.SliceData(buf))) - uintptr(unsafe.Pointer(unsafe.SliceData(p.mem)))
	if off >= uintptr(len(p.mem)) || uint64(off)%p.size != 0 {
		return 0, false
	}
	idx := uint32(uint64(off) / p.size)
	if p.state[idx] != slotLent {
		return 0, false
	}
	return idx, true
}

// giveBack returns a lent slot that was never sent.
func (p *outPool) giveBack(idx uint32, now int64) { p.freed(idx, now) }

// loanRec is a loan the reader has accepted and not yet handed on.
type loanRec struct {
	active   bool
	idx, gen uint32
	off, len uint32
	done     uint32 // bytes already copied out by Read
}

// inPool is the peer's slots, which we borrow. The reader accepts loans;
// releases come from any goroutine, hence the lock.
type inPool struct {
	mem  []byte
	size uint64

	mu      sync.Mutex
	held    []bool   // on loan to us, not yet released
	lastGen []uint32 // generation of the last loan of each slot
	rel     relRing
	head    uint64 // our position in the release ring
	tail    uint64 // the owner's, as last read and checked
}

func newInPool(mem []byte, nslots int, size uint64, rel relRing) *inPool {
	return &inPool{mem: mem, size: size, held: make([]bool, nslots), lastGen: make([]uint32, nslots), rel: rel}
}

// accept checks a loan record's payload and marks the slot held.
func (p *inPool) accept(b []byte) (loanRec, error) {
	r := loanRec{
		active: true,
		idx:    binary.LittleEndian.Uint32(b),
		gen:    binary.LittleEndian.Uint32(b[4:]),
		off:    binary.LittleEndian.Uint32(b[8:]),
		len:    binary.LittleEndian.Uint32(b[12:]),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case uint64(r.idx) >= uint64(len(p.held)):
		return loanRec{}, corrupt("loan of slot %d of %d", r.idx, len(p.held))
	case r.len == 0 || uint64(r.off)+uint64(r.len) > p.size:
		return loanRec{}, corrupt("loan of %d bytes at %d in a slot of %d", r.len, r.off, p.size)
	case p.held[r.idx]:
		return loanRec{}, corrupt("loan of slot %d, which we still hold", r.idx)
	case r.gen != p.lastGen[r.idx]+1:
		return loanRec{}, corrupt("loan of slot %d generation %d after %d", r.idx, r.gen, p.lastGen[r.idx])
	}
	p.held[r.idx] = true
	p.lastGen[r.idx] = r.gen
	return r, nil
}

// body is the loaned bytes, in the peer's slot.
func (p *inPool) body(r loanRec) []byte {
	at := uint64(r.idx)*p.size + uint64(r.off)
	return p.mem[at : at+uint64(r.len) : at+uint64(r.len)]
}

// release gives a slot back to its owner through the release ring, unless
// tell is false (the connection is over: the owner needs nothing back). It
// reports whether we held the slot in r's generation; a slot not held so
// (given back already, or lent again since) is left as it is.
func (p *inPool) release(r loanRec, tell bool) (held bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if uint64(r.idx) >= uint64(len(p.held)) || !p.held[r.idx] || p.lastGen[r.idx] != r.gen {
		return false, nil
	}
	p.held[r.idx] = false
	if !tell {
		return true, nil
	}
	t := atomic.LoadUint64(p.rel.tail)
	if t < p.tail || t > p.head {
		return true, corrupt("release ring: owner position %d against %d..%d", t, p.tail, p.head)
	}
	p.tail = t
	if p.head-p.tail >= relCap {
		// The owner has more slots released than it has slots.
		return true, corrupt("release ring full: owner at %d, we at %d", p.tail, p.head)
	}
	binary.LittleEndian.PutUint64(p.rel.ent[(p.head%relCap)*8:], uint64(r.gen)<<32|uint64(r.idx))
	p.head++
	atomic.StoreUint64(p.rel.head, p.head)
	return true, nil
}
