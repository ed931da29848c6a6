package socket

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// Chunked reading. A pipe whose protocol only queues what arrives
// (QueueDeliverer) reads its stream in chunks and hands the application
// spans of them, not messages: the reader goroutine parses where each small
// message starts and ends and queues that, and the consumer that takes the
// span makes the message on its own goroutine. A message so crosses from
// one core to the other as bytes packed in a chunk, not as a pooled object
// that the other core wrote last, and the message pool stays with the
// goroutine that uses it.

const (
	// chunkSize is what one read asks for.
	chunkSize = 64 << 10
	// spanLimit: larger bodies are read into messages of their own, as
	// readBody does, by the reader goroutine.
	spanLimit = copyLimit
)

// chunk is a block of bytes read from a stream. It is shared by the
// reader, which fills it, and by every span queued from it; the last to
// let go gives it back to the pool.
type chunk struct {
	buf  []byte
	refs atomic.Int32
}

var chunks = sync.Pool{New: func() any { return &chunk{buf: make([]byte, chunkSize)} }}

func newChunk() *chunk {
	c := chunks.Get().(*chunk)
	c.refs.Store(1)
	return c
}

func (c *chunk) unref() {
	if c.refs.Add(-1) == 0 {
		chunks.Put(c)
	}
}

// QueueDeliverer is implemented by protocols whose Deliver does nothing but
// put the message on their RecvQueue (pull, pair): their stream pipes read
// in chunks.
type QueueDeliverer interface {
	DeliveryQueue() *RecvQueue
}

// chunkReader reads a stream in chunks, for readChunks: the bytes not yet
// parsed are c.buf[start:end].
type chunkReader struct {
	conn       io.Reader
	c          *chunk
	start, end int
}

// Read serves what the chunk holds, then the stream: how a body too large
// for a span is read after its start arrived with the chunk.
func (r *chunkReader) Read(b []byte) (int, error) {
	if r.start < r.end {
		n := copy(b, r.c.buf[r.start:r.end])
		r.start += n
		return n, nil
	}
	return r.conn.Read(b)
}

// fill reads more of the stream into the chunk, moving the unparsed tail
// to a fresh chunk first when this one is full.
func (r *chunkReader) fill() error {
	if r.end == len(r.c.buf) {
		nc := newChunk()
		r.end = copy(nc.buf, r.c.buf[r.start:r.end])
		r.start = 0
		r.c.unref()
		r.c = nc
	} else if r.start == r.end && r.c.refs.Load() == 1 {
		r.start, r.end = 0, 0 // nothing queued from it: start again at the front
	}
	// A Read may return nothing and no error now and then (an empty write
	// on a net.Pipe); only many in a row are an error, as for bufio.
	for range 100 {
		n, err := r.conn.Read(r.c.buf[r.end:])
		r.end += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// chunkFramer is a codec that can tell, from the bytes of a chunk, where a
// message of one plain frame starts and ends (readChunks).
type chunkFramer interface {
	// chunkable reports whether the pipe's messages can be read in chunks:
	// its codec has nothing to do with a plain frame but hand it over.
	chunkable() bool
	// frame parses the frame header at the start of b. hn is its length
	// (0: b is too short to tell), size the body's; simple is false when
	// the frame is not a whole message by itself (a command, or a frame
	// with more to follow).
	frame(b []byte, limit uint64) (hn int, size uint64, simple bool, err error)
}

func (*spCodec) chunkable() bool { return true }

func (c *spCodec) frame(b []byte, limit uint64) (int, uint64, bool, error) {
	hn := c.framing.FrameHeaderSize()
	if len(b) < hn {
		return 0, 0, true, nil
	}
	size, err := c.framing.ParseFrameHeader(b[:hn], limit)
	return hn, size, true, err
}

// chunkable: a ZMTP pipe of a socket that neither publishes (subscriptions
// arrive as data) nor speaks REQ or REP (envelopes).
func (c *zmtpCodec) chunkable() bool { return c.env == envelopeNone && !c.publisher() }

func (c *zmtpCodec) frame(b []byte, limit uint64) (int, uint64, bool, error) {
	h, hn, err := zmtp.ParseFrameHeader(b, limit)
	if errors.Is(err, zmtp.ErrShort) {
		return 0, 0, true, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	return hn, h.Size, h.Flags&(zmtp.FlagMore|zmtp.FlagCommand) == 0, nil
}

// readChunks is readStream for a pipe whose protocol is a QueueDeliverer
// and whose codec a chunkFramer. At a frame that is not a whole message by
// itself it stops and returns the reader, positioned at that frame, for
// readStream to go on with the codec; it returns nil when the pipe is done.
func (p *Pipe) readChunks(q *RecvQueue, codec chunkFramer) *chunkReader {
	r := &chunkReader{conn: p.conn, c: newChunk()}
	handBack := false
	defer func() {
		if !handBack {
			r.c.unref()
		}
	}()
	var spans []entry
	var msgs, bytes uint64
	deliver := func() {
		if len(spans) == 0 {
			return
		}
		p.cnt.msgsIn.Add(msgs)
		p.cnt.bytesIn.Add(bytes)
		msgs, bytes = 0, 0
		q.putEntries(p, spans)
		spans = spans[:0]
	}
	fail := func(err error) {
		deliver()
		p.closeForRead(err)
	}
	for {
		// Queue every whole message the chunk holds.
		for r.end > r.start {
			hn, size, simple, err := codec.frame(r.c.buf[r.start:r.end], uint64(p.sock.cfg.maxRecvSize.Load()))
			if err == nil && size > maxMessageSize {
				err = errTooLargeForMemory(size)
			}
			if err != nil {
				fail(err)
				return nil
			}
			if hn == 0 {
				break // the header has not all arrived
			}
			if !simple {
				deliver()
				handBack = true
				return r
			}
			if size > spanLimit {
				// Large: read into a message of its own, through what
				// the chunk holds and then the stream (or as a loan).
				deliver()
				r.start += hn
				m, err := readBodyOrLoanFrom(r, r.end-r.start, int(size), p.loans())
				if err != nil {
					if errors.Is(err, io.EOF) {
						err = io.ErrUnexpectedEOF
					}
					fail(err)
					return nil
				}
				m.Pipe = p.id
				p.cnt.msgsIn.Add(1)
				p.cnt.bytesIn.Add(size)
				q.putWait(p, entry{m: m})
				continue
			}
			if uint64(r.end-r.start-hn) < size {
				break // the rest has not arrived
			}
			off := r.start + hn
			r.c.refs.Add(1)
			spans = append(spans, entry{c: r.c, off: uint32(off), n: uint32(size), pipe: p.id})
			msgs++
			bytes += size
			r.start = off + int(size)
			if len(spans) == maxInBatch {
				deliver()
			}
		}
		select {
		case <-p.done:
			for _, e := range spans {
				e.c.unref()
			}
			return nil
		default:
		}
		deliver() // before a read that may wait
		if err := r.fill(); err != nil {
			if errors.Is(err, io.EOF) && r.start < r.end {
				err = io.ErrUnexpectedEOF // the stream ends inside a message
			}
			fail(err)
			return nil
		}
	}
}

// loans returns the pipe's connection if it carries loaned bodies.
func (p *Pipe) loans() LoanConn {
	if p.codec == nil {
		return nil
	}
	return loanConn(p.conn)
}
