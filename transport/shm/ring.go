package shm

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/mqwire/mqwire/internal/streamcopy"
	"github.com/mqwire/mqwire/socket"
)

// The ring is a single-producer single-consumer queue of records in shared
// memory. Its control block holds four words, each on a cache line (128
// bytes, so that adjacent-line prefetch does not pair them) of its own:
//
//	ctlHead     uint64  producer position: bytes ever published
//	ctlTail     uint64  consumer position: bytes ever consumed
//	ctlConsWait uint32  1 while the consumer is parked (wake it through its eventfd)
//	ctlProdWait uint32  1 while the producer is parked for room (likewise)
//
// Positions only grow; a byte at position p lives at data[p % cap]. The
// producer publishes whole records only, so head is always a multiple of 8;
// the consumer may publish a tail inside a record (the part of the record it
// has copied out is free again).
//
// A record is an 8-byte little-endian header, then its payload, then padding
// to a multiple of 8. The header's low 32 bits are the payload length, bits
// 32-39 the kind, the rest zero. Payloads may wrap around the end of the
// data area; headers never do (cap and head are multiples of 8).
const (
	ctlHead     = 0
	ctlTail     = 128
	ctlConsWait = 256
	ctlProdWait = 384
	ctlSize     = 512

	recHeader = 8

	// kindInline: the payload is the bytes of the stream, inline.
	kindInline = 1
	// kindLoan: the payload (loanRecSize bytes) gives the peer a body in
	// a slot of the sender's pool (see loan.go). A connection without a
	// pool refuses it.
	kindLoan = 2

	minRingCap = 4 << 10
	maxRingCap = 1 << 30
)

// CorruptError reports shared memory that breaks the ring's rules: a
// position that goes backwards or past the ring's capacity, or a record
// whose kind or length is impossible. It matches socket.ErrProtocol with
// errors.Is; the connection it came from is closed, no other.
type CorruptError struct {
	Reason string // what was wrong, in a few words
}

// Error describes the fault.
func (e *CorruptError) Error() string { return "shm: corrupt ring: " + e.Reason }

// Is reports whether target is socket.ErrProtocol.
func (e *CorruptError) Is(target error) bool { return target == socket.ErrProtocol }

func corrupt(format string, args ...any) error {
	return &CorruptError{Reason: fmt.Sprintf(format, args...)}
}

func align8(n uint64) uint64 { return (n + 7) &^ 7 }

// ringCapOK reports whether n is a ring capacity we accept: a power of two
// in range, whose mapping (two rings and 8 KiB) an int can size, which on
// 32-bit systems it cannot for the largest.
func ringCapOK(n uint64) bool {
	return n >= minRingCap && n <= maxRingCap && n&(n-1) == 0 && 8192+2*n <= math.MaxInt
}

// ring is one direction of a connection: its control block and data area,
// both in (possibly shared) memory.
type ring struct {
	head, tail         *uint64
	consWait, prodWait *uint32
	data               []byte
	cap, mask          uint64
}

// newRing lays a ring over ctl (ctlSize bytes, 8-aligned) and data (a power
// of two bytes).
func newRing(ctl, data []byte) *ring {
	p := unsafe.Pointer(unsafe.SliceData(ctl))
	return &ring{
		head:     (*uint64)(unsafe.Add(p, ctlHead)),
		tail:     (*uint64)(unsafe.Add(p, ctlTail)),
		consWait: (*uint32)(unsafe.Add(p, ctlConsWait)),
		prodWait: (*uint32)(unsafe.Add(p, ctlProdWait)),
		data:     data,
		cap:      uint64(len(data)),
		mask:     uint64(len(data)) - 1,
	}
}

// producer is the writing end of a ring. It trusts only its own head; the
// tail it reads from shared memory is checked before use.
type producer struct {
	r      *ring
	head   uint64 // our position, published to r.head
	tail   uint64 // the consumer's position as last read and checked
	maxRec uint64 // largest payload of one record
}

