package socket

import (
	"errors"
	"io"

	"github.com/mqwire/mqwire/internal/streamcopy"
	"github.com/mqwire/mqwire/wire/sp"
)

// streamCodec is a pipe's dialect on a byte stream: how a message is framed.
// Whoever holds the pipe's read turn calls readMessage (its reader
// goroutine, or an application reading through), whoever holds its write
// turn appendMessage (see through.go).
type streamCodec interface {
	// name is the dialect's name in statistics ("sp").
	name() string
	// readMessage reads one message. It checks every announced size against
	// limit (0: none) before allocating. io.EOF means the stream ended
	// cleanly between messages; io.ErrUnexpectedEOF that it ended inside
	// one; errors matching ErrProtocol that the peer broke the dialect.
	// It returns a nil message and no error after a command that needs no
	// delivery.
	readMessage(br *readBuffer, limit uint64) (*Message, error)
	// whole tells whether b, the front of the read buffer, holds a whole
	// message or command (wholeYes), or only the start of one
	// (wholeNo), or the start of one larger than the buffer (wholeLarge).
	whole(b []byte, limit uint64) int
	// startLarge begins the message at the front of br, one that whole
	// found larger than the buffer, when only its last part is not
	// buffered (SP's body; a ZMTP message whose frames before the last
	// are) and the connection lends none: it reads what is buffered of it
	// into a bodyRead, which the caller fills, perhaps in parts, and
	// finishes with endLarge. For any other message it reads nothing and
	// reports false.
	startLarge(br *readBuffer, limit uint64) (b bodyRead, ok bool)
	// endLarge finishes a message begun by startLarge, its body read.
	endLarge(m *Message) (*Message, error)
	// appendMessage adds m's wire form to the writer's batch.
	appendMessage(w *streamWriter, m *Message)
	// overhead is how many bytes besides large bodies appendMessage adds.
	overhead(m *Message) int
	// setLoans gives the codec the pipe's connection when it can carry
	// loaned bodies.
	setLoans(lc LoanConn)
}

// spCodec frames SP messages: a length (and on ipc a type byte), then the
// header words and the body.
type spCodec struct {
	framing sp.Framing
	loans   LoanConn // the connection, if it carries loaned bodies
	hdr     [9]byte  // the reader's frame header, here so it is not allocated per message
}

func (*spCodec) name() string { return "sp" }

func (c *spCodec) setLoans(lc LoanConn) { c.loans = lc }

func (c *spCodec) overhead(m *Message) int {
	n := c.framing.FrameHeaderSize() + len(m.Header)
	for _, f := range m.Frames {
		if len(f) <= copyLimit {
			n += len(f)
		}
	}
	return n
}

func (c *spCodec) appendMessage(w *streamWriter, m *Message) {
	n := m.Len()
	w.buf = c.framing.AppendFrameHeader(w.buf, uint64(n))
	if lb := w.loan(n); lb != nil {
		// The peer reads header words and body as one payload: the loan
		// carries all of it.
		k := copy(lb, m.Header)
		k += streamcopy.Copy(lb[k:], m.Body)
		for _, f := range m.Frames {
			k += streamcopy.Copy(lb[k:], f)
		}
		w.sendLoan(lb)
		return
	}
	w.buf = append(w.buf, m.Header...)
	w.appendBody(m.Body)
	for _, f := range m.Frames { // SP has no multipart: frames follow as one body
		w.appendBody(f)
	}
}

func (c *spCodec) readMessage(br *readBuffer, limit uint64) (*Message, error) {
	hn := c.framing.FrameHeaderSize()
	if _, err := io.ReadFull(br, c.hdr[:hn]); err != nil {
		return nil, err
	}
	size, err := c.framing.ParseFrameHeader(c.hdr[:hn], limit)
	if err == nil && size > maxMessageSize {
		err = errTooLargeForMemory(size)
	}
	if err != nil {
		return nil, err
	}
	m, err := readBodyOrLoan(br, int(size), c.loans)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return m, err
}
