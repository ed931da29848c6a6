package socket

import (
	"fmt"
	"math"
	"net"
	"sync"
	"time"
)

// Options for the kernel's side of stream connections (tcp and ipc): the
// socket buffers (libzmq's ZMQ_SNDBUF and ZMQ_RCVBUF), TCP keep-alives
// (ZMQ_TCP_KEEPALIVE, _IDLE, _INTVL and _CNT), the type of service
// (ZMQ_TOS) and the retransmission limit (ZMQ_TCP_MAXRT). They apply to connections
// made after the call; connections without kernel buffers (inproc, and
// shm's rings) have nothing to set.

// connConfig is the socket's settings for new stream connections.
type connConfig struct {
	mu        sync.Mutex
	sendBuf   int // bytes; 0 = the system's default
	recvBuf   int
	keepAlive *net.KeepAliveConfig // nil = Go's default (on, 15 s)
	tos       int                  // IP type of service; 0 = the system's
	maxRT     time.Duration        // TCPMaxRetransmitTime; 0 = the system's
}

// SendBuffer sets the kernel send buffer of each tcp or ipc connection
// (SO_SNDBUF; libzmq's ZMQ_SNDBUF), in bytes; 0, the default, leaves the
// transport's: the system's for tcp (which Linux grows as needed), 512 KiB
// for ipc (see transport/ipc). Linux doubles the value it is given, for its
// own bookkeeping, and caps it at net.core.wmem_max.
func SendBuffer(bytes int) Option {
	return bufferOption("SendBuffer", bytes, func(c *connConfig) { c.sendBuf = bytes })
}

// RecvBuffer sets the kernel receive buffer of each tcp or ipc connection
// (SO_RCVBUF; libzmq's ZMQ_RCVBUF), in bytes; 0, the default, leaves the
// system's. As with SendBuffer, Linux doubles it and caps it at
// net.core.rmem_max.
func RecvBuffer(bytes int) Option {
	return bufferOption("RecvBuffer", bytes, func(c *connConfig) { c.recvBuf = bytes })
}

// bufferOption checks a kernel buffer size and has set record it.
func bufferOption(name string, bytes int, set func(*connConfig)) Option {
	return NewOption(name, func(s *Socket) error {
		if bytes < 0 || bytes > 1<<30 {
			return badOption(name, bytes)
		}
		s.conn.mu.Lock()
		set(&s.conn)
		s.conn.mu.Unlock()
		return nil
	})
}

// TCPKeepAlive sets TCP keep-alive probing on each tcp connection
// (libzmq's ZMQ_TCP_KEEPALIVE, ZMQ_TCP_KEEPALIVE_IDLE, _INTVL and _CNT):
// whether it is on, the idle time before the first probe, the time between
// probes, and how many unanswered probes close the connection. Zero values
// take Go's defaults (15 s idle and interval, 9 probes), -1 the system's,
// as net.KeepAliveConfig says. Without the option, Go's defaults apply.
func TCPKeepAlive(cfg net.KeepAliveConfig) Option {
	return NewOption("TCPKeepAlive", func(s *Socket) error {
		if cfg.Idle < -1 || cfg.Interval < -1 || cfg.Count < -1 ||
			cfg.Idle > 0 && cfg.Idle < time.Second || cfg.Interval > 0 && cfg.Interval < time.Second {
			return badOption("TCPKeepAlive", fmt.Sprintf("%+v (times are whole seconds or more, or 0 or -1)", cfg))
		}
		s.conn.mu.Lock()
		s.conn.keepAlive = &cfg
		s.conn.mu.Unlock()
		return nil
	})
}

// TOS sets the IP type-of-service byte (DSCP and ECN bits) of each tcp
// connection's packets (libzmq's ZMQ_TOS): IP_TOS over IPv4, the traffic
// class over IPv6. 0, the default, leaves the system's.
func TOS(tos int) Option {
	return NewOption("TOS", func(s *Socket) error {
		if tos < 0 || tos > 255 {
			return badOption("TOS", tos)
		}
		s.conn.mu.Lock()
		s.conn.tos = tos
		s.conn.mu.Unlock()
		return nil
	})
}

// TCPMaxRetransmitTime sets how long data a tcp connection has sent may go
// unacknowledged before the connection is dropped (libzmq's
// ZMQ_TCP_MAXRT; TCP_USER_TIMEOUT): a peer whose host died or whose
// network went away while data was in flight, or one that stopped reading
// with its window closed, then costs its connection after d rather than
// after the system's many retransmissions (about 15 minutes on Linux);
// the pipe closes with an error and a dialer reconnects. Keep-alives
// (TCPKeepAlive) cover idle connections; this covers busy ones. d is
// taken in whole milliseconds, at least one; 0, the default, leaves the
// system's. It applies to connections made after the call, on Linux; on
// other systems the option fails with ErrNotSupported.
func TCPMaxRetransmitTime(d time.Duration) Option {
	return NewOption("TCPMaxRetransmitTime", func(s *Socket) error {
		if d < 0 || d > 0 && d < time.Millisecond || d > math.MaxInt32*time.Millisecond {
			return badOption("TCPMaxRetransmitTime", d)
		}
		if !userTimeoutSupported {
			return fmt.Errorf("%w: TCPMaxRetransmitTime on this system", ErrNotSupported)
		}
		s.conn.mu.Lock()
		s.conn.maxRT = d
		s.conn.mu.Unlock()
		return nil
	})
}

// tuneConn applies the socket's connection settings to a new stream
// connection; a setting the connection has no knob for does not apply.
func (s *Socket) tuneConn(c net.Conn) error {
	s.conn.mu.Lock()
	send, recv, ka, tos, maxRT := s.conn.sendBuf, s.conn.recvBuf, s.conn.keepAlive, s.conn.tos, s.conn.maxRT
	s.conn.mu.Unlock()
	if b, ok := c.(interface{ SetWriteBuffer(int) error }); ok && send > 0 {
		if err := b.SetWriteBuffer(send); err != nil {
			return fmt.Errorf("SendBuffer: %w", err)
		}
	}
	if b, ok := c.(interface{ SetReadBuffer(int) error }); ok && recv > 0 {
		if err := b.SetReadBuffer(recv); err != nil {
			return fmt.Errorf("RecvBuffer: %w", err)
		}
	}
	tc, ok := c.(*net.TCPConn)
	if ok && ka != nil {
		if err := tc.SetKeepAliveConfig(*ka); err != nil {
			return fmt.Errorf("TCPKeepAlive: %w", err)
		}
	}
	if ok && tos > 0 {
		if err := setTOS(tc, tos); err != nil {
			return fmt.Errorf("TOS: %w", err)
		}
	}
	if ok && maxRT > 0 {
		if err := setUserTimeout(tc, maxRT); err != nil {
			return fmt.Errorf("TCPMaxRetransmitTime: %w", err)
		}
	}
	return nil
}