func newProducer(r *ring) producer {
	return producer{r: r, maxRec: min(r.cap/4, 1<<30)}
}

// loadTail reads and checks the consumer's position.
func (p *producer) loadTail() error {
	t := atomic.LoadUint64(p.r.tail)
	if t < p.tail {
		return corrupt("consumer position went back from %d to %d", p.tail, t)
	}
	if t > p.head {
		return corrupt("consumer position %d is past the producer's %d", t, p.head)
	}
	p.tail = t
	return nil
}

// room reports how many bytes the ring has free, reading the tail afresh
// when the cached view shows too little for a record.
func (p *producer) room() (uint64, error) {
	free := p.r.cap - (p.head - p.tail)
	if free < 2*recHeader {
		if err := p.loadTail(); err != nil {
			return 0, err
		}
		free = p.r.cap - (p.head - p.tail)
	}
	return free, nil
}

// write puts as much of b as fits into one record and publishes it. It
// returns 0 when the ring is full; it never waits.
func (p *producer) write(b []byte) (int, error) {
	free, err := p.room()
	if err != nil {
		return 0, err
	}
	usable := free &^ 7
	if usable < 2*recHeader || len(b) == 0 {
		return 0, nil
	}
	n := min(uint64(len(b)), usable-recHeader, p.maxRec)
	r := p.r
	at := p.head & r.mask
	binary.LittleEndian.PutUint64(r.data[at:], uint64(kindInline)<<32|n)
	p.copyIn((p.head+recHeader)&r.mask, b[:n])
	p.head += recHeader + align8(n)
	atomic.StoreUint64(r.head, p.head)
	return int(n), nil
}

// writeLoan publishes a loan record. It returns false when the ring has
// no room for it; it never waits.
func (p *producer) writeLoan(idx, gen, off, n uint32) (bool, error) {
	free, err := p.room()
	if err != nil {
		return false, err
	}
	if free&^7 < recHeader+loanRecSize {
		if err := p.loadTail(); err != nil {
			return false, err
		}
		if free = p.r.cap - (p.head - p.tail); free&^7 < recHeader+loanRecSize {
			return false, nil
		}
	}
	var rec [recHeader + loanRecSize]byte
	binary.LittleEndian.PutUint64(rec[:], uint64(kindLoan)<<32|loanRecSize)
	binary.LittleEndian.PutUint32(rec[8:], idx)
	binary.LittleEndian.PutUint32(rec[12:], gen)
	binary.LittleEndian.PutUint32(rec[16:], off)
	binary.LittleEndian.PutUint32(rec[20:], n)
	p.copyIn(p.head&p.r.mask, rec[:])
	p.head += uint64(len(rec))
	atomic.StoreUint64(p.r.head, p.head)
	return true, nil
}

func (p *producer) copyIn(at uint64, b []byte) {
	k := streamcopy.Copy(p.r.data[at:], b)
	streamcopy.Copy(p.r.data, b[k:])
}

// consumer is the reading end of a ring. It trusts only its own tail and
// what it has checked: every head and record header read from shared memory
// is validated before use, and read once.
type consumer struct {
	r      *ring
	tail   uint64 // our position, published to r.tail
	head   uint64 // the producer's position as last read and checked
	remain uint64 // payload bytes left in the current record
	pad    uint64 // padding after the current record
	err    error  // sticky: a corrupt ring stays corrupt

	loans   *inPool // the peer's slots; nil: loan records are refused
	pending loanRec // a loan record taken off the ring, not yet handed on
}

func newConsumer(r *ring) consumer { return consumer{r: r} }

// loadHead reads and checks the producer's position.
func (c *consumer) loadHead() error {
	h := atomic.LoadUint64(c.r.head)
	if h < c.head {
		return corrupt("producer position went back from %d to %d", c.head, h)
	}
	if h&7 != 0 {
		return corrupt("producer position %d is not a record boundary", h)
	}
	if h-c.tail > c.r.cap {
		return corrupt("producer position %d is %d bytes ahead of the consumer, past the capacity %d", h, h-c.tail, c.r.cap)
	}
	c.head = h
	return nil
}

