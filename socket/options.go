package socket

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Option is one typed socket setting, checked when it is applied: a value
// out of range fails with ErrBadOption, an option that does not apply to the
// socket's pattern fails with ErrOptionNotApplicable. Pass options to a
// pattern's New or to Socket.SetOption.
type Option struct {
	name  string
	apply func(*Socket) error
}

// String returns the option's name.
func (o Option) String() string { return o.name }

// NewOption makes an option from a name and a function that checks and
// applies it; patterns use it for their own settings.
func NewOption(name string, apply func(*Socket) error) Option {
	return Option{name: name, apply: apply}
}

// ProtocolOption makes an option that applies only to sockets whose protocol
// has type P; on any other socket it fails with ErrOptionNotApplicable.
func ProtocolOption[P any](name string, apply func(P) error) Option {
	return Option{name: name, apply: func(s *Socket) error {
		p, ok := s.proto.(P)
		if !ok {
			return fmt.Errorf("%w: %s on %s", ErrOptionNotApplicable, name, s.info.Name)
		}
		return apply(p)
	}}
}

func badOption(name string, v any) error {
	return fmt.Errorf("%w: %s = %v", ErrBadOption, name, v)
}

// Defaults, as libzmq and nng users expect them.
const (
	DefaultHWM               = 1000
	DefaultSendQueueBytes    = 4 << 20
	DefaultRecvQueueBytes    = 4 << 20
	DefaultMaxRecvSize       = 1 << 20
	DefaultReconnectInterval = 100 * time.Millisecond
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultLinger            = time.Second
)

// config holds the generic settings. Fields are atomics because pipes read
// them from their own goroutines while the application may change them.
type config struct {
	sendHWM          atomic.Int64
	sendQueueBytes   atomic.Int64 // bytes a stream pipe queues; 0 = no bound
	recvHWM          atomic.Int64
	recvQueueBytes   atomic.Int64 // bytes a stream pipe has waiting to be received; 0 = no bound
	sendTimeout      atomic.Int64 // ns; -1 = none, 0 = do not wait
	recvTimeout      atomic.Int64 // ns; -1 = none, 0 = do not wait
	linger           atomic.Int64 // ns; <0 = forever
	reconnectMin     atomic.Int64 // ns
	reconnectMax     atomic.Int64 // ns; 0 = no growth
	connectTimeout   atomic.Int64 // ns; 0 = the system's
	maxRecvSize      atomic.Int64 // bytes; 0 = unlimited
	handshakeTimeout atomic.Int64 // ns
	dialDialect      atomic.Int32 // Dialect dialers speak
	heartbeatIvl     atomic.Int64 // ns; 0 = no PINGs
	heartbeatTimeout atomic.Int64 // ns; 0 = never, -1 (unset) = the interval
	heartbeatTTL     atomic.Int64 // ns; 0 = none announced
	conflate         atomic.Bool  // the receive queue keeps the newest message only
	immediate        atomic.Bool  // queue only on connected pipes (true by default)
	recvSpin         atomic.Int64 // ns a Recv reading tcp through polls before parking; 0 = never
}

func (c *config) init() {
	c.sendHWM.Store(DefaultHWM)
	c.sendQueueBytes.Store(DefaultSendQueueBytes)
	c.recvHWM.Store(DefaultHWM)
	c.recvQueueBytes.Store(DefaultRecvQueueBytes)
	c.linger.Store(int64(DefaultLinger))
	c.reconnectMin.Store(int64(DefaultReconnectInterval))
	c.maxRecvSize.Store(DefaultMaxRecvSize)
	c.handshakeTimeout.Store(int64(DefaultHandshakeTimeout))
	c.immediate.Store(true)
	c.heartbeatTimeout.Store(-1)
	c.sendTimeout.Store(-1)
	c.recvTimeout.Store(-1)
}

// SendHWM sets the send high-water mark: how many messages each pipe queues
// before the pattern blocks (push, req, pair) or drops (pub, bus). At least 1.
// It applies to pipes connected after the call, as in libzmq.
func SendHWM(n int) Option {
	return NewOption("SendHWM", func(s *Socket) error {
		if !s.info.CanSend {
			return notApplicable("SendHWM", s)
		}
		if n < 1 || n > 1<<24 {
			return badOption("SendHWM", n)
		}
		s.cfg.sendHWM.Store(int64(n))
		return nil
	})
}

