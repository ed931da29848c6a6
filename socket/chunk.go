package socket

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
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

// readChunks is readStream for an SP pipe whose protocol is a
// QueueDeliverer.
func (p *Pipe) readChunks(q *RecvQueue, codec *spCodec) {
	r := &chunkReader{conn: p.conn, c: newChunk()}
	defer func() { r.c.unref() }()
	hn := codec.framing.FrameHeaderSize()
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
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			p.Close(errTruncated)
		case errors.Is(err, ErrProtocol):
			p.Close(err)
		default:
			p.close(readErr(err))
		}
	}
	for {
		// Queue every whole message the chunk holds.
		for r.end-r.start >= hn {
			size, err := codec.framing.ParseFrameHeader(r.c.buf[r.start:r.start+hn], uint64(p.sock.cfg.maxRecvSize.Load()))
			if err == nil && size > maxMessageSize {
				err = errTooLargeForMemory(size)
			}
			if err != nil {
				fail(err)
				return
			}
			if size > spanLimit {
				// Large: read into a message of its own, through what
				// the chunk holds and then the stream (or as a loan).
				deliver()
				r.start += hn
				m, err := readBodyOrLoanFrom(r, r.end-r.start, int(size), codec.loans)
				if err != nil {
					if errors.Is(err, io.EOF) {
						err = io.ErrUnexpectedEOF
					}
					fail(err)
					return
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
			return
		default:
		}
		deliver() // before a read that may wait
		if err := r.fill(); err != nil {
			if errors.Is(err, io.EOF) && r.start < r.end {
				err = io.ErrUnexpectedEOF // the stream ends inside a message
			}
			fail(err)
			return
		}
	}
}
