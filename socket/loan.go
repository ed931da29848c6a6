package socket

import (
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/mqwire/mqwire/internal/streamcopy"
)

// Loaned bodies: on a connection that implements LoanConn (shm://), a large
// body can arrive as a loan, a slice of memory shared with the peer, and is
// handed to the application without a copy. Such a message owns the loan:
// Free gives it back to the peer, and so does the garbage collector if the
// message is dropped without Free. Its Body is valid only while the message
// is, and it is memory the peer can still write to: Detach copies it out
// for a reader that must keep it or needs it stable.

// loan is the holder of a loaned message's body. A message made for loans
// keeps its holder for life and goes back to loanedMessages when freed, so
// that taking a loan allocates nothing; the collector's cleanup, attached
// once when the message is made, gives back a loan still active when the
// message is dropped without Free. active is atomic because that cleanup
// runs on another goroutine.
type loan struct {
	by     loanReleaser // the connection that lent the body
	token  uint64
	active atomic.Bool
	// header is room for the message's header words (an SP request id, a
	// backtrace), which patterns take off the body and put back on
	// replies: the message has no pooled buffer to keep them in.
	header [32]byte
	// frame is room for one frame PushFrame puts in front (a ROUTER's
	// routing id), once; frameUsed says it holds one.
	frame     [32]byte
	frameUsed bool
}

// appendLoanHeader appends b to the header of a loaned message, in its
// holder's room when it fits.
func (m *Message) appendLoanHeader(b []byte) {
	room := m.loan.header[:]
	k := len(m.Header)
	if k+len(b) > len(room) {
		m.Header = append(m.Header, b...)
		return
	}
	if k > 0 && &m.Header[0] != &room[0] {
		copy(room, m.Header)
	}
	copy(room[k:], b)
	m.Header = room[: k+len(b) : k+len(b)]
}

// loanReleaser gives back what a LoanConn lent.
type loanReleaser interface{ ReleaseLoan(token uint64) }

// loanedMessages holds freed messages made for loans, each with its holder.
var loanedMessages sync.Pool

// dropped runs on the collector's cleanup goroutine once a message made for
// loans is unreachable: if it still held a loan, the loan goes back.
func (l *loan) dropped() {
	if l.active.Load() {
		l.by.ReleaseLoan(l.token)
	}
}

// newLoanedMessage returns a message whose body is lent by `by` under
// token.
func newLoanedMessage(body []byte, by loanReleaser, token uint64) *Message {
	m, _ := loanedMessages.Get().(*Message)
	if m == nil {
		m = &Message{class: -1, loan: &loan{}}
		runtime.AddCleanup(m, (*loan).dropped, m.loan)
	}
	m.free = false
	m.Body = body
	m.loan.by, m.loan.token = by, token
	m.loan.frameUsed = false
	m.loan.active.Store(true)
	return m
}

// Loaned reports whether m's body (or a frame of it) is a loan of memory
// shared with the peer (see Detach).
func (m *Message) Loaned() bool { return m.loan != nil }

// Detach copies a loaned body and frames into memory of m's own and gives
// the loan back, so that the message can be kept as long as needed and no
// longer changes if the peer writes to the shared memory. It does nothing
// to a message that is not loaned.
func (m *Message) Detach() {
	if m.loan == nil {
		return
	}
	n := len(m.Body)
	for _, f := range m.Frames {
		n += len(f)
	}
	c := NewMessage(n)
	buf := c.Body
	k := copy(buf, m.Body)
	m.Body = buf[:k:k]
	for i, f := range m.Frames {
		m.Frames[i] = buf[k : k+len(f) : k+len(f)]
		k += copy(buf[k:], f)
	}
	m.buf, m.class = c.buf, c.class
	m.endLoan()
	m.loan = nil // a message of the pool now; the holder stays with the cleanup
}

// endLoan gives m's loan back, once: the holder is inactive afterwards.
func (m *Message) endLoan() {
	l := m.loan
	if l.active.Swap(false) {
		l.by.ReleaseLoan(l.token)
	}
	l.by = nil
}

// retireLoan frees a loaned message: its loan goes back, and the message,
// with its holder, to loanedMessages. A message freed already is left be.
func (m *Message) retireLoan() {
	if m.free {
		return
	}
	m.endLoan()
	m.Header, m.Body, m.Frames = nil, nil, nil
	clear(m.inline[:])
	m.Pipe, m.Control = 0, ControlNone
	m.free = true
	loanedMessages.Put(m)
}

// loanConn returns c as a LoanConn, or nil when it carries no loans.
func loanConn(c net.Conn) LoanConn {
	lc, _ := c.(LoanConn)
	return lc
}

// readBodyOrLoan reads a body of size bytes as readBody does, or takes it
// as a loan when lc offers one: only where the body starts right after
// everything buffered, since a loan is a record of its own in the stream.
func readBodyOrLoan(br *readBuffer, size int, lc LoanConn) (*Message, error) {
	return readBodyOrLoanFrom(br, br.Buffered(), size, lc)
}

// readBodyOrLoanFrom is readBodyOrLoan for any reader r that holds buffered
// bytes read ahead of the stream.
func readBodyOrLoanFrom(r io.Reader, buffered, size int, lc LoanConn) (*Message, error) {
	if lc != nil && size >= lc.LoanMin() && buffered == 0 {
		if body, token, ok := lc.ReadLoan(size); ok {
			return newLoanedMessage(body, lc, token), nil
		}
	}
	return readBody(r, size)
}

// loan returns a loaned buffer of n bytes to send a body in, or nil when
// the connection has none to give.
func (w *streamWriter) loan(n int) []byte {
	if w.loans == nil || n < w.loanMin || w.err != nil {
		return nil
	}
	if b, ok := w.loans.Loan(n); ok {
		return b
	}
	return nil
}

// sendLoan writes everything pending, then the loaned buffer b.
func (w *streamWriter) sendLoan(b []byte) {
	if len(w.segs) > 0 {
		if err := w.flush(); err != nil && w.err == nil {
			w.err = err
		}
	}
	// b must go to WriteLoan even after an error, so that the transport
	// takes its slot back.
	if err := w.loans.WriteLoan(w.buf, b); err != nil && w.err == nil {
		w.err = err
	}
	w.buf = w.buf[:0]
	w.segStart = 0
}

// appendFrame adds one body (a ZMTP frame) to the batch: as a loan when it
// is large enough and the connection has one, else as appendBody does.
func (w *streamWriter) appendFrame(b []byte) {
	if lb := w.loan(len(b)); lb != nil {
		streamcopy.Copy(lb, b)
		w.sendLoan(lb)
		return
	}
	w.appendBody(b)
}
