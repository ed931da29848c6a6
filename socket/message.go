package socket

import (
	"math/bits"
	"sync/atomic"
)

// headroom is the space kept free in front of a pooled message body, so that a
// protocol header can be put in front of the body without a copy of the body
// (inproc carries header and body as one slice, as nng does).
const headroom = 64

// Message is one message: protocol header words, a body, and (for ZMTP
// multipart) further frames.
//
// Ownership: a successful Send takes the message, and the caller must not
// touch it afterwards; when Send fails the caller still owns it and may retry
// (as in nng). Recv gives the message to the caller, who may hand it back to
// the pool with Free when done, or simply drop it.
//
// A large message received over shm:// may be loaned (Loaned reports it):
// its Body is memory shared with the sending process, valid until the
// message is freed or dropped, and the peer can still write to it. Keep the
// message while using the body, and call Detach to copy it out when it must
// outlive the message or stay unchanged.
type Message struct {
	// The fields a message's every hand-over touches come first, so that
	// they share one cache line: a message made on one core and freed on
	// another moves that line, not the whole struct (see the layout test).

	// Header holds protocol header words (SP request ids, backtraces, hop
	// counts). Patterns fill and read it; applications of cooked sockets
	// never need it. Raw sockets expose it.
	Header []byte
	// Body is the payload, or the first frame of a multipart message.
	Body []byte
	loan *loan // set when Body is a loan of shared memory (loan.go)
	// Pipe is the pipe a received message arrived on; zero on messages the
	// application made. Raw sockets route replies by it.
	Pipe PipeID
	// Control marks a subscription change rather than data (Body is the
	// topic), as ZMTP carries them between subscribers and publishers.
	Control Control
	// free marks a message in the pool, so that freeing it twice in a row
	// is harmless.
	free  bool
	class int8 // pool size class, or -1 when not pooled
	// shared is set while the message has owners besides its holder
	// (Share); shares counts them.
	shared bool

	// Frames are further frames of a multipart message (ZMTP). SP carries a
	// single body: on an SP pipe the frames follow the body as one.
	Frames [][]byte

	buf []byte // pooled backing array; Body starts at buf[headroom:] when fresh
	// inline backs Frames for messages of up to four frames, so that
	// reading one, or a ROUTER's putting an id in front of a REQ's
	// [request id, delimiter, body], allocates no slice.
	inline [3][]byte
	shares atomic.Int32
	// The struct fills three cache lines exactly, so that the allocator's
	// 192-byte class puts each message on line boundaries.
	_ [4]byte
}

// Control says what a control message does.
type Control uint8

// Control messages.
const (
	ControlNone      Control = iota // a data message
	ControlSubscribe                // subscribe to the topic in Body
	ControlCancel                   // cancel one subscription to the topic in Body
	// ControlSubscribeMany subscribes to each topic in Body, each a
	// 4-byte big-endian length and its bytes (Pipe.TellSubscriptions;
	// Message.Topics reads them).
	ControlSubscribeMany
)

// Size classes of the message pool: powers of two from 64 bytes to 16 MiB
// of body, those from 4 KiB up with classSlack bytes more, so that a body
// of a power-of-two size with its protocol header (an SP request's 4-byte
// id, a backtrace) stays in its class rather than taking one twice its
// size: one way, 1 MiB REQ/REP in SP took 0.90x the time over tcp and
// over ipc with the slack than without (medians of 10 and 8 pairs), where
// its request had been in the 2 MiB class. Bodies above
// the largest class are allocated and left to the GC.
const (
	minClassShift   = 6
	maxClassShift   = 24
	numClasses      = maxClassShift - minClassShift + 1
	slackClassShift = 12
	classSlack      = 64
)

func classOf(size int) int8 {
	if size <= 1<<minClassShift {
		return 0
	}
	if size > 1<<slackClassShift+classSlack {
		size -= classSlack
	} else if size > 1<<slackClassShift {
		return slackClassShift - minClassShift
	}
	c := bits.Len(uint(size-1)) - minClassShift
	if c >= numClasses {
		return -1
	}
	return int8(c)
}

// classSize is the largest body of class c.
func classSize(c int8) int {
	shift := int(c) + minClassShift
	if shift >= slackClassShift {
		return 1<<shift + classSlack
	}
	return 1 << shift
}

