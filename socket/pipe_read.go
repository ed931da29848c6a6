package socket

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/mqwire/mqwire/wire"
)

// A pipe's reader goroutine: reading messages from a stream or a message
// port and handing them to the pattern.

// maxInBatch bounds how many messages the reader hands over at once.
const maxInBatch = 256

// readsChunks reports whether the pipe reads its stream in chunks
// (chunk.go).
func (p *Pipe) readsChunks() bool {
	if _, ok := p.sock.proto.(QueueDeliverer); !ok {
		return false
	}
	cf, ok := p.codec.(chunkFramer)
	return ok && cf.chunkable()
}

// readStream reads messages through the pipe's codec until the connection
// fails or the pipe closes. With a BatchDeliverer protocol it hands over
// what it has read in batches: everything up to the point where reading
// the next message needs more bytes from the connection (so that nothing
// read waits while the reader waits for more).
func (p *Pipe) readStream() {
	// With a read turn (through.go), the reader hands the turn over when
	// asked, at a read that may wait; the turn comes back before the
	// reader ends (endTurns), and only then are the buffers let go.
	turns := p.turnGiven != nil
	lazy := newLazySource(p.conn)
	src := directReader(p.conn, lazy)
	if turns {
		src = turnSource{p, src}
		p.initSpin(lazy)
	}
	var leftover []byte // what the chunk held when the codec took over
	if p.readsChunks() {
		qd, cf := p.sock.proto.(QueueDeliverer), p.codec.(chunkFramer)
		p.chunks = p.newChunkParse(qd.DeliveryQueue(), cf, lazy)
		p.chunks.r.lazy = lazy
		defer func() {
			// What an application reading through parsed beyond the
			// queue's room, if the pipe closed before it was queued.
			p.chunks.drop(p)
			p.chunks.r.letGo()
		}()
		if !p.readChunks() {
			if turns {
				p.endTurns()
			}
			return
		}
		// A frame the codec must read itself: from here on it reads
		// the stream, starting with what the chunk holds, which goes
		// into the read buffer. The chunk goes, and the read buffer
		// reads the descriptor as on any pipe, letting its buffer go
		// while it waits: a connection whose peer sends a ZMTP PING or
		// a multipart message now and then held a chunk and a read
		// buffer, 128 KiB, for good when the chunk reader stayed.
		leftover = p.chunks.r.unparsed()
		p.unchunked.Store(true)
	}
	bd, _ := p.sock.proto.(BatchDeliverer)
	var beforeWait func()
	if bd != nil {
		p.inBatch = make([]*Message, 0, maxInBatch)
		beforeWait = func() { p.deliverBatch(bd) }
		src = &flushingReader{r: src, flush: beforeWait}
	}
	br := newReadBuffer(src, lazy, beforeWait)
	if turns {
		br.retry = p.cutShortInside
	}
	defer br.release()
	if leftover != nil {
		br.preload(leftover)
		p.chunks.r.letGo()
	}
	if turns {
		// Handed over before a read that may wait, with every whole
		// message the buffer holds handed over.
		p.br = br
		defer p.endTurns()
	}
	for {
		select {
		case <-p.done:
			// Closed, perhaps by the pattern because the peer broke its
			// rules: what is still buffered is not read.
			if bd != nil && !p.dropsRead() {
				p.deliverBatch(bd)
			}
			p.dropBatch()
			return
		default:
		}
		limit := uint64(p.sock.cfg.maxRecvSize.Load())
		large := p.largeRead.m != nil // an application's, to finish
		if turns && !large && p.codec.whole(peekBuffered(br), limit) == wholeNo {
			if bd != nil {
				p.deliverBatch(bd)
			}
			if !p.waitBytes(br) {
				return
			}
			continue
		}
		// With a read turn, what readMessage reads from the connection is
		// inside a message too large for the buffer: a deadline that
		// cuts it short (a Recv's cancellation watch firing after the
		// Recv returned) is not for this read (turnSource).
		p.readingLarge = turns
		var m *Message
		var err error
		if large {
			m, err = p.finishLarge()
		} else {
			m, err = p.codec.readMessage(br, limit)
		}
		p.readingLarge = false
		if err != nil {
			if bd != nil {
				p.deliverBatch(bd)
			}
			p.closeForRead(err)
			return
		}
		if m == nil {
			continue // a command, handled
		}
		m.Pipe = p.id
		if bd != nil {
			p.inBatch = append(p.inBatch, m)
			if len(p.inBatch) == maxInBatch {
				p.deliverBatch(bd)
			}
			continue
		}
		if p.dropsRead() {
			m.Free()
			return
		}
		p.cnt.msgsIn.Add(1)
		p.cnt.bytesIn.Add(uint64(m.Len()))
		p.sock.proto.Deliver(p, m)
	}
}

