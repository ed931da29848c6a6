package socket

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// Reading and writing through. A message that crosses from one goroutine to
// another costs a wake-up, and on small machines a wake-up is the larger
// part of a round trip: loopback ping-pong between two Go processes takes
// about 15 us one way when one goroutine reads and writes the connection,
// about 45 us with one goroutine hand-off on either side. So when a socket
// has one tcp or ipc pipe and the application waits in Recv, the waiting
// goroutine reads the connection itself (read-through), and while it does,
// its sends are written on its own goroutine when nothing is queued ahead of
// them (write-through).
//
// Reading is a turn. The pipe's reader goroutine holds it by default; Recv
// asks for it when it would wait, and the reader hands it over at the next
// point where it holds no half-read message (pipe.rstate). The application
// keeps the turn between calls, so a request-reply loop hands nothing over;
// the reader goroutine takes it back when the application has not read for
// awayLimit, so that a connection whose application is busy elsewhere is
// still read (heartbeats answered, disconnects seen). Whoever holds the
// turn owns the pipe's read buffer and codec state.
//
// Writing is a turn too (sendQueue.turn): the writer goroutine holds it
// while it writes; the application takes it only when the queue is empty
// and the writer idle, writes without waiting, and leaves what the
// connection did not take to the writer.

// The states of a pipe's read turn (Pipe.rstate).
const (
	rsOff     int32 = iota // the pipe's reading cannot be taken over
	rsReading              // the reader goroutine reads, perhaps inside a message
	rsWaiting              // the reader goroutine waits for bytes, with no message half read
	rsYield                // the application asked the reader goroutine for the turn
	rsApp                  // the application holds the turn and reads
	rsAway                 // the application holds the turn and is not reading
)

// awayLimit is how long the application may hold the read turn without
// reading before the reader goroutine takes it back. While the
// application keeps reading, the reader looks less and less often, up to
// every awayLimitMax, so that many pipes read through cost few wake-ups.
const (
	awayLimit    = 10 * time.Millisecond
	awayLimitMax = 160 * time.Millisecond
)

// awayMax is the longest the reader goroutine lets the application hold
// the read turn between looks: awayLimitMax, or a quarter of the shortest
// heartbeat interval, timeout or peer TTL on a ZMTP pipe with heartbeats,
// so that an application busy elsewhere still has PINGs answered and the
// peer's silence noticed well within those times.
func (p *Pipe) awayMax() time.Duration {
	m := awayLimitMax
	c, ok := p.codec.(*zmtpCodec)
	if !ok {
		return m
	}
	cfg := &p.sock.cfg
	for _, d := range [...]int64{cfg.heartbeatIvl.Load(), cfg.heartbeatTimeout.Load(), c.peerTTL.Load()} {
		if d > 0 {
			m = min(m, max(time.Duration(d)/4, time.Millisecond))
		}
	}
	return m
}

// aLongTimeAgo is a read deadline that makes a waiting read return at once.
var aLongTimeAgo = time.Unix(1, 0)

// ReadThrough reads the socket's connection on the calling goroutine until
// ready reports true or ctx ends, when the socket has a single tcp, ipc or
// shm pipe; messages read go to the protocol's Deliver as they would from the
// pipe's reader (or, on a pipe that reads in chunks, to its queue). It
// returns nil at once when it cannot read through (more pipes, another
// goroutine reading, a message too large for the read buffer, Conflate):
// the caller then waits as it would have. It returns ctx's error
// when ctx ended. Protocols call it from Recv where they would wait; ready
// must not block.
func (s *Socket) ReadThrough(ctx context.Context, ready func() bool) error {
	p := s.solo.Load()
	if p != nil && p.sendq.selfFlush {
		// The application is about to wait (every Recv that waits comes
		// here first, RecvWaiting after): what it queued last goes now.
		p.sendq.endDeferral()
	}
	if p == nil || p.rstate.Load() == rsOff || s.cfg.conflate.Load() {
		// (Under Conflate, the newest message is wanted: the one the
		// reader goroutine read last, not the first that an application
		// reading through would find.)
		return nil
	}
	ok, err := p.takeTurn(ctx)
	if !ok {
		return err
	}
	if p.br == nil {
		return p.readChunksAsApp(ctx, ready)
	}
	return p.readAsApp(ctx, ready)
}