// NewMessage returns a message from the pool whose Body has length size.
// The body's contents are not zeroed.
func NewMessage(size int) *Message {
	c := classOf(size)
	if c < 0 {
		return (&Message{buf: make([]byte, headroom+size), class: -1}).reset(size)
	}
	if m := pools[c].get(); m != nil {
		m.free = false
		return m.reset(size)
	}
	return newPooled(c).reset(size)
}

// newPooled allocates a message of class c, for the pool.
func newPooled(c int8) *Message {
	return &Message{buf: make([]byte, headroom+classSize(c)), class: c}
}

func (m *Message) reset(size int) *Message {
	m.Header = m.buf[:0:0]
	m.Body = m.buf[headroom : headroom+size]
	if m.Frames != nil { // written only when set: it is on another cache line
		m.Frames = nil
	}
	m.Pipe = 0
	m.Control = ControlNone
	return m
}

// NewMessageBytes returns a pooled message whose body is a copy of b.
func NewMessageBytes(b []byte) *Message {
	m := NewMessage(len(b))
	copy(m.Body, b)
	return m
}

// Free returns the message to the pool. The message and every slice taken
// from it must not be used afterwards. Freeing is optional: a message that is
// dropped instead is collected by the GC.
func (m *Message) Free() {
	if m.retire() {
		pools[m.class].put(m)
	}
}

// retire does what Free does short of pooling m, and reports whether m is
// now to be pooled: not when other owners share it, when it was a loan
// (ended here), when it is not of the pool, or when it was freed already.
func (m *Message) retire() bool {
	if m != nil && m.shared && m.unshare() {
		return false
	}
	if m != nil && m.loan != nil {
		m.retireLoan()
		return false
	}
	if m == nil || m.class < 0 || m.buf == nil || m.free {
		return false
	}
	m.Header, m.Body = nil, nil
	if m.Frames != nil { // written only when set: it is on another cache line
		m.Frames = nil
		clear(m.inline[:])
	}
	m.free = true
	return true
}

// Share adds an owner to m, for a sender that keeps a message it sends (a
// request kept for resending, a publication sent on to the next
// subscriber) without copying it: m goes back to the pool
// only when every owner has freed it. Nobody may change a shared message;
// a message transport (inproc), whose peer would own and may change what
// it is given, is given a copy. Share only messages of the pool that are
// not loans.
func (m *Message) Share() {
	m.shares.Add(1)
	if !m.shared { // set by the first share; another owner may be reading it
		m.shared = true
	}
}

// unshare drops one owner of a shared message and reports whether others
// remain. The last one to let go clears the mark, after every other has
// dropped its share.
func (m *Message) unshare() bool {
	if m.shares.Add(-1) >= 0 {
		return true
	}
	m.shares.Store(0)
	m.shared = false
	return false
}

// Len returns the size of the message's content: header, body and frames.
func (m *Message) Len() int {
	n := len(m.Header) + len(m.Body)
	for _, f := range m.Frames {
		n += len(f)
	}
	return n
}

// Clone returns a pooled deep copy of m (header, body and frames), for
// patterns that send one message to several pipes.
func (m *Message) Clone() *Message {
	c := NewMessage(len(m.Body))
	copy(c.Body, m.Body)
	if len(m.Header) > 0 {
		c.SetHeader(m.Header)
	}
	c.Frames = copyFrames(m.Frames)
	c.Pipe = m.Pipe
	c.Control = m.Control
	return c
}

// copyFrames returns copies of frames in one allocation, each capped so
// that appending to one cannot run into the next (nil for none).
func copyFrames(frames [][]byte) [][]byte {
	if len(frames) == 0 {
		return nil
	}
	size := 0
	for _, f := range frames {
		size += len(f)
	}
	buf := make([]byte, 0, size)
	out := make([][]byte, len(frames))
	for i, f := range frames {
		buf = append(buf, f...)
		out[i] = buf[len(buf)-len(f) : len(buf) : len(buf)]
	}
	return out
}

// PrependHeaderToBody moves the header words in front of the body, using the
// free room in front of the body when there is enough, and clears Header.
// Message transports (inproc) call it so the receiving pattern finds the
// words where a stream transport would have put them.
func (m *Message) PrependHeaderToBody() {
	h := len(m.Header)
	if h == 0 {
		return
	}
	if off := bodyOffset(m.buf, m.Body); off >= h {
		nb := m.buf[off-h : off+len(m.Body)]
		copy(nb, m.Header) // copy handles a header that overlaps nb
		m.Body = nb
		m.Header = m.buf[:0:0]
		return
	}
	nb := make([]byte, h+len(m.Body))
	copy(nb, m.Header)
	copy(nb[h:], m.Body)
	m.Body = nb
	m.Header = nil
}

