package mangos

import "sync/atomic"

// Message is a message with its SP header (raw sockets read and write it;
// cooked ones leave it empty) and the pipe it arrived on.
type Message struct {
	// Header is the SP protocol header: request ids, backtraces, hop
	// counts. Only raw sockets use it.
	Header []byte
	// Body is the payload.
	Body []byte
	// Pipe is the pipe a received message came on; a raw socket sends a
	// reply back on it through the header, not through this field.
	Pipe Pipe

	refs atomic.Int32 // holders less one (NewMessage makes one holder)
}

// NewMessage returns an empty message whose body has room for sz bytes.
func NewMessage(sz int) *Message {
	return &Message{Body: make([]byte, 0, sz)}
}

// Free gives up one hold on the message (see Clone). The memory is the
// garbage collector's to take back: nothing is recycled, so a body kept
// after Free stays valid.
func (m *Message) Free() {
	if m != nil {
		m.refs.Add(-1)
	}
}

// Clone adds a hold on the message, which a later Free gives up; while
// more than one holder has it, MakeUnique copies it.
func (m *Message) Clone() { m.refs.Add(1) }

// MakeUnique returns m if it has one holder, else a copy, giving up the
// caller's hold on m.
func (m *Message) MakeUnique() *Message {
	if m.refs.Load() <= 0 {
		return m
	}
	d := m.Dup()
	m.Free()
	return d
}

// Dup returns a copy of the message: header, body and pipe.
func (m *Message) Dup() *Message {
	d := NewMessage(len(m.Body))
	d.Body = append(d.Body, m.Body...)
	d.Header = append([]byte(nil), m.Header...)
	d.Pipe = m.Pipe
	return d
}
