package socket

import (
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/wire"
)

const (
	readBufferSize  = 64 << 10
	writeBufferSize = 64 << 10
	// copyLimit: bodies up to this size are copied into the write buffer so
	// that many small messages leave in one write; larger ones are handed to
	// writev as they are.
	copyLimit = 16 << 10
	// growStep: bodies above this size are read in steps, so that memory
	// follows the bytes that really arrive, not the size a peer announced.
	growStep = 256 << 10
	// growFactor bounds a growing body's memory against what has arrived.
	growFactor = 8
	// maxMessageSize is the largest message we can hold at all, even with
	// no receive limit set.
	maxMessageSize = math.MaxInt32
	// Over tcp, a batch holding a body of at least splitLeadMin bytes goes
	// in two writes, the first ending leadBytes into that body, as libzmq's
	// 8 KiB encoder batch does. On Linux loopback a 1 MiB message written
	// in one writev took 380-480 us one way, against 170-300 us split
	// (libzmq: 190-240 us); at 64-256 KiB the extra system call cost more
	// than it saved (256 KiB: 65-72 us whole, 77-93 us split), at 512 KiB
	// it saved a little (170-204 us against 143-152 us).
	splitLeadMin = 512 << 10
	leadBytes    = 8 << 10
)

func errTooLargeForMemory(size uint64) error {
	return &wire.TooLargeError{Size: size, Limit: maxMessageSize}
}

// readBody reads a message body of size bytes. Small bodies go into a pooled
// message of their size, and so do larger ones while the process's upfront
// budget has room for them (reserveUpfront). Past it, a large body starts
// in a growStep message and, as its bytes arrive, moves to one at most
// growFactor times what has arrived: a peer that announces a large body and
// stalls then holds growStep bytes of ours, and a real large body costs one
// or two extra copies of its first part (one-way latency of 1 MiB over
// tcp, read whole: 0.84x of grown, median of 8 pairs).
func readBody(r io.Reader, size int) (*Message, error) {
	b := startBody(size)
	if err := b.fill(r); err != nil {
		b.abandon()
		return nil, err
	}
	return b.done(), nil
}

// bodyRead is a body being read as readBody reads it, kept between reads
// so that a read cut short can go on later, perhaps on another goroutine:
// an application reading a large body through (through.go) hands what it
// has to the pipe's reader goroutine when its context ends inside the body.
type bodyRead struct {
	m       *Message // nil once done or abandoned, or until begin
	n, size int      // bytes read so far, of size
	upfront bool     // size is held in the upfront budget
	// loans is the connection, when the body may come as a loan (shm://):
	// takeLoan then takes it whole, before m is made (begin).
	loans LoanConn
}

// laterBody is a body of size bytes whose message begin makes.
func laterBody(size int) bodyRead { return bodyRead{size: size} }

// begin makes the message of a body from laterBody, if it has none.
func (b *bodyRead) begin() {
	if b.m == nil {
		lc := b.loans
		*b = startBody(b.size)
		b.loans = lc
	}
}

// takeLoan returns the message of a body on a connection that lends, none
// of it read yet, when the peer lent it (and lets b go), or nil. It waits
// for the body's record until dl (zero: no deadline), which it leaves as
// the connection's read deadline; nil says the body comes through Read
// (inline, or a loan not taken, which Read copies out). buffered is how
// many bytes of the stream the caller has read ahead: a loan can only
// come where there are none.
func (b *bodyRead) takeLoan(dl time.Time, buffered int) *Message {
	lc := b.loans
	if lc == nil || b.n > 0 || b.size < lc.LoanMin() || buffered > 0 {
		return nil
	}
	lc.SetReadDeadline(dl)
	body, token, ok := lc.ReadLoan(b.size)
	if !ok {
		return nil
	}
	b.abandon()
	return newLoanedMessage(body, lc, token)
}

// startBody begins a body of size bytes.
func startBody(size int) bodyRead {
	switch {
	case size <= growStep:
		return bodyRead{m: NewMessage(size), size: size}
	case reserveUpfront(size):
		return bodyRead{m: NewMessage(size), size: size, upfront: true}
	}
	return bodyRead{m: NewMessage(growStep), size: size}
}