// ready reports whether a read would return something (data or an error),
// reading the producer's position afresh.
func (c *consumer) ready() bool {
	if c.err != nil || c.remain > 0 || c.head != c.tail || c.pending.active {
		return true
	}
	if err := c.loadHead(); err != nil {
		c.err = err
		return true
	}
	return c.head != c.tail
}

// read copies what the ring holds into b, up to len(b), and publishes the
// new tail. It returns 0 when the ring is empty; it never waits. It stops at
// a loan record, which it checks and takes into c.pending: the caller hands
// the loan on (or copies it out) before it reads on.
func (c *consumer) read(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	r := c.r
	n := 0
	for n < len(b) && !c.pending.active {
		if c.remain == 0 {
			if c.head == c.tail {
				if err := c.loadHead(); err != nil {
					c.err = err
					break
				}
				if c.head == c.tail {
					break
				}
			}
			if c.err = c.next(); c.err != nil || c.pending.active {
				break
			}
		}
		k := min(c.remain, uint64(len(b)-n))
		c.copyOut(c.tail&r.mask, b[n:n+int(k)])
		n += int(k)
		c.tail += k
		c.remain -= k
		if c.remain == 0 {
			c.tail += c.pad
			c.pad = 0
		}
	}
	if n > 0 || c.err == nil {
		atomic.StoreUint64(r.tail, c.tail)
	}
	if n > 0 {
		// The bytes copied before the fault are good; the error shows
		// on the next read.
		return n, nil
	}
	return 0, c.err
}

// next takes the record header at the tail (published, checked by the
// caller) and either starts an inline record's payload or takes a whole
// loan record into c.pending.
func (c *consumer) next() error {
	r := c.r
	hdr := binary.LittleEndian.Uint64(r.data[c.tail&r.mask:])
	size, kind := hdr&0xFFFFFFFF, hdr>>32
	switch {
	case kind == kindLoan && c.loans == nil:
		return corrupt("loan record (kind %d) on a connection that has no slot pool", kind)
	case kind != kindInline && kind != kindLoan:
		return corrupt("unknown record kind %#x", kind)
	case size == 0:
		return corrupt("empty record at position %d", c.tail)
	case recHeader+align8(size) > c.head-c.tail:
		return corrupt("record of %d bytes at position %d runs past the published %d", size, c.tail, c.head)
	}
	if kind == kindInline {
		c.tail += recHeader
		c.remain, c.pad = size, align8(size)-size
		return nil
	}
	if size != loanRecSize {
		return corrupt("loan record of %d bytes, want %d", size, loanRecSize)
	}
	var b [loanRecSize]byte
	c.copyOut((c.tail+recHeader)&r.mask, b[:])
	rec, err := c.loans.accept(b[:])
	if err != nil {
		return err
	}
	c.tail += recHeader + loanRecSize
	c.pending = rec
	return nil
}

// peek looks at what comes next without waiting: 1 when inline bytes do
// (or an error), 2 when a loan does (then in c.pending), 0 when nothing has
// been published yet.
func (c *consumer) peek() int {
	switch {
	case c.err != nil || c.remain > 0:
		return 1
	case c.pending.active:
		return 2
	}
	if c.head == c.tail {
		if c.err = c.loadHead(); c.err != nil {
			return 1
		}
		if c.head == c.tail {
			return 0
		}
	}
	if c.err = c.next(); c.err != nil {
		return 1
	}
	if c.pending.active {
		atomic.StoreUint64(c.r.tail, c.tail)
		return 2
	}
	return 1
}

func (c *consumer) copyOut(at uint64, b []byte) {
	k := copy(b, c.r.data[at:])
	copy(b[k:], c.r.data)
}
