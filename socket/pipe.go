package socket

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/internal/neterr"
)

// PipeID names a pipe within the process. It fits in 31 bits, so raw SP
// patterns can carry it in a backtrace word with the high bit clear.
type PipeID uint32

var lastPipeID atomic.Uint32

func init() { lastPipeID.Store(rand.Uint32() & 0x3fffffff) }

func nextPipeID() PipeID {
	for {
		id := lastPipeID.Add(1) & 0x7fffffff
		if id != 0 {
			return PipeID(id)
		}
	}
}

// Pipe is one connected peer. Its reader goroutine hands received messages to
// the pattern (Protocol.Deliver); its writer goroutine takes messages from the
// pipe's send queue and writes them, several at a time. Patterns see pipes,
// never bytes.
type Pipe struct {
	id       PipeID
	sock     *Socket
	peer     uint16 // the peer's SP protocol number (SP and inproc pipes)
	peerName string // the peer's protocol or ZMTP socket type
	// peerIdentity is the routing id a ZMTP peer announced (nil if none).
	peerIdentity []byte
	zap          *ZAPReply // what the Authenticator said of the peer (nil if none ran)
	// heartbeater is the stream's own heartbeat (ws), used in place of
	// ZMTP's PING (nil: none).
	heartbeater Heartbeater
	// tlsState is the TLS handshake's outcome on a pipe over TLS, and
	// connInfo the framing's own account of its handshake (ws), for
	// ConnInfo; nil when there is none.
	tlsState *tls.ConnectionState
	connInfo ConnInformer
	// listener accepted the pipe (nil for a dialed one): closing it closes
	// the pipe, as nng's and libzmq's listeners close theirs.
	listener *Listener
	url      string
	remote   string
	dialed   bool
	attached bool // the pattern has taken it (AddPipe returned); under the socket's mu

	// sendq is bounded by SendHWM and, on stream pipes, SendQueueBytes, as
	// they were when the pipe was made.
	sendq *sendQueue

	// Stream transports.
	conn  net.Conn
	codec streamCodec // the pipe's dialect
	ctrl  chan []byte // dialect commands for the writer (ZMTP PONG); nil for SP
	// Message transports.
	port PortInfo // the peer's; we read port.Out
	mp   MessagePort
	// direct is the protocol's TryDeliver, if it has one; running says
	// the pattern has taken the pipe. backlog counts messages a sender
	// queued for this pipe's reader that it has not yet delivered: while
	// there are any, senders queue too, so that order is kept.
	direct  TryDeliverer
	running atomic.Bool
	backlog atomic.Int64
	// roomWait says the pattern's receive queue was full for the inproc
	// sender's hand-over and will tell the sender when it has room
	// (RecvQueue.TryPutFrom): the sender waits rather than queue.
	roomWait atomic.Bool
	// inEnv is how the reader translates what it takes from a peer across
	// the REQ/REP and DEALER/ROUTER line (inproc_envelope.go); env and
	// reqIDs are its state.
	inEnv  inprocEnv
	env    *envelopes
	reqIDs *idQueue

	done chan struct{} // closed when the pipe starts closing
	// closing is set just before done is closed: the senders' check per
	// message, a load where a select on done is a runtime call.
	closing atomic.Bool
	// writeFailed says the pipe closes because a write failed: the peer
	// went away, perhaps right after sending what the reader has read and
	// not yet queued, which is then still delivered (dropsRead).
	writeFailed atomic.Bool
	closeOnce   sync.Once
	err         error // why it closed; written before done is closed
	// lateFault is a network fault (neterr.NetworkFault) met by one goroutine
	// after the other closed the pipe as clean: the kernel hands a dead
	// connection's error to one caller only, and the other then sees a
	// plain end of stream. It stands in for a nil err.
	lateFault  atomic.Pointer[error]
	writerDone chan struct{} // closed when the writer goroutine has ended for good
	gone       chan struct{} // closed after the pattern forgot the pipe
	// onGone, if set (a dialer's pipe), runs once gone is closed.
	onGone func(*Pipe)

	// The read and write turns (through.go). tryWriter writes without
	// waiting (nil when the connection cannot); loanMin is the smallest
	// body the connection carries by loan (0: none).
	// rstate says who holds the read turn; br is the read buffer, used by
	// whoever holds it. turnGiven and turnBack pass the turn to the
	// application and back; touched says the application read since the
	// reader goroutine last looked. tw frames the application's writes.
	tryWriter TryWriter
	// cmdIov is writeCommand's one-element iov, used by the holder of the
	// write turn, so that a heartbeat's write makes no slice.
	cmdIov    [1][]byte
	loanMin   int
	rstate    atomic.Int32
	br        *readBuffer
	turnGiven chan struct{}
	turnBack  chan struct{}
	turnTimer *time.Timer // the reader goroutine's, for handOver's waits
	touched   atomic.Bool
	tw        *streamWriter
	// syscallWrites says a write through is a system call (tcp, ipc: the
	// descriptor's own writer); lastThrough is when the last one ended
	// (monoNow) and inAtThrough the messages read by then, so that a burst
	// of sends goes to the writer, batched (inBurst).
	syscallWrites bool
	// sealed is the TryWriter of a connection that seals what it writes
	// (TLS, CURVE; nil otherwise): it takes all or nothing, and a write
	// through never finishes with writes that wait (finishThrough), since
	// sealed bytes cannot be taken back.
	sealed      *sealedWriter
	lastThrough atomic.Int64
	inAtThrough atomic.Uint64
	// spinner is the reader an application reading through polls with
	// before it parks, and spinBudget how long (ns) it now polls
	// (through_spin.go); both the read turn holder's.
	spinner    *fdReader
	spinBudget int64
	// spinPeer is the connection's far end, and spinHere says it is in
	// this process (tcpEnds): then nobody spins. end is the near end, in
	// tcpEnds while the pipe lives.
	spinPeer netip.AddrPort
	spinHere bool
	end      *knownEnd
	throughs atomic.Uint64 // system-call writes through, for the tests
	// writer is the writer goroutine's, passed from one run to the next
	// (sendQueue.writerLeaves): one runs at a time.
	writer *streamWriter
	// out is what the connection is written with when a write may wait
	// (newConnWriter), by whoever holds the write turn.
	out connWriter
	// chunks is the chunked reading's state, on a pipe that reads in
	// chunks (chunk.go); the holder of the read turn owns it. unchunked
	// says the codec has taken the stream over from it for good.
	chunks    *chunkParse
	unchunked atomic.Bool
	// watched is the context whose cancellation cuts the turn holder's
	// read short, and unwatch ends that (watchCancel).
	watched context.Context
	unwatch func() bool
	// readingLarge says the holder of the read turn reads a message too
	// large for the read buffer (turnSource).
	readingLarge bool
	// largeRead is a large body an application reading through began and
	// handed over unfinished (readLargeAsApp), for the reader goroutine
	// to finish; owned by the holder of the read turn.
	largeRead bodyRead

	cnt counters
	// rshare is what the pipe has waiting in its socket's receive queue,
	// which bounds each pipe's share (RecvQueue).
	rshare recvShare
	// inBatch holds what the reader has read but not yet handed to a
	// BatchDeliverer protocol; only the reader goroutine touches it.
	inBatch []*Message

	// Data is the pattern's own state for this pipe. A pattern sets it in
	// AddPipe, before it shares the pipe, and owns it from then on.
	Data any

	// connectID is the routing id the application gave the dial that
	// made the pipe (ConnectRoutingID; nil if none), and local our end's
	// address (Conn.Local). Last, with the other fields nothing on the
	// message path reads.
	connectID []byte
	local     string
}

