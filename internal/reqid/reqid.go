// Package reqid keeps the ids that req0 and surveyor0 put in front of each
// request or survey, and what waits for the reply or the answers to each.
// An id is 32 bits with the high bit set (it ends an SP backtrace), and
// ids count up from a random start, as in nng, so that a reply to a socket
// that has since been replaced by another is not taken for its own.
package reqid

import (
	"encoding/binary"
	"iter"
	"maps"
	"math/rand/v2"

	"github.com/mqwire/mqwire/socket"
)

// Table holds the ids in flight and what waits for each. The caller
// guards it with a lock of its own.
type Table[W any] struct {
	last    uint32 // the low 31 bits of the last id given out
	waiting map[uint32]W
}

// NewTable returns an empty table whose ids start at a random place.
func NewTable[W any]() Table[W] {
	return Table[W]{last: rand.Uint32() & 0x7fffffff, waiting: map[uint32]W{}}
}

// Start gives m a new id as its header (one big-endian word) and records w
// as waiting for it; it returns the id.
func (t *Table[W]) Start(m *socket.Message, w W) uint32 {
	t.last = (t.last + 1) & 0x7fffffff
	id := t.last | 0x80000000
	var word [4]byte
	binary.BigEndian.PutUint32(word[:], id)
	m.SetHeader(word[:])
	t.waiting[id] = w
	return id
}

// Waiting returns what waits for id, if anything does.
func (t *Table[W]) Waiting(id uint32) (W, bool) {
	w, ok := t.waiting[id]
	return w, ok
}

// End forgets id: a reply or answer that carries it is late from now on.
func (t *Table[W]) End(id uint32) { delete(t.waiting, id) }

// All returns what waits, for every id in flight, in no order.
func (t *Table[W]) All() iter.Seq[W] { return maps.Values(t.waiting) }

// Of returns the id at the front of m's header, where the pattern put the
// first word of a reply's or answer's body; the header holds at least 4
// bytes.
func Of(m *socket.Message) uint32 { return binary.BigEndian.Uint32(m.Header) }