// fill reads the rest of the body from r. When a read fails, what was read
// stays for a later fill; the stream ending is io.ErrUnexpectedEOF (the
// body was announced).
func (b *bodyRead) fill(r io.Reader) error {
	b.begin()
	for b.n < b.size {
		if b.n == len(b.m.Body) {
			nm := NewMessage(min(growFactor*b.n, b.size))
			copy(nm.Body, b.m.Body[:b.n])
			b.m.Free()
			b.m = nm
		}
		k, err := r.Read(b.m.Body[b.n:])
		b.n += k
		if err != nil && b.n < b.size {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	b.giveBackUpfront()
	return nil
}

// done returns the message of a body fill has read whole.
func (b *bodyRead) done() *Message {
	m := b.m
	b.m = nil
	return m
}

// abandon frees a body that will not be read whole (or came as a loan).
func (b *bodyRead) abandon() {
	b.m.Free()
	b.m = nil
	b.giveBackUpfront()
}

func (b *bodyRead) giveBackUpfront() {
	if b.upfront {
		upfront.Add(-int64(b.size))
		b.upfront = false
	}
}

// upfront counts the bytes of large bodies, across the process, being
// read into messages of their whole size before those bytes arrived. Up to
// upfrontMax, a large body is read so, straight into one message, as libzmq
// and nng read every body; past it, bodies grow with what arrives
// (readBody). Peers that announce large bodies and stall so hold at most
// upfrontMax between them, plus growStep each, whatever MaxRecvSize allows.
var upfront atomic.Int64

// upfrontMax is the upfront budget: room for a few dozen bodies of the
// default MaxRecvSize (1 MiB) under way at once.
const upfrontMax = 32 << 20

// reserveUpfront takes size bytes of the upfront budget if it has them,
// and reports whether it did; readBody gives them back when the body is
// read or the read fails.
func reserveUpfront(size int) bool {
	if upfront.Add(int64(size)) <= upfrontMax {
		return true
	}
	upfront.Add(-int64(size))
	return false
}

// writeBufs holds the write buffers of idle pipes: a pipe keeps one only
// while it has something to write, so that an idle connection costs no
// write buffer.
var writeBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufferSize)
	return &b
}}

// streamWriter batches framed messages into one write: small ones are copied
// into a buffer, large bodies are passed to writev as they are.
type streamWriter struct {
	conn     connWriter
	codec    streamCodec
	buf      []byte  // nil while idle
	bufp     *[]byte // where buf came from in writeBufs
	segs     [][]byte
	segStart int
	iov      net.Buffers
	batch    []*Message
	bytes    uint64
	// loans is the connection when it can carry bodies of at least
	// loanMin bytes by reference (nil otherwise); err is the first error
	// of a loan's write, reported by the next flush.
	loans   LoanConn
	loanMin int
	err     error
	// splitLead: the connection is tcp, where a large body's batch goes
	// in two writes (see splitLeadMin); lead and rest hold those halves.
	splitLead  bool
	lead, rest net.Buffers
	warmed     int // what warm read, kept so that its loads stay
	// taken is the writer goroutine's batch off the send queue, kept
	// from one run to the next for its room; idle is its idle timer
	// (writerIdle), stopped when a run leaves.
	taken []*Message
	idle  *time.Timer
}

// warm reads each of ms and the first byte of its body before the batch is
// encoded. The application made them on another core, so each is a cache
// miss here; loaded in one tight loop, many are fetched at once, where
// encoding one after another waits for each in turn. 64 B over tcp:
// streamWriter.fits, the first to read each message, went from 15 % of the
// sending process's samples to 3 %, and memmove from 10 % to 2 %.
func (w *streamWriter) warm(ms []*Message) {
	sum := 0
	for _, m := range ms {
		if b := m.Body; len(b) > 0 {
			sum += int(b[0])
		}
	}
	w.warmed = sum
}

// newStreamWriter returns a writer for p's connection, which splits large
// bodies' batches when the connection is tcp.
func newStreamWriter(p *Pipe) *streamWriter {
	_, tcp := p.conn.(*net.TCPConn)
	return &streamWriter{conn: p.out, codec: p.codec, splitLead: tcp}
}

// split cuts iov in two after the first leadBytes of its first body of at
// least splitLeadMin bytes, into w.lead and w.rest; it reports false, and
// leaves them empty, when the writer does not split or iov holds no such
// body. iov itself is not changed.
func (w *streamWriter) split(iov net.Buffers) bool {
	if !w.splitLead {
		return false
	}
	for i, b := range iov {
		if len(b) >= splitLeadMin {
			w.lead = append(append(w.lead[:0], iov[:i]...), b[:leadBytes])
			w.rest = append(append(w.rest[:0], b[leadBytes:]), iov[i+1:]...)
			return true
		}
	}
	return false
}