// ZMTP reports whether the pipe speaks ZMTP (its peer is a ZeroMQ socket),
// or is an inproc pipe of a REQ or REP whose peer is a DEALER or ROUTER,
// whose envelopes are translated as ZMTP's are: the envelope of what
// arrives is in the message's Header already.
func (p *Pipe) ZMTP() bool {
	if p.inEnv == inprocToReq || p.inEnv == inprocToRep {
		return true
	}
	_, ok := p.codec.(*zmtpCodec)
	return ok
}

// RepliesInOrder reports whether the pipe is a REQ end that matches
// replies to requests by their order, as libzmq's REQ does: over ZMTP, or
// over inproc to a ROUTER, without req.Correlate. A peer that answered
// two requests on it out of order would swap their replies.
func (p *Pipe) RepliesInOrder() bool {
	if p.inEnv == inprocToReq {
		return !p.env.correlate
	}
	c, ok := p.codec.(*zmtpCodec)
	return ok && c.env == envelopeReq && !c.correlate
}

// PeerIdentity returns the routing id a ZMTP peer announced in its
// handshake, or nil. A ROUTER routes to the peer by it.
func (p *Pipe) PeerIdentity() []byte { return p.peerIdentity }

// PeerName returns the peer's protocol ("req0") or ZeroMQ socket type ("REQ").
func (p *Pipe) PeerName() string { return p.peerName }