// RecvWaiting tells the socket that a goroutine starts (delta 1) or stops
// (delta -1) waiting for a message without reading through, as a
// protocol's Recv does after ReadThrough returned. While any goroutine so
// waits, an application that read through gives the connection back to the
// pipe's reader when it has what it wanted, rather than keeping it for its
// next Recv: the waiting goroutines depend on someone reading.
func (s *Socket) RecvWaiting(delta int) {
	s.recvWaiting.Add(int32(delta))
	if delta > 0 {
		// An application that kept the turn but is not reading gives it
		// up now, on its behalf.
		if p := s.solo.Load(); p != nil && p.rstate.CompareAndSwap(rsAway, rsReading) {
			p.signalTurnBack()
		}
	}
}

// setSolo records the socket's only pipe, if it has one, and makes an
// application reading through a pipe that is no longer alone look again.
// It is called with s.mu held.
func (s *Socket) setSolo() {
	var solo *Pipe
	if len(s.pipes) == 1 {
		for _, p := range s.pipes {
			solo = p
		}
	}
	if old := s.solo.Swap(solo); old != nil && old != solo && old.rstate.Load() == rsApp {
		old.conn.SetReadDeadline(aLongTimeAgo)
	}
}

// initTurns readies a new pipe for reading and writing through, if its
// connection allows writes that do not wait (tcp, ipc, shm, and TLS or
// CURVE over them: sealed_through.go).
func (p *Pipe) initTurns() {
	tw, ok := p.conn.(TryWriter)
	if !ok {
		if p.sealed = sealedTryWriter(p.conn); p.sealed != nil {
			tw = p.sealed
		} else {
			tw = fdTryWriter(p.conn)
		}
		p.syscallWrites = tw != nil
	}
	if tw == nil {
		return
	}
	p.tryWriter = tw
	p.sendq.selfFlush = true
	p.turnGiven = make(chan struct{}, 1)
	p.turnBack = make(chan struct{}, 1)
	p.rstate.Store(rsReading)
}

// takeTurn gets the read turn for the application. It reports false when
// the turn is not to be had (the caller waits as usual), with ctx's error
// if ctx ended meanwhile.
func (p *Pipe) takeTurn(ctx context.Context) (bool, error) {
	for {
		switch st := p.rstate.Load(); st {
		case rsAway:
			if p.rstate.CompareAndSwap(rsAway, rsApp) {
				return true, nil
			}
		case rsWaiting:
			// The reader goroutine waits for bytes with nothing half
			// read: out of its read, it hands over. (One that is
			// reading may be waiting for room to deliver, which only
			// the caller can make: the caller waits as usual then. So
			// does a caller that others already wait with: the reader
			// reads for all of them.)
			if p.sock.recvWaiting.Load() > 0 {
				return false, nil
			}
			if !p.rstate.CompareAndSwap(rsWaiting, rsYield) {
				continue
			}
			p.conn.SetReadDeadline(aLongTimeAgo)
			select {
			case <-p.turnGiven:
				return true, nil
			case <-p.done:
				p.cancelYield()
				return false, nil
			case <-ctx.Done():
				p.cancelYield()
				return false, ctxErr(ctx)
			}
		default: // off, or another goroutine has the turn or asked for it
			return false, nil
		}
	}
}

// cancelYield withdraws a request for the turn; if the reader goroutine
// handed it over meanwhile, it goes back. Of this and the reader's
// handOver, the first to move the state from rsYield wins: the other sees
// the outcome.
func (p *Pipe) cancelYield() {
	if p.rstate.CompareAndSwap(rsYield, rsReading) {
		return // the reader ignores the timeout the request may cause
	}
	<-p.turnGiven
	p.giveBack()
}

