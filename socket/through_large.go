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

// readLargeAsApp reads, holding the read turn, the rest of b, a message
// startLarge began (or takes its body as a loan, when the peer lent it),
// and returns the message. When ctx ends first, or the
// socket gets a second pipe, or the pipe closes, it hands what it has read
// to the reader goroutine with the turn (p.largeRead, finished by
// finishLarge) and returns nil with what ReadThrough returns: a read cut
// short inside a message must not lose the stream, and the application
// must not wait past ctx's end. A large body so costs no hand-over unless
// ctx really ends inside it.
func (p *Pipe) readLargeAsApp(ctx context.Context, b bodyRead) (*Message, error) {
	dl, _ := ctx.Deadline()
	m := b.takeLoan(dl, p.br.Buffered())
	if m == nil {
		b.begin()
		whole, ended, err := p.readBodyAsApp(ctx, &b, p.br)
		switch {
		case err != nil:
			p.closeForRead(err)
			p.giveBack()
			return nil, nil
		case !whole:
			p.largeRead = b
			p.giveBack()
			if ended {
				return nil, ctxErr(ctx)
			}
			return nil, nil
		}
		m = b.done()
	}
	largeAppReads.Add(1)
	m, err := p.codec.endLarge(m)
	if err != nil {
		p.closeForRead(err)
		p.giveBack()
	}
	return m, nil
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

// largeHandOvers counts the bodies readLargeAsApp handed over, and
// largeAppReads those it read whole (for tests).
var largeHandOvers, largeAppReads atomic.Int64

// finishLarge reads the rest of the body an application began reading
// through (readLargeAsApp) and returns its message: the reader goroutine's
// first job when it has the turn back.
func (p *Pipe) finishLarge() (*Message, error) {
	b := p.largeRead
	p.largeRead = bodyRead{}
	return completeLarge(p.codec, p.br, &b)
}

// completeLarge ends the read of the large message b, whose start c took
// from br: as the loan it still is when nothing of its body was read, else
// by reading the rest of its body from br.
func completeLarge(c streamCodec, br *readBuffer, b *bodyRead) (*Message, error) {
	if m := b.takeLoan(time.Time{}, br.Buffered()); m != nil {
		return c.endLarge(m)
	}
	if err := b.fill(br); err != nil {
		b.abandon()
		return nil, err
	}
	return c.endLarge(b.done())
}

func (c *spCodec) startLarge(br *readBuffer, limit uint64) (bodyRead, bool) {
	hn := c.framing.FrameHeaderSize()
	b := peekBuffered(br)
	if len(b) < hn {
		return bodyRead{}, false
	}
	size, err := c.framing.ParseFrameHeader(b[:hn], limit)
	if err != nil || size > maxMessageSize {
		return bodyRead{}, false
	}
	br.discard(hn)
	body := laterBody(int(size))
	body.loans = c.loans
	return body, true
}

func (*spCodec) endLarge(m *Message) (*Message, error) { return m, nil }

// maxLargeLead is how many frames a ZMTP message startLarge takes may have
// in front of its large last one: enough for the envelopes of a few hops
// of brokers.
const maxLargeLead = 8

// startLarge, for ZMTP, takes a message whose last data frame is the large
// one, the frames in front of it buffered: an empty delimiter (what a REQ
// or REP puts in front of each body), a routing envelope ahead of it, a
// DEALER's header frames. They go to the front of the body's buffer, as
// readMessage puts a frame after another where it fits.
func (c *zmtpCodec) startLarge(br *readBuffer, limit uint64) (bodyRead, bool) {
	b := peekBuffered(br)
	off, lead := 0, 0
	var total uint64 // of the frames in front
	for {
		left := uint64(0)
		if limit != 0 {
			left = max(limit-total, 1) // as readMessage checks each frame
		}
		h, hn, ok := bufferedFrameHeader(b[off:], left)
		if !ok || h.Command() || h.Size > maxMessageSize-total {
			return bodyRead{}, false
		}
		if !h.More() {
			off += hn
			total += h.Size
			break
		}
		if lead == maxLargeLead || h.Size > uint64(len(b)-off-hn) {
			return bodyRead{}, false
		}
		total += h.Size
		c.largeCuts[lead] = int(total)
		lead++
		off += hn + int(h.Size)
	}
	// Only now, with the message taken, the frames in front are copied.
	body := laterBody(int(total))
	if lead > 0 && c.largeCuts[lead-1] > 0 {
		body.begin()
		at, from := 0, 0
		for _, cut := range c.largeCuts[:lead] {
			from += zmtp.FrameHeaderLen(b[from])
			from += copy(body.m.Body[at:cut], b[from:])
			at = cut
		}
		body.n = at
	} else {
		// Only empty frames in front, if any: the body may come as a
		// loan, as readMessage takes it.
		body.loans = c.loans
	}
	br.discard(off)
	c.seen.Add(uint64(lead) + 1)
	c.largeLead = lead
	return body, true
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

// endLarge does what readMessage does with the message startLarge began,
// its body read: the frames in front of the last are slices of the one
// buffer, each capped at its end but the first, the Body, which keeps the
// buffer's capacity as readMessage's does: an empty one so still shows
// where it is, for the room in front of it (PushFrame, SetHeader).
func (c *zmtpCodec) endLarge(m *Message) (*Message, error) {
	if lead := c.largeLead; lead > 0 {
		c.largeLead = 0
		all := m.Body
		m.Body = all[:c.largeCuts[0]]
		m.Frames = m.inline[:0]
		for i := 1; i <= lead; i++ {
			end := len(all)
			if i < lead {
				end = c.largeCuts[i]
			}
			m.Frames = append(m.Frames, all[c.largeCuts[i-1]:end:end])
		}
	} else if c.publisher() {
		c.subscription(m)
	}
	if err := c.open(m); err != nil {
		m.Free()
		return nil, err
	}
	return m, nil
}