// TrimHeader moves the first n bytes of the body into the header (appending
// to what the header holds), without copying when header and body are
// adjacent. It is how patterns take their header words off a received body.
func (m *Message) TrimHeader(n int) {
	if n == 0 {
		return
	}
	if m.loan != nil {
		// Header words are read and kept by patterns: a copy, which the
		// peer cannot change under them.
		m.appendLoanHeader(m.Body[:n])
		m.Body = m.Body[n:]
		return
	}
	if len(m.Header) == 0 {
		m.Header = m.Body[:n:n]
	} else if off := bodyOffset(m.buf, m.Header); off >= 0 && adjacent(m.Header, m.Body) {
		// The header's capacity stops at the body: extend it through buf.
		end := off + len(m.Header) + n
		m.Header = m.buf[off:end:end]
	} else {
		m.Header = append(m.Header, m.Body[:n]...)
	}
	m.Body = m.Body[n:]
}

// SetHeader makes a copy of h the message's header, in the room in front of
// the body when there is enough and none of Frames lies in it (no
// allocation), else in a new slice. What sat in front of the body (an old
// header) is overwritten.
func (m *Message) SetHeader(h []byte) {
	m.setHeaderBefore(h, m.Body)
}

// framesIn reports whether any of m's frames has bytes in buf[from:to].
func (m *Message) framesIn(from, to int) bool {
	for _, f := range m.Frames {
		if off := bodyOffset(m.buf, f); off >= 0 && off < to && off+len(f) > from {
			return true
		}
	}
	return false
}

// setHeaderBefore is SetHeader for a message whose envelope frames, front
// first, were just taken off (envelope.go): the room is looked for in front
// of front, then in front of the body, where those frames were in a
// message read whole into one buffer (through_large.go's lead frames, the
// first of them empty and so of no capacity), as long as no frame still
// held lies in it.
func (m *Message) setHeaderBefore(h, front []byte) {
	at := front
	if bodyOffset(m.buf, front) < len(h) {
		at = m.Body
	}
	if off := bodyOffset(m.buf, at); off >= len(h) && !m.framesIn(off-len(h), off) {
		m.Header = m.buf[off-len(h) : off : off]
		copy(m.Header, h) // as memmove: h may lie in that room
		return
	}
	if m.loan != nil {
		m.Header = m.Header[:0]
		m.appendLoanHeader(h)
		return
	}
	m.Header = append([]byte(nil), h...)
}

// prependFrames puts head in front of m's Frames, in m's inline array when
// all of them fit (no allocation), whatever array Frames and head are in.
func (m *Message) prependFrames(head [][]byte) {
	n := len(head) + len(m.Frames)
	if n == 0 {
		m.Frames = nil
		return
	}
	if n > len(m.inline) {
		m.Frames = append(append(make([][]byte, 0, n), head...), m.Frames...)
		return
	}
	var fs [len(m.inline)][]byte
	copy(fs[copy(fs[:], head):], m.Frames)
	m.inline = fs
	m.Frames = m.inline[:n]
}

// PushFrame makes a copy of f the message's first frame (Body) and moves the
// body to the front of Frames: how a ROUTER puts a routing id in front of
// what arrived. The copy goes into the free room in front of the body when
// there is enough and the message has no header, and Frames uses the
// message's own array while it holds up to three frames, so that a routing
// id of up to 64 bytes costs no allocation.
func (m *Message) PushFrame(f []byte) {
	var id []byte
	if off := bodyOffset(m.buf, m.Body); len(m.Header) == 0 && off >= len(f) {
		id = m.buf[off-len(f) : off : off]
		copy(id, f)
	} else if l := m.loan; l != nil && !l.frameUsed && len(f) <= len(l.frame) {
		l.frameUsed = true // a loan has no buffer of its own: its holder's room
		id = l.frame[:len(f):len(f)]
		copy(id, f)
	} else {
		id = append([]byte(nil), f...)
	}
	n := len(m.Frames)
	if n+1 <= len(m.inline) {
		copy(m.inline[1:n+1], m.Frames) // Frames may be inline itself: copy moves
		m.inline[0] = m.Body
		m.Frames = m.inline[:n+1]
	} else {
		frames := make([][]byte, 0, n+1)
		frames = append(frames, m.Body)
		m.Frames = append(frames, m.Frames...)
	}
	m.Body = id
}
