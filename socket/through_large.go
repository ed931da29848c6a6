package socket

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// A message larger than the read buffer, read through (through.go). The
// application reads its body in place whether or not its Recv's context
// can end: with the context's deadline as the read deadline, and a
// cancellation watch (watchCancel) to cut the read short. If the context
// ends inside the body, what was read (a bodyRead) goes with the read turn
// to the pipe's reader goroutine, which finishes it before anything else
// and queues it for the next Recv: the stream stays in step and the
// application does not wait past its context. The codecs say which
// messages can be read so (startLarge) and finish them (endLarge).

// readLargeAsApp reads, holding the read turn, the body of size bytes of
// a message startLarge began, and returns the message. When ctx ends
// first, or the socket gets a second pipe, or the pipe closes, it hands
// what it has read to the reader goroutine with the turn (p.largeRead,
// finished by finishLarge) and returns nil with what ReadThrough returns:
// a read cut short inside a message must not lose the stream, and the
// application must not wait past ctx's end. A large body so costs no
// hand-over unless ctx really ends inside it.
func (p *Pipe) readLargeAsApp(ctx context.Context, size int) (*Message, error) {
	b := startBody(size)
	whole, ended, err := p.readBodyAsApp(ctx, &b, p.br)
	switch {
	case whole:
		m, err := p.codec.endLarge(b.done())
		if err != nil {
			p.closeForRead(err)
			p.giveBack()
		}
		return m, nil
	case err != nil:
		p.closeForRead(err)
		p.giveBack()
		return nil, nil
	}
	p.largeRead = b
	p.giveBack()
	if ended {
		return nil, ctxErr(ctx)
	}
	return nil, nil
}

// readBodyAsApp reads the rest of b from r, holding the read turn, with
// ctx's deadline as the read deadline, and reports whether b is whole.
// If not, with no error, the caller hands b to the reader goroutine:
// ctx ended (ended), or the socket got a second pipe, or the pipe closes.
// A read error abandons b.
func (p *Pipe) readBodyAsApp(ctx context.Context, b *bodyRead, r io.Reader) (whole, ended bool, err error) {
	for {
		dl, _ := ctx.Deadline()
		p.conn.SetReadDeadline(dl)
		ended := ctx.Err() != nil || !dl.IsZero() && !time.Now().Before(dl)
		if ended || p.sock.solo.Load() != p || p.closing.Load() {
			largeHandOvers.Add(1)
			return false, ended, nil
		}
		err := b.fill(r)
		if err == nil {
			return true, false, nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			b.abandon()
			return false, false, err
		}
		// Cut short: ctx ended, a second pipe arrived, or a cancellation
		// watch of an earlier Recv fired late. Look again.
	}
}

// largeHandOvers counts the bodies readLargeAsApp handed over (for tests).
var largeHandOvers atomic.Int64

// finishLarge reads the rest of the body an application began reading
// through (readLargeAsApp) and returns its message: the reader goroutine's
// first job when it has the turn back.
func (p *Pipe) finishLarge() (*Message, error) {
	b := p.largeRead
	p.largeRead = bodyRead{}
	if err := b.fill(p.br); err != nil {
		b.abandon()
		return nil, err
	}
	return p.codec.endLarge(b.done())
}

func (c *spCodec) startLarge(br *readBuffer, limit uint64) (int, bool) {
	hn := c.framing.FrameHeaderSize()
	b := peekBuffered(br)
	if c.loans != nil || len(b) < hn {
		return 0, false
	}
	size, err := c.framing.ParseFrameHeader(b[:hn], limit)
	if err != nil || size > maxMessageSize {
		return 0, false
	}
	io.ReadFull(br, c.hdr[:hn]) // buffered: cannot fail
	return int(size), true
}

func (*spCodec) endLarge(m *Message) (*Message, error) { return m, nil }

// startLarge, for ZMTP, takes a message of one large data frame, or of an
// empty frame and then a large one: the delimiter a REQ or REP puts in
// front of each body (largeDelim).
func (c *zmtpCodec) startLarge(br *readBuffer, limit uint64) (int, bool) {
	b := peekBuffered(br)
	if c.loans != nil {
		return 0, false
	}
	h, hn, ok := bufferedFrameHeader(b, limit)
	delim := ok && h.More() && h.Size == 0 && !h.Command()
	off := 0
	if delim {
		off = hn
		h, hn, ok = bufferedFrameHeader(b[off:], limit)
	}
	if !ok || h.Command() || h.More() || h.Size > maxMessageSize {
		return 0, false
	}
	io.ReadFull(br, c.hdr[:off+hn]) // buffered: cannot fail
	c.seen.Add(1)
	if delim {
		c.seen.Add(1)
	}
	c.largeDelim = delim
	return int(h.Size), true
}

// bufferedFrameHeader parses the ZMTP frame header at the front of b, if
// b holds all of it and it is good.
func bufferedFrameHeader(b []byte, limit uint64) (zmtp.FrameHeader, int, bool) {
	if len(b) < zmtp.ShortHeaderSize || len(b) < zmtp.FrameHeaderLen(b[0]) {
		return zmtp.FrameHeader{}, 0, false
	}
	hn := zmtp.FrameHeaderLen(b[0])
	h, _, err := zmtp.ParseFrameHeader(b[:hn], limit)
	return h, hn, err == nil
}

// endLarge does what readMessage does with a message of one frame, or of
// an empty frame and a large one (which becomes the message's buffer, the
// empty frame an empty slice of it).
func (c *zmtpCodec) endLarge(m *Message) (*Message, error) {
	if c.largeDelim {
		c.largeDelim = false
		f := m.Body
		m.Body = f[:0]
		m.Frames = append(m.inline[:0], f)
	} else if c.publisher() {
		c.subscription(m)
	}
	if err := c.open(m); err != nil {
		m.Free()
		return nil, err
	}
	return m, nil
}
