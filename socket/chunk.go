package socket

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

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
func (c *chunk) unref() { c.unrefN(1) }

// unrefN lets go of n spans.
func (c *chunk) unrefN(n int32) {
	if c.refs.Add(-n) == 0 {
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
// filters (sub): a pipe reading in chunks asks Wants of each message, once,
// and queues only those it wants (Wants may copy the message elsewhere,
// as sub's contexts get theirs). When the queue is full, a pipe for which
// Lossy reports true drops what has no room (DropQueueFull), as nng's
// subscribers do; another waits for room, as libzmq's do, which holds the
// publisher back.
type QueueFilter interface {
	Wants(p *Pipe, body []byte) bool
	Lossy(p *Pipe) bool
}

// chunkReader reads a stream in chunks, for readChunks: the bytes not yet
// parsed are c.buf[start:end].
type chunkReader struct {
	conn       io.Reader
	c          *chunk
	start, end int
	// lazy reads the connection itself in place of conn for fill, when
	// it can (nil: conn): a reader that has parsed everything then lets
	// its chunk go while it waits, so that an idle connection holds none
	// (readBuffer does the same).
	lazy lazySource
}

// Space takes a chunk if the reader let its own go and returns its free
// space (LazyBuffer).
func (r *chunkReader) Space() []byte {
	if r.c == nil {
		r.c, r.start, r.end = newChunk(), 0, 0
	}
	return r.c.buf[r.end:]
}

// unparsed returns the bytes read and not yet parsed.
func (r *chunkReader) unparsed() []byte {
	if r.c == nil {
		return nil
	}
	return r.c.buf[r.start:r.end]
}

// letGo is the reader letting go of its chunk for good.
func (r *chunkReader) letGo() {
	if r.c != nil {
		r.c.letGo()
		r.c = nil
	}
}

// Idle lets the chunk go if nothing in it is left to parse (LazyBuffer).
func (r *chunkReader) Idle() {
	if r.c != nil && r.start == r.end {
		r.c.letGo()
		r.c = nil
	}
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
	switch {
	case r.c == nil: // let go while waiting (idle)
	case r.end == len(r.c.buf):
		nc := newChunk()
		r.end = copy(nc.buf, r.c.buf[r.start:r.end])
		r.start = 0
		r.c.letGo()
		r.c = nc
	case r.start == r.end && r.c.restart():
		r.start, r.end = 0, 0 // nothing queued from it: start again at the front
	}
	if r.lazy != nil {
		n, err := r.lazy.read(r)
		r.end += n
		return err
	}
	r.Space()
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
	// (0: b is too short to tell), size the body's, and kind says whether
	// the frame is a whole message by itself, a command, or neither (a
	// frame with more to follow).
	frame(b []byte, limit uint64) (hn int, size uint64, kind frameKind, err error)
	// command handles a command frame's body (at most inlineCommandMax
	// bytes) as the codec would, for a frame parse met in a chunk; the
	// body is the chunk's, valid only during the call.
	command(body []byte) error
	// sawFrames tells the codec that frames arrived (heartbeats count any
	// traffic as the peer's life).
	sawFrames()
}

// frameKind is what chunkFramer.frame found.
type frameKind uint8

const (
	frameSimple  frameKind = iota // a whole message by itself
	frameCommand                  // a command (ZMTP)
	frameOther                    // a frame of a multipart message
)

// inlineCommandMax is the largest command that chunked reading handles
// itself (a ZMTP PING or PONG is a few dozen bytes); at a larger one, the
// codec takes the stream over for good.
const inlineCommandMax = 4 << 10

func (*spCodec) chunkable() bool { return true }

func (c *spCodec) frame(b []byte, limit uint64) (int, uint64, frameKind, error) {
	hn := c.framing.FrameHeaderSize()
	if len(b) < hn {
		return 0, 0, frameSimple, nil
	}
	size, err := c.framing.ParseFrameHeader(b[:hn], limit)
	return hn, size, frameSimple, err
}

func (*spCodec) command([]byte) error { return nil } // SP has no commands
func (*spCodec) sawFrames()           {}

// chunkable: a ZMTP pipe of a socket that neither publishes (subscriptions
// arrive as data) nor speaks REQ or REP (envelopes).
func (c *zmtpCodec) chunkable() bool { return c.env == envelopeNone && !c.publisher() }

func (c *zmtpCodec) frame(b []byte, limit uint64) (int, uint64, frameKind, error) {
	h, hn, err := zmtp.ParseFrameHeader(b, limit)
	if errors.Is(err, zmtp.ErrShort) {
		return 0, 0, frameSimple, nil
	}
	if err != nil {
		return 0, 0, frameOther, err
	}
	switch {
	case h.Flags&zmtp.FlagCommand != 0:
		return hn, h.Size, frameCommand, nil
	case h.Flags&zmtp.FlagMore != 0:
		return hn, h.Size, frameOther, nil
	}
	return hn, h.Size, frameSimple, nil
}

func (c *zmtpCodec) command(body []byte) error {
	_, _, err := c.handleCommand(body)
	return err
}

func (c *zmtpCodec) sawFrames() { c.seen.Add(1) }

// chunkParse is the state of a pipe's chunked reading, owned by whoever
// holds the pipe's read turn: the reader goroutine, or the application
// reading through (through.go). Without a read turn, the reader goroutine
// owns it alone.
type chunkParse struct {
	r      *chunkReader
	q      *RecvQueue
	codec  chunkFramer
	filter QueueFilter // nil: every message is wanted
	lossy  bool        // the reader drops what the queue has no room for
	// spans are entries parsed and not yet queued, in order: spans of the
	// chunk, and whole messages for bodies larger than a span.
	spans []entry
	// msgs and bytes count what was parsed, for the pipe's counters.
	msgs, bytes uint64
	// largeHN and largeSize describe the large body that parse stopped at.
	largeHN   int
	largeSize uint64
	// large is a large body an application reading through began and
	// handed over unfinished, for the reader goroutine to finish first.
	large bodyRead
}

// Where parse stopped.
const (
	parsedAll   = iota // at a message not all arrived: reading more may wait
	parsedFull         // with max entries waiting to be queued
	parsedLarge        // at a body larger than a span (readLarge reads it)
	parsedFrame        // at a frame that is not a whole message by itself
)

func (p *Pipe) newChunkParse(q *RecvQueue, codec chunkFramer, lazy lazySource) *chunkParse {
	src := directReader(p.conn, lazy)
	if p.turnGiven != nil {
		src = turnSource{p, src}
	}
	filter, _ := p.sock.proto.(QueueFilter)
	return &chunkParse{
		r:      &chunkReader{conn: src}, // its chunk is taken at its first read
		q:      q,
		codec:  codec,
		filter: filter,
		lossy:  filter != nil && filter.Lossy(p),
	}
}

// parse adds an entry to cp.spans for each whole message the chunk holds
// that the protocol wants, until cp.spans holds max. An error is the
// peer's: a bad or too large header.
func (cp *chunkParse) parse(p *Pipe, max int) (int, error) {
	r := cp.r
	limit := uint64(p.sock.cfg.maxRecvSize.Load())
	start := r.start
	defer func() {
		if r.start != start {
			cp.codec.sawFrames()
		}
	}()
	for len(cp.spans) < max {
		hn, size, kind, err := cp.codec.frame(r.unparsed(), limit)
		if err == nil && size > maxMessageSize {
			err = errTooLargeForMemory(size)
		}
		switch {
		case err != nil:
			return 0, err
		case hn == 0:
			return parsedAll, nil // the header has not all arrived
		case kind == frameCommand && size <= inlineCommandMax:
			if uint64(r.end-r.start-hn) < size {
				return parsedAll, nil // the rest has not arrived
			}
			off := r.start + hn
			if err := cp.codec.command(r.c.buf[off : off+int(size)]); err != nil {
				return 0, err
			}
			r.start = off + int(size)
			continue
		case kind != frameSimple:
			return parsedFrame, nil
		case size > spanLimit:
			cp.largeHN, cp.largeSize = hn, size
			return parsedLarge, nil
		case uint64(r.end-r.start-hn) < size:
			return parsedAll, nil // the rest has not arrived
		}
		off := r.start + hn
		r.start = off + int(size)
		cp.msgs++
		cp.bytes += size
		if cp.filter != nil && !cp.filter.Wants(p, r.c.buf[off:r.start]) {
			continue
		}
		r.c.span()
		cp.spans = append(cp.spans, entry{c: r.c, off: uint32(off), n: uint32(size), p: p})
	}
	return parsedFull, nil
}

// readLarge reads the large body parse stopped at into a message of its
// own, through what the chunk holds and then the stream (or as a loan),
// and adds it to cp.spans if the protocol wants it. Reading it may wait.
func (cp *chunkParse) readLarge(p *Pipe) error {
	r := cp.r
	r.start += cp.largeHN
	p.readingLarge = true
	m, err := readBodyOrLoanFrom(r, r.end-r.start, int(cp.largeSize), loanConn(p.conn))
	p.readingLarge = false
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	cp.addLarge(p, m)
	return nil
}

// addLarge adds m, a large body read whole, to cp.spans if the protocol
// wants it.
func (cp *chunkParse) addLarge(p *Pipe, m *Message) {
	m.Pipe = p.id
	cp.msgs++
	cp.bytes += uint64(len(m.Body))
	if cp.filter != nil && !cp.filter.Wants(p, m.Body) {
		m.Free()
		return
	}
	cp.spans = append(cp.spans, entry{m: m, p: p})
}

// finishLarge reads the rest of the large body an application reading
// through handed over (cp.large) and adds it to cp.spans.
func (cp *chunkParse) finishLarge(p *Pipe) error {
	b := cp.large
	cp.large = bodyRead{}
	if m := b.takeLoan(time.Time{}, cp.r.end-cp.r.start); m != nil {
		cp.addLarge(p, m) // nothing of it was read: still a loan
		return nil
	}
	p.readingLarge = true
	err := b.fill(cp.r)
	p.readingLarge = false
	if err != nil {
		b.abandon()
		return err
	}
	cp.addLarge(p, b.done())
	return nil
}

// deliver counts what was parsed and queues cp.spans: waiting for room,
// dropping what has no room on a lossy pipe, or, for the application
// reading through (keep), queueing what there is room for and keeping the
// rest for later (it must not wait on its own queue).
func (cp *chunkParse) deliver(p *Pipe, keep bool) {
	p.cnt.msgsIn.Add(cp.msgs)
	p.cnt.bytesIn.Add(cp.bytes)
	cp.msgs, cp.bytes = 0, 0
	switch {
	case len(cp.spans) == 0:
	case keep:
		n := cp.q.putSome(p, cp.spans)
		left := copy(cp.spans, cp.spans[n:])
		clear(cp.spans[left:])
		cp.spans = cp.spans[:left]
	case cp.lossy:
		cp.q.tryPutEntries(p, cp.spans)
		cp.spans = cp.spans[:0]
	default:
		cp.q.putEntries(p, cp.spans)
		cp.spans = cp.spans[:0]
	}
}

// drop lets go of what was parsed and not queued, as the pipe closes,
// counting it as dropped.
func (cp *chunkParse) drop(p *Pipe) {
	if cp.large.m != nil {
		cp.large.abandon()
	}
	for _, e := range cp.spans {
		p.dropEntry(e)
	}
	clear(cp.spans)
	cp.spans = cp.spans[:0]
}

// readChunks is readStream for a pipe whose protocol is a QueueDeliverer
// and whose codec a chunkFramer (p.chunks). At a frame that is not a whole
// message by itself it stops and returns true, the reader positioned at
// that frame, for readStream to go on with the codec; it returns false
// when the pipe is done.
func (p *Pipe) readChunks() bool {
	cp := p.chunks
	fail := func(err error) bool {
		cp.deliver(p, false)
		p.closeForRead(err)
		return false
	}
	for {
		if cp.large.m != nil { // an application's, to finish first
			if err := cp.finishLarge(p); err != nil {
				return fail(err)
			}
		}
		// Queue every whole message the chunk holds.
		stop, err := cp.parse(p, maxInBatch)
		if err != nil {
			return fail(err)
		}
		switch stop {
		case parsedFull:
			cp.deliver(p, false)
			continue
		case parsedLarge:
			if err := cp.readLarge(p); err != nil {
				return fail(err)
			}
			continue
		case parsedFrame:
			cp.deliver(p, false)
			return true
		}
		if p.closing.Load() {
			if p.dropsRead() {
				cp.drop(p)
			} else {
				cp.deliver(p, false)
			}
			return false
		}
		cp.deliver(p, false) // before a read that may wait
		if !p.fillChunk(cp) {
			return false
		}
	}
}

// fillChunk reads more of the stream into the chunk, handing the read turn
// over first or meanwhile when the application asks for it (what was read
// stays in the chunk for the application). It reports false when the pipe
// is done.
func (p *Pipe) fillChunk(cp *chunkParse) bool {
	if p.turnGiven != nil {
		return p.readForTurn(cp.fill)
	}
	if err := cp.fill(); err != nil {
		p.closeForRead(err)
		return false
	}
	return true
}

// fill reads more of the stream into the chunk, waiting for at least one
// byte: the stream ending inside a message is io.ErrUnexpectedEOF.
func (cp *chunkParse) fill() error {
	err := cp.r.fill()
	if errors.Is(err, io.EOF) && cp.r.start < cp.r.end {
		err = io.ErrUnexpectedEOF
	}
	return err
}