// giveBack returns the read turn to the reader goroutine.
func (p *Pipe) giveBack() {
	p.rstate.Store(rsReading)
	p.signalTurnBack()
}

// signalTurnBack wakes the reader goroutine waiting in handOver to look
// at the turn again.
func (p *Pipe) signalTurnBack() {
	select {
	case p.turnBack <- struct{}{}:
	default:
	}
}

// readAsApp reads, holding the read turn, until ready reports true, ctx
// ends, or reading through stops making sense; then it keeps the turn
// (rsAway) or gives it back.
func (p *Pipe) readAsApp(ctx context.Context, ready func() bool) error {
	s, br := p.sock, p.br
	p.touched.Store(true)
	p.watchCancel(ctx)
	for {
		limit := uint64(s.cfg.maxRecvSize.Load())
		for {
			w := p.codec.whole(peekBuffered(br), limit)
			if w == wholeNo {
				break
			}
			var m *Message
			var err error
			switch {
			case w == wholeLarge && ctx.Done() != nil:
				// Reading it may wait past ctx's end: what is read
				// by then goes to the reader goroutine to finish.
				b, ok := p.codec.startLarge(br, limit)
				if !ok {
					// Not one large last part (a ZMTP message with
					// a large frame before its last, a loan): the
					// reader goroutine's job from the start.
					p.giveBack()
					return nil
				}
				var done error
				if m, done = p.readLargeAsApp(ctx, b); m == nil {
					return done
				}
			case w == wholeLarge:
				p.conn.SetReadDeadline(time.Time{})
				p.readingLarge = true
				m, err = p.codec.readMessage(br, limit)
				p.readingLarge = false
			default:
				m, err = p.codec.readMessage(br, limit)
			}
			if err != nil {
				p.closeForRead(err)
				p.giveBack()
				return nil
			}
			if m == nil {
				continue // a command, handled
			}
			if p.dropsRead() { // closed, perhaps by the pattern
				m.Free()
				p.giveBack()
				return nil
			}
			m.Pipe = p.id
			p.cnt.msgsIn.Add(1)
			p.cnt.bytesIn.Add(uint64(m.Len()))
			s.proto.Deliver(p, m)
			if ready() {
				p.leaveTurn()
				return nil
			}
		}
		if more, err := p.readMoreAsApp(ctx, ready, func() error { return p.fillSpinning(func() error { return fillBuffer(br) }, br.Buffered() == 0) }); !more {
			return err
		}
	}
}

// fillBuffer reads more bytes into br, waiting for at least one: the
// stream ending inside a message is io.ErrUnexpectedEOF.
func fillBuffer(br *readBuffer) error {
	_, err := br.Peek(br.Buffered() + 1)
	if errors.Is(err, io.EOF) && br.Buffered() > 0 {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readMoreAsApp is the step of an application reading through between two
// parses of what it has read: it ends the application's reading when
// ready reports true or ctx has ended, and otherwise reads more with read,
// which waits at most until ctx's deadline. It reports whether to parse
// again; if not, with what ReadThrough returns.
func (p *Pipe) readMoreAsApp(ctx context.Context, ready func() bool, read func() error) (bool, error) {
	if ready() {
		p.leaveTurn()
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		p.leaveTurn()
		return false, ctxErr(ctx)
	}
	dl, _ := ctx.Deadline()
	p.conn.SetReadDeadline(dl)
	if p.sock.solo.Load() != p || p.closing.Load() {
		// Not alone any more (setSolo may have cleared the deadline's
		// effect by our setting it), or closed.
		p.giveBack()
		return false, nil
	}
	if err := read(); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return true, nil // ctx ended, or a new pipe: look again
		}
		p.closeForRead(err)
		p.giveBack()
		return false, nil
	}
	return true, nil
}