// writeOut writes b, leaving b's array as it is, for reuse.
func (w *streamWriter) writeOut(b net.Buffers) error {
	_, err := w.conn.writeBuffers(b)
	return err
}

// clearSplit drops the halves' references to the batch.
func (w *streamWriter) clearSplit() {
	clear(w.lead)
	clear(w.rest)
	w.lead, w.rest = w.lead[:0], w.rest[:0]
}

// fits reports whether m's framing and small bodies fit in what is left of
// the buffer, so that adding it cannot move the buffer under segments that
// point into it.
func (w *streamWriter) fits(m *Message) bool {
	small := len(m.Body)
	if small > copyLimit {
		small = 0
	}
	return len(w.buf)+w.codec.overhead(m)+small <= cap(w.buf)
}

// acquire takes a write buffer if the writer has none.
func (w *streamWriter) acquire() {
	if w.buf == nil {
		w.bufp = writeBufs.Get().(*[]byte)
		w.buf = (*w.bufp)[:0]
	}
}

// release gives the write buffer back; the writer must have flushed.
func (w *streamWriter) release() {
	if w.buf != nil {
		*w.bufp = w.buf[:0]
		writeBufs.Put(w.bufp)
		w.buf, w.bufp = nil, nil
	}
}

func (w *streamWriter) add(m *Message) {
	w.codec.appendMessage(w, m)
	w.batch = append(w.batch, m)
	w.bytes += uint64(m.Len())
}

// appendBody adds b to the batch: copied when small, else as a segment of
// its own, written in place by writev.
func (w *streamWriter) appendBody(b []byte) {
	if len(b) <= copyLimit {
		w.buf = append(w.buf, b...)
		return
	}
	w.segs = append(w.segs, w.buf[w.segStart:], b)
	w.segStart = len(w.buf)
}

func (w *streamWriter) flush() error {
	if w.err != nil || (len(w.buf) == 0 && len(w.segs) == 0) {
		clear(w.segs)
		w.segs = w.segs[:0]
		w.buf = w.buf[:0]
		w.segStart = 0
		return w.err
	}
	var err error
	if len(w.segs) == 0 {
		_, err = w.conn.Write(w.buf)
	} else {
		w.iov = append(w.iov[:0], w.segs...)
		if w.segStart < len(w.buf) {
			w.iov = append(w.iov, w.buf[w.segStart:])
		}
		if w.split(w.iov) {
			if err = w.writeOut(w.lead); err == nil {
				err = w.writeOut(w.rest)
			}
			w.clearSplit()
		} else {
			err = w.writeOut(w.iov)
		}
		clear(w.iov)
		clear(w.segs)
		w.segs = w.segs[:0]
	}
	w.buf = w.buf[:0]
	w.segStart = 0
	return err
}

// writeStream is the pipe's writer goroutine: it owns every write on the
// connection, so no lock is held across network I/O. It takes everything
// queued at once and writes it in as few writes as fit the buffer.
//
// It runs while there is something to write: when it has found nothing
// for writerIdle, it ends (sendQueue.writerLeaves), and the next message,
// command or leftover starts another run, so an idle connection keeps no
// writer goroutine.
func (p *Pipe) writeStream() {
	defer p.sock.wg.Done()
	w, q, linger := p.writer, p.sendq, p.sock.lingering
	final := true // the writer ends for good, not for a while
	defer func() {
		if final { // (a run that leaves no longer owns w: the next may)
			w.idle.Stop()
			w.release()
			close(p.writerDone)
		}
	}()
	taken := w.taken
	var ctrl []byte // a dialect command waiting for the write turn
	// The idle timer is armed when the writer first waits, and not moved
	// as it works and waits again: when it goes off, the writer leaves if
	// it wrote nothing since it was armed, and is armed again if it did.
	armed, batches, batchesArmed := false, 0, 0
	for {
		if ctrl != nil && q.claimCtrl() {
			if p.writeCtrl(w, ctrl) != nil {
				return
			}
			ctrl = nil
		}
		if ctrl == nil {
			select {
			case ctrl = <-p.ctrl: // a dialect command (ZMTP PONG), even when busy
				continue
			case <-p.done:
				return
			default:
			}
		}
		var left partial
		taken, left = q.takeAll(taken[:0])
		if left.bufs != nil && p.writeLeftover(left) != nil {
			p.dropTaken(taken)
			return
		}
		if len(taken) == 0 {
			if left.bufs != nil {
				continue
			}
			w.release() // idle: an idle connection holds no write buffer
			if !armed {
				w.idle.Reset(writerIdle())
				armed, batchesArmed = true, batches
			}
			ctrlCh := p.ctrl
			if ctrl != nil {
				ctrlCh = nil // waiting for the application's write turn to end
			}
			select {
			case <-q.wake:
			case ctrl = <-ctrlCh:
			case <-p.done:
				return
			case <-linger:
				if q.len() == 0 {
					p.close(nil)
					return
				}
			case <-w.idle.C:
				armed = false
				if batches == batchesArmed && ctrl == nil {
					w.taken = taken[:0]
					if q.writerLeaves(len(p.ctrl)) {
						final = false
						return
					}
				}
			}
			continue
		}
		batches++
		p.sock.signalReady() // what was taken made room
		w.acquire()
		w.warm(taken)
		for i, m := range taken {
			if len(w.batch) > 0 && !w.fits(m) {
				if p.flushBatch(w) != nil {
					p.dropTaken(taken[i:])
					return
				}
			}
			w.add(m)
			taken[i] = nil
		}
		if p.flushBatch(w) != nil {
			return
		}
	}
}

