package socket

import "sync/atomic"

// DropReason says why a message was discarded.
type DropReason int

// Reasons a message is dropped; each has its own counter.
const (
	DropQueueFull DropReason = iota // the pipe's queue was at its high-water mark (pub, bus)
	DropTTL                         // more hops than the TTL allows
	DropLate                        // a reply or answer for a request or survey no longer waited for
	DropBadHeader                   // a message without a valid protocol header
	DropClosed                      // still queued when its pipe or socket closed
	DropNoPeer                      // no pipe to take it (raw routing to a gone pipe)
	DropConflated                   // replaced by a newer message (Conflate)
	DropMultipart                   // a multipart message RecvBytes could not return (ErrMultipart)
	numDropReasons
)

// String says why, in a few words ("queue full").
func (r DropReason) String() string {
	switch r {
	case DropQueueFull:
		return "queue full"
	case DropTTL:
		return "ttl exceeded"
	case DropLate:
		return "late"
	case DropBadHeader:
		return "bad header"
	case DropClosed:
		return "closed"
	case DropNoPeer:
		return "no peer"
	case DropConflated:
		return "conflated"
	case DropMultipart:
		return "multipart"
	}
	return "unknown"
}

// Counters are the traffic figures of a socket or a pipe.
type Counters struct {
	MessagesIn, MessagesOut uint64
	BytesIn, BytesOut       uint64
	ProtocolErrors          uint64
	Drops                   [numDropReasons]uint64 // indexed by DropReason
}

// Dropped returns the number of messages dropped for reason r.
func (c Counters) Dropped(r DropReason) uint64 { return c.Drops[r] }

// TotalDrops returns the number of dropped messages for every reason.
func (c Counters) TotalDrops() uint64 {
	var n uint64
	for _, d := range c.Drops {
		n += d
	}
	return n
}

func (c *Counters) add(o *Counters) {
	c.MessagesIn += o.MessagesIn
	c.MessagesOut += o.MessagesOut
	c.BytesIn += o.BytesIn
	c.BytesOut += o.BytesOut
	c.ProtocolErrors += o.ProtocolErrors
	for i := range c.Drops {
		c.Drops[i] += o.Drops[i]
	}
}

// Stats is a snapshot of a socket's figures, pipes gone included.
type Stats struct {
	Counters
	Pipes             int    // pipes connected now, and taken by the pattern
	Connects          uint64 // pipes that completed their handshake
	Reconnects        uint64 // dialer connections made after the first
	HandshakeFailures uint64
	DialFailures      uint64
}

// PipeStats is a snapshot of one connected pipe's figures.
type PipeStats struct {
	Counters
	ID     PipeID
	URL    string // the dialed or listened URL
	Remote string // the peer's address, as the transport gives it
	// Local is our end's address where the transport gives it one of its
	// own (tcp: host:port, the source a dial chose or was given); empty
	// otherwise.
	Local   string
	Dialect string // "sp", "zmtp" or "inproc"
	// Revision is the ZMTP revision the pipe speaks, the lower of the two
	// sides': "3.1", "3.0" or "2.0" (libzmq 3.x, JeroMQ 0.3). Empty on SP
	// and inproc pipes.
	Revision string
	// Mechanism is the ZMTP security mechanism of the pipe: "NULL",
	// "PLAIN" or "CURVE". Empty on SP and inproc pipes. (A tls+tcp pipe
	// says so in its URL.)
	Mechanism string
	Peer      string // the peer's protocol name
	Dialed    bool   // true when we dialed, false when we accepted
}

// counters is the live, atomically updated form of Counters.
type counters struct {
	msgsIn, msgsOut   atomic.Uint64
	bytesIn, bytesOut atomic.Uint64
	protoErrs         atomic.Uint64
	drops             [numDropReasons]atomic.Uint64
	// handed counts what this pipe handed straight to its inproc peer's
	// pattern: out here and in there (Pipe.counts), for one atomic
	// addition per message instead of four.
	handed handedCount
}

func (c *counters) snapshot() Counters {
	var s Counters
	s.MessagesIn = c.msgsIn.Load()
	s.MessagesOut = c.msgsOut.Load()
	s.BytesIn = c.bytesIn.Load()
	s.BytesOut = c.bytesOut.Load()
	s.ProtocolErrors = c.protoErrs.Load()
	for i := range c.drops {
		s.Drops[i] = c.drops[i].Load()
	}
	return s
}
