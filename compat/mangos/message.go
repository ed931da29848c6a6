package mangos

import (
	"sync"
	"sync/atomic"

	"github.com/mqwire/mqwire/compat/mangos/internal/bridge"
	"github.com/mqwire/mqwire/socket"
)

// Message is a message with its SP header (raw sockets read and write it;
// cooked ones leave it empty) and the pipe it arrived on. As in mangos,
// messages are recycled: after Free (or a successful SendMsg, which takes
// the message) neither it nor its Body may be used.
type Message struct {
	// Header is the SP protocol header: request ids, backtraces, hop
	// counts. Only raw sockets use it.
	Header []byte
	// Body is the payload.
	Body []byte
	// Pipe is the pipe a received message came on; a raw socket sends a
	// reply back on it through the header, not through this field.
	Pipe Pipe

	refs atomic.Int32 // holders less one
	// native is the mqwire message whose memory Body uses (nil if none),
	// nativeBody its body as it was handed out: while Body still starts
	// where nativeBody does, sending needs no copy.
	native     *socket.Message
	nativeBody []byte
}

// messages recycles Message structs, as mangos does.
var messages = sync.Pool{New: func() any { return new(Message) }}

// NewMessage returns an empty message whose body has room for at least sz
// bytes, from mqwire's pool.
func NewMessage(sz int) *Message {
	return wrap(socket.NewMessage(sz), false, true)
}

// wrap returns a message holding n; empty makes its body empty, with n's
// room.
func wrap(n *socket.Message, raw, empty bool) *Message {
	m := messages.Get().(*Message)
	m.native, m.nativeBody = n, n.Body
	m.Body = n.Body
	if empty {
		m.Body = n.Body[:0]
	}
	m.Header = nil
	if raw {
		m.Header = n.Header
	}
	m.Pipe = nil
	m.refs.Store(0)
	return m
}

// Free gives up one hold on the message (see Clone); the last recycles it.
func (m *Message) Free() {
	if m == nil || m.refs.Add(-1) >= 0 {
		return
	}
	if m.native != nil {
		m.native.Free()
	}
	m.native, m.nativeBody, m.Header, m.Body, m.Pipe = nil, nil, nil, nil, nil
	messages.Put(m)
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

// sameStart reports whether b starts where orig does and lies within it.
func sameStart(b, orig []byte) bool {
	return cap(b) > 0 && cap(orig) > 0 && cap(b) <= cap(orig) && &b[:1][0] == &orig[:1][0]
}

func init() {
	bridge.Wrap = func(n *socket.Message, raw bool, pipe any) any {
		if n.Loaned() {
			n.Detach() // mangos code expects a body nobody else writes to
		}
		m := wrap(n, raw, false)
		if pipe != nil {
			m.Pipe = pipe.(Pipe)
		}
		return m
	}
	bridge.Native = func(x any, raw bool) (*socket.Message, bool) {
		m := x.(*Message)
		n, reused := m.native, false
		if n != nil && m.refs.Load() == 0 && sameStart(m.Body, m.nativeBody) {
			n.Body, reused = m.Body, true
		} else {
			n = socket.NewMessageBytes(m.Body)
		}
		if raw {
			n.SetHeader(m.Header)
		} else {
			n.SetHeader(nil)
		}
		n.Pipe = 0 // a raw socket routes by the header, as mangos's do
		return n, reused
	}
	bridge.Sent = func(x any, reused bool) {
		m := x.(*Message)
		if reused {
			m.native = nil // the send took it
		}
		m.Free() // the sender's hold; another holder's (Clone) stays
	}
}
