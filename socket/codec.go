package socket

import (
	"bufio"
	"errors"
	"io"

	"github.com/mqwire/mqwire/wire/sp"
)

// streamCodec is a pipe's dialect on a byte stream: how a message is framed.
// The pipe's reader goroutine calls readMessage, its writer goroutine
// appendMessage; a codec is used by those two goroutines only.
type streamCodec interface {
	// name is the dialect's name in statistics ("sp").
	name() string
	// readMessage reads one message. It checks every announced size against
	// limit (0: none) before allocating. io.EOF means the stream ended
	// cleanly between messages; io.ErrUnexpectedEOF that it ended inside
	// one; errors matching ErrProtocol that the peer broke the dialect.
	readMessage(br *bufio.Reader, limit uint64) (*Message, error)
	// appendMessage adds m's wire form to the writer's batch.
	appendMessage(w *streamWriter, m *Message)
	// overhead is how many bytes besides large bodies appendMessage adds.
	overhead(m *Message) int
}

// spCodec frames SP messages: a length (and on ipc a type byte), then the
// header words and the body.
type spCodec struct {
	framing sp.Framing
	hdr     [9]byte // the reader's frame header, here so it is not allocated per message
}

func (*spCodec) name() string { return "sp" }

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
	w.buf = c.framing.AppendFrameHeader(w.buf, uint64(m.Len()))
	w.buf = append(w.buf, m.Header...)
	w.appendBody(m.Body)
	for _, f := range m.Frames { // SP has no multipart: frames follow as one body
		w.appendBody(f)
	}
}

func (c *spCodec) readMessage(br *bufio.Reader, limit uint64) (*Message, error) {
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
	m, err := readBody(br, int(size))
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return m, err
}