// SendQueueBytes bounds, besides SendHWM's count, the bytes each stream pipe
// (tcp, ipc, shm) queues for its writer: a message that would take the
// queue past n waits, or is dropped by the patterns that drop, until the
// writer has taken what is queued. An empty queue always takes one message,
// whatever its size. The count alone would let 1,000 large messages queue
// (a gigabyte at 1 MiB), and memory that size is cold: the copies into the
// kernel then cost several times what they cost from a small, hot queue.
// 0 removes the bound. Default DefaultSendQueueBytes (4 MiB). It applies to
// pipes connected after the call.
func SendQueueBytes(n int) Option {
	return NewOption("SendQueueBytes", func(s *Socket) error {
		if !s.info.CanSend {
			return notApplicable("SendQueueBytes", s)
		}
		if n < 0 {
			return badOption("SendQueueBytes", n)
		}
		s.cfg.sendQueueBytes.Store(int64(n))
		return nil
	})
}

// RecvQueueBytes bounds, besides RecvHWM's count, the bytes of the
// messages each stream pipe (tcp, ipc, shm, ws) has waiting in the socket's
// receive queue: once they reach n, the pipe stops reading (back-pressure
// to the peer), or drops as RecvHWM would make it, until the application
// has taken some. A pipe with nothing waiting always takes one message,
// whatever its size, so a pipe holds at most n bytes plus one message
// (MaxRecvSize). The count alone would let a peer that sends large
// messages to a socket the application is not reading fill RecvHWM of
// them per connection (1 GB at the defaults); libzmq has no such bound.
// inproc pipes, whose messages are the process's own, are bounded by
// count only. 0 removes the bound. Default DefaultRecvQueueBytes (4 MiB).
// Set it in the pattern's New or before the first Dial or Listen.
func RecvQueueBytes(n int) Option {
	return NewOption("RecvQueueBytes", func(s *Socket) error {
		if !s.info.CanRecv {
			return notApplicable("RecvQueueBytes", s)
		}
		if n < 0 {
			return badOption("RecvQueueBytes", n)
		}
		if s.started.Load() {
			return fmt.Errorf("%w: RecvQueueBytes must be set before Dial or Listen", ErrBadState)
		}
		s.cfg.recvQueueBytes.Store(int64(n))
		return nil
	})
}

// RecvHWM sets how many received messages the socket queues from each pipe
// before that pipe stops reading (back-pressure to the peer), as libzmq's
// ZMQ_RCVHWM bounds each pipe. Bounding each pipe rather than the socket is
// what keeps receiving fair: a peer that floods fills only its own share.
// At least 1. Set it in the pattern's New or before the first Dial or
// Listen.
func RecvHWM(n int) Option {
	return NewOption("RecvHWM", func(s *Socket) error {
		if !s.info.CanRecv {
			return notApplicable("RecvHWM", s)
		}
		if n < 1 || n > 1<<24 {
			return badOption("RecvHWM", n)
		}
		if s.started.Load() {
			return fmt.Errorf("%w: RecvHWM must be set before Dial or Listen", ErrBadState)
		}
		s.cfg.recvHWM.Store(int64(n))
		return nil
	})
}

// SendTimeout bounds how long Send waits (libzmq's ZMQ_SNDTIMEO, nng's
// NNG_OPT_SENDTIMEO, with their meanings): zero does not wait at all (Send
// fails with ErrTimeout unless the message can go at once), a negative
// value (the default) waits without limit. A context passed to
// SendContext bounds the wait too.
func SendTimeout(d time.Duration) Option {
	return NewOption("SendTimeout", func(s *Socket) error {
		if !s.info.CanSend {
			return notApplicable("SendTimeout", s)
		}
		s.cfg.sendTimeout.Store(int64(max(d, -1)))
		return nil
	})
}

// RecvTimeout bounds how long Recv waits (ZMQ_RCVTIMEO, NNG_OPT_RECVTIMEO):
// zero does not wait at all (Recv fails with ErrTimeout unless a message
// waits), a negative value (the default) waits without limit.
func RecvTimeout(d time.Duration) Option {
	return NewOption("RecvTimeout", func(s *Socket) error {
		if !s.info.CanRecv {
			return notApplicable("RecvTimeout", s)
		}
		s.cfg.recvTimeout.Store(int64(max(d, -1)))
		return nil
	})
}

// Linger sets how long Close keeps flushing queued messages before it drops
// them; zero drops at once, a negative value waits without limit. Default 1 s.
func Linger(d time.Duration) Option {
	return NewOption("Linger", func(s *Socket) error {
		s.cfg.linger.Store(int64(d))
		return nil
	})
}