// ID returns the pipe's identifier.
func (p *Pipe) ID() PipeID { return p.id }

// ByReference reports whether the pipe hands the messages it is given to
// its peer by reference (inproc), which then owns them, rather than writing
// them to a connection.
func (p *Pipe) ByReference() bool { return p.mp != nil }

// PeerProtocol returns the SP protocol number the peer announced; zero on a
// ZMTP pipe.
func (p *Pipe) PeerProtocol() uint16 { return p.peer }

// dialect names the pipe's wire dialect.
func (p *Pipe) dialect() string {
	if p.codec != nil {
		return p.codec.name()
	}
	return "inproc"
}

// Done is closed when the pipe starts closing.
func (p *Pipe) Done() <-chan struct{} { return p.done }

// Err returns why the pipe closed, once Done is closed: nil while it is
// open, and nil too when it closed cleanly (the peer or this side closed
// it); otherwise the fault, as EventDisconnected reports it.
func (p *Pipe) Err() error {
	select {
	case <-p.done:
		return p.cause()
	default:
		return nil
	}
}

// cause returns why the pipe closed, once done is closed: err, or a
// network fault found after a clean close.
func (p *Pipe) cause() error {
	if p.err != nil {
		return p.err
	}
	if f := p.lateFault.Load(); f != nil {
		return *f
	}
	return nil
}

// Stats returns a snapshot of the pipe's figures.
func (p *Pipe) Stats() PipeStats {
	st := PipeStats{
		Counters: p.counts(),
		ID:       p.id,
		URL:      p.url,
		Remote:   p.remote,
		Local:    p.local,
		Dialect:  p.dialect(),
		Peer:     p.peerName,
		Dialed:   p.dialed,
	}
	if c, ok := p.codec.(*zmtpCodec); ok {
		st.Revision, st.Mechanism = c.revision, c.mechanism
	}
	return st
}

// counts returns the pipe's counters, with what it handed straight to its
// inproc peer counted out, and what the peer handed to it counted in.
func (p *Pipe) counts() Counters {
	c := p.cnt.snapshot()
	msgs, bytes := p.cnt.handed.load()
	c.MessagesOut += msgs
	c.BytesOut += bytes
	if q := p.port.pipe; q != nil {
		msgs, bytes := q.cnt.handed.load()
		c.MessagesIn += msgs
		c.BytesIn += bytes
	}
	return c
}

// TrySend queues m on the pipe without waiting. It returns false when the
// queue is at its high-water mark or the pipe is closing; the caller still
// owns m then. On an inproc pipe whose peer's receive queue is full, it
// returns false too, and the socket's waiting senders are woken when that
// queue has room (RecvQueue.TryPutFrom).
func (p *Pipe) TrySend(m *Message) bool { return p.trySendOr(m, sendTry) }

// sendMode says what trySendOr does when there is no room.
type sendMode uint8

const (
	// sendTry: refuse m (TrySend).
	sendTry sendMode = iota
	// sendSpill: on an inproc pipe whose peer's receive queue is full,
	// queue m on the pipe's own queue if it has room (for a caller that
	// would drop m rather than wait).
	sendSpill
	// sendAlways: queue m, past the pipe's own bounds if need be (for
	// what must reach the peer however much of it there is).
	sendAlways
)

// trySendOr is TrySend, with what to do when there is no room.
func (p *Pipe) trySendOr(m *Message, mode sendMode) bool {
	if p.closing.Load() {
		return false
	}
	if p.mp != nil && m.shared {
		// The peer would own the very message, and may change it: give it
		// a copy, and let go of our share only once it is taken.
		c := m.Clone()
		if !p.trySend(c, mode) {
			c.Free()
			return false
		}
		m.Free()
		return true
	}
	return p.trySend(m, mode)
}