// watchCancel makes ctx's cancellation, before its deadline or without
// one, cut the read turn's read short. The watch stays on ctx after the
// call, so that a loop of Recvs on one context registers once (a fresh
// registration per call cost six allocations); it moves when a Recv comes
// with another context, and ends with the pipe. A watch that fires after
// its Recv has returned makes the next read on the pipe time out early,
// and that read is retried. Only the holder of the read turn calls it.
func (p *Pipe) watchCancel(ctx context.Context) {
	if ctx == p.watched {
		return
	}
	if p.unwatch != nil {
		p.unwatch()
		p.watched, p.unwatch = nil, nil
	}
	if ctx.Done() != nil && !deadlineOnly(ctx) {
		p.watched = ctx
		p.unwatch = context.AfterFunc(ctx, func() { p.conn.SetReadDeadline(aLongTimeAgo) })
	}
}

// turnSource is what a pipe with a read turn reads from: its connection
// (conn, from directReader), except that while the holder reads a message
// too large for the buffer (p.readingLarge), a read cut short by a
// deadline in the past (a second pipe arriving, a late cancellation watch)
// is cleared and tried again: giving up inside a message would lose the
// stream. The holder looks at why it was cut short once the message is
// read.
type turnSource struct {
	p    *Pipe
	conn io.Reader
}

func (s turnSource) Read(b []byte) (int, error) {
	for {
		n, err := s.conn.Read(b)
		if n == 0 && s.p.cutShortInside(err) {
			continue
		}
		return n, err
	}
}

// cutShortInside reports whether err is a deadline that cut short a read
// inside a message too large for the buffer (p.readingLarge), and then
// clears the deadline for the read to be tried again.
func (p *Pipe) cutShortInside(err error) bool {
	if !p.readingLarge || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	p.conn.SetReadDeadline(time.Time{})
	return true
}

// leaveTurn ends the application's reading: it keeps the turn for its next
// Recv (rsAway), unless other goroutines wait for messages, whom the
// pipe's reader goroutine then reads for.
func (p *Pipe) leaveTurn() {
	if p.sock.recvWaiting.Load() > 0 {
		p.giveBack()
		return
	}
	p.rstate.Store(rsAway)
}

// waitBytes reads more bytes into br, handing the turn over first or
// meanwhile when the application asks. It reports false when the pipe is
// done.
func (p *Pipe) waitBytes(br *readBuffer) bool {
	return p.readForTurn(func() error { return fillBuffer(br) })
}

// readForTurn runs read, a read that may wait, on the reader goroutine of
// a pipe with a read turn: it hands the turn over first, or meanwhile,
// when the application asks for it (what was read stays for the
// application). It reports false when the pipe is done.
func (p *Pipe) readForTurn(read func() error) bool {
	if !p.rstate.CompareAndSwap(rsReading, rsWaiting) {
		return p.handOver()
	}
	err := read()
	if !p.rstate.CompareAndSwap(rsWaiting, rsReading) {
		// Asked for the turn, unless the request was withdrawn meanwhile.
		return p.handOver()
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// A request for the turn that was withdrawn.
			p.conn.SetReadDeadline(time.Time{})
			return true
		}
		p.closeForRead(err)
		return false
	}
	return true
}