// ReconnectInterval sets the first wait before a dialer tries again (default
// 100 ms). Each wait is jittered by up to half its length either way.
func ReconnectInterval(d time.Duration) Option {
	return NewOption("ReconnectInterval", func(s *Socket) error {
		if d <= 0 {
			return badOption("ReconnectInterval", d)
		}
		s.cfg.reconnectMin.Store(int64(d))
		return nil
	})
}

// ReconnectIntervalMax lets the wait between dial attempts double after each
// failure up to d. Zero (the default), or a d not above ReconnectInterval,
// keeps it at ReconnectInterval, as in libzmq and nng.
func ReconnectIntervalMax(d time.Duration) Option {
	return NewOption("ReconnectIntervalMax", func(s *Socket) error {
		if d < 0 {
			return badOption("ReconnectIntervalMax", d)
		}
		s.cfg.reconnectMax.Store(int64(d))
		return nil
	})
}

// ConnectTimeout bounds each of a dialer's attempts to connect (the tcp
// connect, the ipc connect, the shm set-up), as libzmq's
// ZMQ_CONNECT_TIMEOUT does; an attempt that takes longer fails with an
// error matching ErrTimeout (EventDialFailed) and the dialer tries again
// after ReconnectInterval. Zero, the default, leaves it to the system
// (a tcp connect to a host that never answers gives up after about two
// minutes on Linux, and the dialer waits that long). The handshake after
// it is bounded by HandshakeTimeout.
func ConnectTimeout(d time.Duration) Option {
	return NewOption("ConnectTimeout", func(s *Socket) error {
		if d < 0 {
			return badOption("ConnectTimeout", d)
		}
		s.cfg.connectTimeout.Store(int64(d))
		return nil
	})
}

// MaxRecvSize sets the largest message a peer may send, all its frames
// together (default 1 MiB, as in nanomsg and mangos); zero means no limit.
// A peer that announces more loses its connection before anything is
// allocated. libzmq (whose ZMQ_MAXMSGSIZE bounds each frame) and nng 1.5.2
// set no limit by default, so their peers may send larger messages: raise
// it for them. The default keeps one hostile peer from making us buffer
// without bound. A ZMTP message may also have at most max(1024, n/32)
// frames (2^20 with no limit), as each frame costs memory beyond its
// bytes.
func MaxRecvSize(n int64) Option {
	return NewOption("MaxRecvSize", func(s *Socket) error {
		if n < 0 {
			return badOption("MaxRecvSize", n)
		}
		s.cfg.maxRecvSize.Store(n)
		return nil
	})
}

// HandshakeTimeout bounds the connection handshake (default 10 s); a peer
// that stalls longer loses its connection.
func HandshakeTimeout(d time.Duration) Option {
	return NewOption("HandshakeTimeout", func(s *Socket) error {
		if d <= 0 {
			return badOption("HandshakeTimeout", d)
		}
		s.cfg.handshakeTimeout.Store(int64(d))
		return nil
	})
}

func notApplicable(name string, s *Socket) error {
	return fmt.Errorf("%w: %s on %s", ErrOptionNotApplicable, name, s.info.Name)
}

// Conflate makes the socket keep only the newest received message of each
// peer (libzmq's ZMQ_CONFLATE, which conflates each connection, for
// readers that want every publisher's latest state, not every update): a
// message that arrives while one from the same pipe is waiting replaces
// it, and the one replaced is counted as DropConflated. Receive hands out
// the waiting messages in the order their pipes' began to wait. It applies to the receive queue, so
// only to patterns that receive through one: not to push or pub, which do
// not receive, nor to cooked req and surveyor, whose replies and answers
// belong to their request or survey (Conflater).
func Conflate(on bool) Option {
	return NewOption("Conflate", func(s *Socket) error {
		c, ok := s.proto.(Conflater)
		if !s.info.CanRecv || ok && !c.Conflates() {
			return notApplicable("Conflate", s)
		}
		s.cfg.conflate.Store(on)
		return nil
	})
}

// Immediate(true), the default, makes load-balancing senders (push, dealer,
// pair) queue messages only on connected peers: with none, Send waits (as
// libzmq's ZMQ_IMMEDIATE=1). Immediate(false) is libzmq's default: while no
// peer is connected, Send keeps up to SendHWM messages and returns at once;
// the first peer to connect gets them. Messages kept this way are lost if
// the socket closes before any peer comes, and counted as DropClosed.
func Immediate(on bool) Option {
	return NewOption("Immediate", func(s *Socket) error {
		switch s.info.ZMTPType {
		case "PUSH", "DEALER", "PAIR":
		default:
			return notApplicable("Immediate", s)
		}
		s.cfg.immediate.Store(on)
		return nil
	})
}