// writeLeftover writes what the connection did not take of a
// write-through, before anything queued after it.
func (p *Pipe) writeLeftover(left partial) error {
	var err error
	if p.sealed != nil {
		err = p.sealed.rw.Flush() // what the write through sealed goes first
	}
	if err == nil {
		_, err = p.out.writeBuffers(left.bufs)
	}
	if left.m != nil {
		left.m.Free()
	}
	if err != nil {
		p.closeForWrite(err)
	}
	return err
}

// writeCtrl writes a dialect command on its own.
func (p *Pipe) writeCtrl(w *streamWriter, b []byte) error {
	w.acquire()
	w.buf = append(w.buf, b...)
	return p.flushBatch(w)
}

// dropTaken drops messages taken off the send queue that will not be
// written, and tells the queue.
func (p *Pipe) dropTaken(ms []*Message) {
	var n int64
	for i, m := range ms {
		n += int64(m.Len())
		p.Drop(m, DropClosed)
		ms[i] = nil
	}
	p.sendq.done(len(ms), n)
}

// closeForWrite closes the pipe because writing to its connection failed
// with err (see dropsRead).
func (p *Pipe) closeForWrite(err error) {
	p.writeFailed.Store(true)
	p.close(fmt.Errorf("write: %w", err))
}

// flushBatch writes the writer's batch, frees its messages and gives their
// room back to the send queue.
func (p *Pipe) flushBatch(w *streamWriter) error {
	err := w.flush()
	if err != nil {
		p.cnt.drops[DropClosed].Add(uint64(len(w.batch)))
	}
	freeMessages(w.batch)
	if err == nil {
		p.cnt.msgsOut.Add(uint64(len(w.batch)))
		p.cnt.bytesOut.Add(w.bytes)
	} else {
		p.closeForWrite(err)
	}
	if len(w.batch) > 0 {
		p.sendq.done(len(w.batch), int64(w.bytes))
		p.sock.signalReady()
	}
	w.batch = w.batch[:0]
	w.bytes = 0
	return err
}

func readFull(r io.Reader, b []byte) (int, error) { return io.ReadFull(r, b) }

// buffersLen is the number of bytes in bs.
func buffersLen(bs net.Buffers) int {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	return n
}

// connWriter is what a pipe writes its connection with when it may wait:
// the connection itself (plainWriter) or, for a tcp or ipc pipe on Linux,
// its descriptor, with raw system calls (fdWriter, rawsys_linux.go). writeBuffers
// returns what it did not write of bufs (nothing unless it failed), and
// leaves bufs's array as it is. Only the holder of the pipe's write turn
// calls it.
type connWriter interface {
	io.Writer
	writeBuffers(bufs net.Buffers) (net.Buffers, error)
}

// plainWriter writes with the connection's own Write and writev. bufs is
// the slice net.Buffers.WriteTo consumes, kept here so that a write
// allocates nothing.
type plainWriter struct {
	net.Conn
	bufs net.Buffers
}

func (w *plainWriter) writeBuffers(bufs net.Buffers) (net.Buffers, error) {
	w.bufs = bufs
	_, err := w.bufs.WriteTo(w.Conn)
	left := w.bufs
	w.bufs = nil
	return left, err
}