// trySend is trySendOr once the pipe is known to be open.
func (p *Pipe) trySend(m *Message, mode sendMode) bool {
	n := p.prepare(m)
	if p.writeThrough(m) {
		return true
	}
	if p.handOverInproc(m) {
		p.cnt.handed.add(n)
		return true
	}
	if q := p.port.pipe; mode == sendTry && q != nil && q.roomWait.Load() && q.backlog.Load() == 0 {
		// The receiving queue is full, and says when it has room: the
		// sender waits for that rather than queue here for a third
		// goroutine to deliver (inproc push/pull of 64 B: 8.3 M msg/s
		// with that goroutine in the path, 11.9 M without).
		return false
	}
	q := p.queued(1)
	if !p.sendq.push(m, n, mode == sendAlways) {
		p.unqueued(q)
		return false
	}
	p.countHandOver(n)
	return true
}

// handOverInproc gives m straight to the receiving pattern of an inproc peer, on
// the sender's goroutine: one hand-off per message instead of two. It keeps
// the order of what was queued earlier by refusing while the peer's reader
// still holds queued messages.
func (p *Pipe) handOverInproc(m *Message) bool {
	q := p.directPeer()
	if q == nil {
		return false
	}
	if q.closing.Load() {
		return false
	}
	id := m.Pipe
	m.Pipe = q.id
	if !q.direct.TryDeliver(q, m) {
		m.Pipe = id
		return false
	}
	return true
}

// directPeer returns the receiving pipe of an inproc peer whose pattern
// takes messages straight from the sender (handOverInproc) now, or nil.
// The peer's translation (inEnv) is read only once it runs: its handshake
// may still be setting it when this end is ready to send.
func (p *Pipe) directPeer() *Pipe {
	q := p.port.pipe
	if q == nil || q.direct == nil || !q.running.Load() || q.inEnv != inprocEnvNone || q.backlog.Load() != 0 {
		return nil
	}
	return q
}

// queued counts n messages about to go on the send queue of an inproc pipe
// in its peer's backlog and returns the peer (nil on other pipes). The peer's
// socket counts them too while the peer is live (backlogGone).
func (p *Pipe) queued(n int64) *Pipe {
	q := p.port.pipe
	if q != nil && q.backlog.Add(n) > 0 {
		q.sock.inprocQueued.Add(n)
	}
	return q
}

// unqueued takes back a count made by queued for a message that did not go
// on the queue after all.
func (p *Pipe) unqueued(q *Pipe) {
	if q != nil && q.backlog.Add(-1) >= 0 {
		q.sock.inprocQueued.Add(-1)
	}
}

// delivered takes k messages its reader delivered off the pipe's backlog.
func (p *Pipe) delivered(k int64) {
	p.backlog.Add(-k)
	p.sock.inprocQueued.Add(-k)
}

// endBacklog takes the pipe's backlog off its socket's count for good,
// once no reader will deliver it: when the reader has ended, or when the
// pipe never started.
func (p *Pipe) endBacklog() {
	if n := p.backlog.Swap(backlogGone); n > 0 {
		p.sock.inprocQueued.Add(-n)
	}
}

// backlogGone is the backlog of a pipe whose reader has ended: far below
// zero, so that the counts of senders racing with the end leave it
// negative, and queued and unqueued see that the socket no longer counts
// them.
const backlogGone = -1 << 62

// Send queues m on the pipe, waiting for room until ctx ends, the pipe
// closes or the socket closes. On error the caller still owns m. The
// pipe's consumer signals the socket each time it makes room.
func (p *Pipe) Send(ctx context.Context, m *Message) error {
	if p.TrySend(m) {
		return nil
	}
	s := p.sock
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	for {
		ready := s.readyChan()
		if p.TrySend(m) {
			return nil
		}
		select {
		case <-ready:
		case <-p.done:
			return ErrClosed
		case <-s.closing:
			return ErrClosed
		case <-ctx.Done():
			return ctxErr(ctx)
		}
	}
}