// handOver gives the read turn to the application that asked for it and
// waits to have it back; it reports false when the pipe is done. When the
// application withdrew its request first (cancelYield), the reader goes on.
func (p *Pipe) handOver() bool {
	if !p.rstate.CompareAndSwap(rsYield, rsApp) {
		p.conn.SetReadDeadline(time.Time{}) // the request's kick
		return !p.closing.Load()
	}
	p.turnGiven <- struct{}{}
	wait := min(awayLimit, p.awayMax())
	t := p.turnTimer
	if t == nil {
		t = time.NewTimer(wait)
		p.turnTimer = t
	} else {
		t.Reset(wait) // stopped, and since Go 1.23 with no stale tick to drain
	}
	defer t.Stop()
	for {
		select {
		case <-p.turnBack:
			if p.rstate.Load() == rsReading {
				p.conn.SetReadDeadline(time.Time{})
				return !p.closing.Load()
			}
		case <-t.C:
			if !p.touched.Swap(false) && p.rstate.CompareAndSwap(rsAway, rsReading) {
				p.conn.SetReadDeadline(time.Time{})
				return true
			}
			wait = min(2*wait, p.awayMax())
			t.Reset(wait)
		case <-p.done:
			// The application gives the turn back when it sees the
			// pipe closed, unless it is away.
			for !p.rstate.CompareAndSwap(rsAway, rsReading) && p.rstate.Load() != rsReading {
				select {
				case <-p.turnBack:
				case <-time.After(time.Millisecond):
				}
			}
			return false
		}
	}
}

// endTurns takes the read turn out of play as the reader goroutine ends:
// the buffer goes back to its pool.
func (p *Pipe) endTurns() {
	defer func() {
		if p.unwatch != nil {
			p.unwatch()
			p.watched, p.unwatch = nil, nil
		}
		if p.largeRead.m != nil { // handed over as the pipe closed
			p.largeRead.abandon()
		}
	}()
	for {
		switch st := p.rstate.Load(); st {
		case rsYield:
			p.handOver()
		case rsReading, rsWaiting:
			if p.rstate.CompareAndSwap(st, rsOff) {
				return
			}
		default:
			return
		}
	}
}

func peekBuffered(br *readBuffer) []byte {
	b, _ := br.Peek(br.Buffered())
	return b
}

// What the front of a read buffer holds, for the read turn (whole).
const (
	wholeNo    = iota // part of a message: reading the rest may wait
	wholeYes          // a whole message or command (or a bad header: its error)
	wholeLarge        // the start of a message larger than the buffer
)

func (c *spCodec) whole(b []byte, limit uint64) int {
	hn := c.framing.FrameHeaderSize()
	if len(b) < hn {
		return wholeNo
	}
	size, err := c.framing.ParseFrameHeader(b[:hn], limit)
	switch {
	case err != nil, size > maxMessageSize:
		return wholeYes
	case size > readBufferSize-uint64(hn):
		return wholeLarge
	case uint64(len(b)-hn) < size:
		return wholeNo
	}
	return wholeYes
}

// whole, for ZMTP, checks each frame header as readMessage does, so that a
// header readMessage refuses counts as whole (its error comes at once).
func (c *zmtpCodec) whole(b []byte, limit uint64) int {
	off := 0
	var total uint64
	for {
		left := uint64(0)
		if limit != 0 {
			left = max(limit-total, 1)
		}
		// readMessage reads the whole header before it checks any of it.
		// A header the buffer's end cuts makes the message larger than
		// the buffer (many small frames): waiting for it to fill would
		// wait for ever.
		if len(b)-off < zmtp.ShortHeaderSize || len(b)-off < zmtp.FrameHeaderLen(b[off]) {
			if off+zmtp.LongHeaderSize > readBufferSize {
				return wholeLarge
			}
			return wholeNo
		}
		h, hn, err := zmtp.ParseFrameHeader(b[off:], left)
		switch {
		case errors.Is(err, zmtp.ErrShort):
			return wholeNo
		case err != nil, h.Size > maxMessageSize-total, h.Command() && h.Size > maxCommandFrame:
			return wholeYes // readMessage fails on it without waiting
		case h.Size > uint64(readBufferSize-off-hn):
			return wholeLarge
		}
		if !h.Command() {
			total += h.Size
		}
		end := off + hn + int(h.Size)
		if end > len(b) {
			return wholeNo
		}
		if (h.Command() && off == 0) || (!h.Command() && !h.More()) {
			return wholeYes
		}
		off = end
	}
}