// closeForRead closes the pipe because reading failed with err: the
// peer's fault (a protocol error, or the stream ending inside a message) or
// the connection's (which, if the peer simply closed, is no error).
func (p *Pipe) closeForRead(err error) {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		p.Close(errTruncated)
	case errors.Is(err, ErrProtocol):
		p.Close(err)
	default:
		p.close(readErr(err))
	}
}

// deliverBatch hands the reader's batch to the protocol.
func (p *Pipe) deliverBatch(bd BatchDeliverer) {
	if len(p.inBatch) == 0 {
		return
	}
	select {
	case <-p.done:
		p.dropBatch()
		return
	default:
	}
	var n uint64
	for _, m := range p.inBatch {
		n += uint64(m.Len())
	}
	p.cnt.msgsIn.Add(uint64(len(p.inBatch)))
	p.cnt.bytesIn.Add(n)
	bd.DeliverBatch(p, p.inBatch)
	p.inBatch = p.inBatch[:0]
}

// dropBatch frees what the reader read but had not handed over when the
// pipe closed (as a single read message is, uncounted).
func (p *Pipe) dropBatch() {
	for i, m := range p.inBatch {
		m.Free()
		p.inBatch[i] = nil
	}
	p.inBatch = p.inBatch[:0]
}

// flushingReader calls flush before each read from the connection: the
// buffered reader reads from it only when it has run out of bytes, which
// is when the reader could be about to wait.
type flushingReader struct {
	r     io.Reader
	flush func()
}

func (f *flushingReader) Read(b []byte) (int, error) {
	f.flush()
	return f.r.Read(b)
}

// readPort takes messages from a message transport's peer queue, a batch
// at a time.
func (p *Pipe) readPort() {
	q, peerDone, taken := p.port.Out, p.mp.Done(), p.port.Taken
	bd, _ := p.sock.proto.(BatchDeliverer)
	var batch []*Message
	for {
		batch = q.take(batch[:0])
		if len(batch) > 0 {
			p.deliverPort(bd, batch)
			q.done(len(batch), 0)
			taken() // wake the peer's senders waiting for room
			continue
		}
		select {
		case <-q.wake:
		case <-peerDone:
			// Take what the peer queued before it closed (it lingered
			// for us to do so), then close.
			if batch = q.take(batch[:0]); len(batch) > 0 {
				p.deliverPort(bd, batch)
				q.done(len(batch), 0)
			}
			p.close(nil)
			return
		case <-p.done:
			return
		}
	}
}

// deliverPort hands a batch taken from an inproc peer's queue to the
// protocol; ms is cleared.
func (p *Pipe) deliverPort(bd BatchDeliverer, ms []*Message) {
	if p.inEnv != inprocEnvNone {
		ms = p.translateAll(ms)
	}
	var n uint64
	for _, m := range ms {
		m.Pipe = p.id
		n += uint64(len(m.Body))
	}
	p.cnt.msgsIn.Add(uint64(len(ms)))
	p.cnt.bytesIn.Add(n)
	k := int64(len(ms))
	if bd != nil {
		bd.DeliverBatch(p, ms)
	} else {
		for i, m := range ms {
			p.sock.proto.Deliver(p, m)
			ms[i] = nil
		}
	}
	p.delivered(k)
}

// translateAll translates each message of ms (inproc_envelope.go) and
// returns those that were well formed; the first that is not closes the
// pipe, and it and the rest are freed.
func (p *Pipe) translateAll(ms []*Message) []*Message {
	for i, m := range ms {
		if err := p.translate(m); err != nil {
			p.Close(err)
			for j := i; j < len(ms); j++ {
				ms[j].Free()
				ms[j] = nil
			}
			p.delivered(int64(len(ms) - i))
			return ms[:i]
		}
	}
	return ms
}

// errTruncated is why a pipe closes when its peer ends the stream inside a
// message: a protocol violation, which also matches io.ErrUnexpectedEOF.
var errTruncated = fmt.Errorf("%w: %w",
	&wire.ProtocolError{Dialect: "sp", Reason: "stream ends inside a message"}, io.ErrUnexpectedEOF)

// readErr turns the end of a stream into the error a disconnect reports: a
// peer that simply closed is not an error.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