// prepare readies m for the pipe's transport and returns its size. A message
// transport hands the message over as it is, and the peer's pattern expects
// the header words at the front of the body.
func (p *Pipe) prepare(m *Message) int {
	if p.mp != nil {
		m.PrependHeaderToBody()
	}
	return m.Len()
}

// countHandOver counts a message handed to a message transport; the peer
// owns it now, so only its size (taken before) is used. Stream pipes count in
// their writer, after the write.
func (p *Pipe) countHandOver(n int) {
	if p.mp != nil {
		p.cnt.msgsOut.Add(1)
		p.cnt.bytesOut.Add(uint64(n))
	}
}

// Close closes the pipe because of err. A pattern calls it when the peer
// breaks the pattern's rules; an error matching ErrProtocol is counted as a
// protocol error.
func (p *Pipe) Close(err error) {
	if p.close(err) && errors.Is(err, ErrProtocol) {
		p.cnt.protoErrs.Add(1)
	}
}

// close closes the pipe because of err and reports whether this call closed
// it (only the first cause counts).
func (p *Pipe) close(err error) (closed bool) {
	p.closeOnce.Do(func() {
		closed = true
		p.err = err
		p.closing.Store(true)
		close(p.done)
		if p.sendq.end() {
			close(p.writerDone) // no writer runs, and none will start
		}
		p.stopHeartbeat()
		p.sendq.stopTail()
		if p.conn != nil {
			p.conn.Close()
		}
		if p.mp != nil {
			p.mp.Close()
		}
	})
	if !closed && p.err == nil && neterr.NetworkFault(err) {
		p.lateFault.CompareAndSwap(nil, &err)
	}
	return closed
}

// dropsRead reports whether what the reader has read off the connection
// and not yet queued is to be dropped rather than delivered: when the pipe
// closes, unless only because a write failed. A peer that sent messages
// and went away makes our next write fail (a PONG to its last PING, say),
// perhaps before the reader queued them; libzmq delivers what a pipe
// holds after its engine fails too.
func (p *Pipe) dropsRead() bool { return p.closing.Load() && !p.writeFailed.Load() }

// Drop counts m as dropped for reason r and frees it.
func (p *Pipe) Drop(m *Message, r DropReason) {
	p.cnt.drops[r].Add(1)
	m.Free()
}

// start runs the pipe's goroutines. The reader goroutine also cleans up after
// both have ended.
func (p *Pipe) start() {
	s := p.sock
	s.wg.Add(1)
	if p.conn != nil {
		if c, ok := p.codec.(*zmtpCodec); ok && s.cfg.heartbeatIvl.Load() > 0 && !c.v20 {
			p.startHeartbeat(c)
		}
		p.out = newConnWriter(p.conn)
		p.writer = newStreamWriter(p)
		p.writer.idle = time.NewTimer(time.Hour)
		p.writer.idle.Stop()
		if p.writer.loans = loanConn(p.conn); p.writer.loans != nil {
			p.writer.loanMin = p.writer.loans.LoanMin()
		}
		run := p.writeStream // made once: a go statement on it allocates nothing
		p.sendq.startWriter = func() {
			s.wg.Add(1) // the reader's count keeps the group above zero
			go run()
		}
		p.sendq.startWriter()
		go func() {
			defer s.wg.Done()
			p.readStream()
			p.finish()
		}()
		return
	}
	close(p.writerDone)
	p.running.Store(true)
	go func() {
		defer s.wg.Done()
		p.readPort()
		p.finish()
	}()
}

// finish runs once both goroutines have ended: it tells the pattern, counts
// what is still queued as dropped, and reports the disconnect.
func (p *Pipe) finish() {
	<-p.writerDone
	p.endBacklog()
	// Count what is still queued before the socket takes the pipe's
	// figures into its own, so that the drops show in Stats.
	p.dropQueued()
	p.sock.removePipe(p)
	p.dropQueued() // a sender racing with the close
	p.end.forget()
	close(p.gone)
	if p.onGone != nil {
		p.onGone(p)
	}
}

// dropQueued drops what is left in the send queue of a closed pipe,
// including the rest of a write-through the writer had not written.
func (p *Pipe) dropQueued() {
	ms, left := p.sendq.takeAll(nil)
	if left.m != nil {
		left.m.Free()
	}
	p.dropTaken(ms)
}
