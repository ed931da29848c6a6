// Package scratch keeps a reusable byte buffer that follows the sizes it
// is asked for: it grows at once for a large one, and lets a large buffer
// go only after a run of small uses, so that a connection that carried one
// large message does not hold its size for good, and one that carries
// large messages between small pieces does not allocate each time.
package scratch

// Buf is a reusable buffer; its zero value is ready.
type Buf struct {
	b     []byte
	small int // uses in a row that needed under a quarter of a large b
}

// keepFor is how many small uses in a row a large buffer survives, and
// large what counts as one.
const (
	keepFor = 64
	large   = 64 << 10
)

// Get returns the buffer, empty, with room for n bytes. What it returned
// before must no longer be used.
func (s *Buf) Get(n int) []byte {
	switch {
	case cap(s.b) < n:
		s.b, s.small = make([]byte, 0, max(n, 512)), 0
	case cap(s.b) > large && n < cap(s.b)/4:
		if s.small++; s.small > keepFor {
			s.b, s.small = make([]byte, 0, max(n, 512)), 0
		}
	default:
		s.small = 0
	}
	return s.b[:0]
}

// Keep makes b, grown from what Get returned, the buffer Get returns next.
func (s *Buf) Keep(b []byte) { s.b = b }
