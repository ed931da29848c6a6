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

// chunk is a block of bytes read from a stream, shared by the reader that
// fills it and by every span queued from it; the last to let go gives it
// back to the pool.
//
// The reader does not count spans on refs as it hands them out: that would
// make the reader's core and the consumer's take turns on refs' cache line
// for every message. refs starts at chunkBias, the reader counts its spans
// in a field of its own and settles the difference when it lets go; each
// consumer takes one off as it finishes with its span.
type chunk struct {
	buf   []byte
	spans int32 // spans handed out (the reader's own)
	_     [64]byte
	refs  atomic.Int32 // on a cache line of its own: consumers write it
	_     [60]byte
}

const chunkBias = 1 << 30

var chunks = sync.Pool{New: func() any { return &chunk{buf: make([]byte, chunkSize)} }}

// newChunk returns a chunk held by its reader.
func newChunk() *chunk {
	c := chunks.Get().(*chunk)
	c.refs.Store(chunkBias)
	c.spans = 0
	return c
}

// span counts one more span handed out by the reader.
func (c *chunk) span() { c.spans++ }

// unref lets go of one span.
func (c *chunk) unref() {
	if c.refs.Add(-1) == 0 {
		chunks.Put(c)
	}
}

// letGo is the reader letting go of the chunk.
func (c *chunk) letGo() {
	if c.refs.Add(-(chunkBias - c.spans)) == 0 {
		chunks.Put(c)
	}
}

// restart makes the reader start again at the front if every span it
// handed out has been let go, and reports whether it did.
func (c *chunk) restart() bool {
	if c.refs.Load() != chunkBias-c.spans {
		return false
	}
	c.refs.Add(c.spans) // nobody else holds a span: back to the bias
	c.spans = 0
	return true
}

// QueueDeliverer is implemented by protocols whose Deliver does nothing but
// put the message on their RecvQueue (pull, pair): their stream pipes read
// in chunks.
type QueueDeliverer interface {
	DeliveryQueue() *RecvQueue
}

// QueueFilter is implemented by a QueueDeliverer whose Deliver also
// filters (sub): a pipe reading in chunks asks Wants of each message and
// queues only those it wants. When the queue is full, a pipe for which
// Lossy reports true drops what has no room (DropQueueFull), as nng's
// subscribers do; another waits for room, as libzmq's do, which holds the
// publisher back.
type QueueFilter interface {
	Wants(body []byte) bool
	Lossy(p *Pipe) bool
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
		r.c.letGo()
		r.c = nc
	} else if r.start == r.end && r.c.restart() {
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
			r.c.letGo()
		}
	}()
	filter, _ := p.sock.proto.(QueueFilter)
	lossy := filter != nil && filter.Lossy(p)
	var spans []entry
	var msgs, bytes uint64
	deliver := func() {
		p.cnt.msgsIn.Add(msgs)
		p.cnt.bytesIn.Add(bytes)
		msgs, bytes = 0, 0
		if len(spans) == 0 {
			return
		}
		if lossy {
			q.tryPutEntries(p, spans)
		} else {
			q.putEntries(p, spans)
		}
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
				m, err := readBodyOrLoanFrom(r, r.end-r.start, int(size), loanConn(p.conn))
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
				switch {
				case filter != nil && !filter.Wants(m.Body):
					m.Free()
				case !lossy:
					q.putWait(p, entry{m: m})
				case !q.TryPut(m):
					p.Drop(m, DropQueueFull)
				}
				continue
			}
			if uint64(r.end-r.start-hn) < size {
				break // the rest has not arrived
			}
			off := r.start + hn
			r.start = off + int(size)
			msgs++
			bytes += size
			if filter != nil && !filter.Wants(r.c.buf[off:r.start]) {
				continue
			}
			r.c.span()
			spans = append(spans, entry{c: r.c, off: uint32(off), n: uint32(size), pipe: p.id})
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
