package socket

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/mqwire/mqwire/wire/sp"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// A new connection, dialed (dialer.go) or accepted (listener.go), becomes a
// pipe here: the dialect is told from the peer's first bytes, the handshake
// runs, and the peer's socket type is checked against ours.

// endpoint is a Dialer or a Listener: where a connection came from.
type endpoint interface{ URL() string }

// addEndpoint registers a new dialer or listener (add appends it to its
// list) and counts the goroutine it is about to start, unless s is closed:
// then it reports false and the caller undoes what it made.
func (s *Socket) addEndpoint(add func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.started.Store(true)
	add()
	s.wg.Add(1)
	return true
}

// attach runs the handshake on a new connection and, when it succeeds, makes
// a pipe of it. It returns nil when the connection was refused (and closed).
// When ctx ends during the handshake (its dialer is closed), the connection
// is closed, so that the handshake ends at once rather than at its timeout.
// from is the Dialer that made the connection (its pipeGone runs when the
// pipe has ended, Pipe.finish) or the Listener that accepted it (its Close
// closes the pipe). tlsCfg is the dialer's or listener's own TLS
// configuration, if it has one. The error says why a connection was
// refused.
func (s *Socket) attach(ctx context.Context, c Conn, url string, from endpoint, tlsCfg *tls.Config) (*Pipe, error) {
	d, _ := from.(*Dialer)
	dialed := d != nil
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		c.Close()
		return nil, ErrClosed
	}
	s.pending[&c] = struct{}{}
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		if _, ok := s.pending[&c]; ok {
			c.Close()
		}
		s.mu.Unlock()
	})
	end := rememberEnd(c.Stream)
	p, err := s.handshake(c, url, dialed, tlsCfg)
	stop()
	s.mu.Lock()
	delete(s.pending, &c)
	s.mu.Unlock()
	if err != nil {
		if p != nil {
			p.endBacklog() // an inproc peer may have queued for it already
		}
		c.Close()
		end.forget()
		s.hsFailures.Add(1)
		s.emit(Event{Type: EventHandshakeFailed, URL: url, Remote: c.Remote, Err: err})
		return nil, err
	}
	if d != nil {
		p.onGone, p.connectID = d.pipeGone, d.routingID
	}
	p.listener, _ = from.(*Listener)
	p.end = end
	// A reconnect is counted before the pipe carries anything, so that
	// whoever saw a message go through it sees the reconnect too.
	again := d != nil && d.connected
	if again {
		s.reconnects.Add(1)
	}
	if err := s.addPipe(p); err != nil {
		if again {
			s.reconnects.Add(^uint64(0)) // not connected after all
		}
		p.close(err)
		p.endBacklog()
		end.forget()
		if !errors.Is(err, ErrClosed) {
			s.emit(Event{Type: EventPipeRejected, URL: url, Remote: c.Remote, Err: err})
		}
		return nil, err
	}
	return p, nil
}

func (s *Socket) newPipe(c Conn, url string, dialed bool) *Pipe {
	direct, _ := s.proto.(TryDeliverer)
	var queueBytes int64
	if c.Stream != nil { // a message transport hands messages over: no writer queue to bound
		queueBytes = s.cfg.sendQueueBytes.Load()
	}
	q := newSendQueue(int(s.cfg.sendHWM.Load()), queueBytes)
	q.boundHeld = c.Stream == nil
	p := &Pipe{
		direct:     direct,
		id:         nextPipeID(),
		sock:       s,
		url:        url,
		remote:     c.Remote,
		local:      c.Local,
		dialed:     dialed,
		sendq:      q,
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		gone:       make(chan struct{}),
	}
	p.rshare.stream = c.Stream != nil // RecvQueueBytes bounds what it reads
	return p
}

// handshake runs the connection handshake of the connection's dialect. A
// dialer speaks the dialect the application chose; a listener tells the
// peer's dialect from its first byte (0xFF ZMTP, 0x00 SP), or from a
// framing transport's own handshake (MessageFramer), and answers in it.
func (s *Socket) handshake(c Conn, url string, dialed bool, tlsCfg *tls.Config) (*Pipe, error) {
	p := s.newPipe(c, url, dialed)
	timeout := time.Duration(s.cfg.handshakeTimeout.Load())
	if c.Port != nil {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		s.mu.Lock()
		id := s.identity
		s.mu.Unlock()
		local := PortInfo{Proto: s.info.Self, ZMTPType: s.info.ZMTPType, Identity: id, Out: p.sendq, Taken: s.signalReady, pipe: p}
		if s.info.Self != 0 && s.info.ZMTPType == zmtp.TypeREQ {
			local.reqIDs = &idQueue{}
			if rc, ok := s.proto.(RequestCorrelator); ok {
				local.reqIDs.correlate = rc.CorrelateRequests()
			}
		}
		peer, err := c.Port.Exchange(ctx, local)
		if err != nil {
			return p, err // the peer may have p and queue for it
		}
		p.mp, p.port, p.peer, p.peerName = c.Port, peer, peer.Proto, sp.ProtoName(peer.Proto)
		if s.info.Self == 0 || peer.Proto == 0 {
			// ZeroMQ-only types (DEALER, ROUTER...) pair by ZeroMQ type.
			p.peerName = peer.ZMTPType
			if len(peer.Identity) > 0 {
				p.peerIdentity = bytes.Clone(peer.Identity)
			}
			if err := s.checkZMTPPeer(peer); err != nil {
				return p, err
			}
			p.setInprocEnvelope(local, peer)
			return p, nil
		}
		return p, s.checkPeer(peer.Proto)
	}
	conn := c.Stream
	if err := s.tuneConn(conn); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	if c.TLS {
		var err error
		if conn, err = s.startTLS(conn, url, dialed, deadline, tlsCfg); err != nil {
			return nil, err
		}
		st := conn.(*tlsConn).ConnectionState()
		p.tlsState = &st
	}
	p.connInfo = c.Info
	if c.Frame != nil {
		conn = c.Frame(conn)
		if ci, ok := conn.(ConnInformer); ok {
			p.connInfo = joinConnInfo(p.connInfo, ci)
		}
	}
	var first []byte
	// A socket with a security mechanism dials in ZMTP, the only dialect
	// that has one.
	zmtpPeer := dialed && (Dialect(s.cfg.dialDialect.Load()) == DialectZMTP || s.secured())
	framer, framed := conn.(MessageFramer)
	if !dialed && s.info.ZMTPType != "" && !framed {
		var err error
		if first, err = sniff(conn, deadline); err != nil {
			return nil, handshakeErr("handshake", err)
		}
		zmtpPeer = len(first) == 1 && first[0] == 0xFF
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	if framed {
		mech := s.mechanism()
		var err error
		zmtpPeer, err = framer.Frame(FrameRequest{
			SPSelf: s.info.Self, SPPeer: s.info.Peer, ZMTPType: s.info.ZMTPType,
			OfferZMTP: zmtpPeer || s.info.Self == 0, Mechanism: mech.name(), AsServer: mech.asServer(),
			RecvLimit: func() uint64 { return uint64(s.cfg.maxRecvSize.Load()) },
		})
		if err != nil {
			return nil, tlsAlert(c.TLS, handshakeErr("handshake", err))
		}
		p.heartbeater, _ = conn.(Heartbeater)
	}
	if !zmtpPeer && s.secured() {
		// SP has no security mechanism: an SP peer would bypass ours.
		return nil, fmt.Errorf("%w: this socket requires a ZMTP security mechanism, which an SP peer cannot use", ErrPeerMismatch)
	}
	var err error
	if zmtpPeer {
		conn, err = s.zmtpHandshake(p, conn, first)
	} else {
		err = s.spHandshake(p, conn, first, c.IPCFraming)
	}
	if err != nil {
		return nil, tlsAlert(c.TLS, err)
	}
	p.conn = conn
	if lc := loanConn(conn); lc != nil {
		p.codec.setLoans(lc)
		p.loanMin = lc.LoanMin()
	}
	p.initTurns()
	return p, conn.SetDeadline(time.Time{})
}

// sniffWait is how long a listener waits for a peer's first byte to tell its
// dialect. SP and ZMTP peers both speak first, at once; a peer still silent
// after this is answered in SP (which lets peers that read first work).
const sniffWait = 250 * time.Millisecond

// sniff reads the peer's first byte, or returns none when the peer stays
// silent for sniffWait.
func sniff(c net.Conn, deadline time.Time) ([]byte, error) {
	wait := time.Now().Add(sniffWait)
	if deadline.Before(wait) {
		wait = deadline
	}
	if err := c.SetReadDeadline(wait); err != nil {
		return nil, err
	}
	var b [1]byte
	if _, err := readFull(c, b[:]); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(deadline) {
			return nil, nil
		}
		return nil, err
	}
	return b[:], nil
}

func (s *Socket) checkPeer(peer uint16) error {
	if peer == 0 && s.info.Peer != 0 {
		// What a ZeroMQ-only type (DEALER, ROUTER, XPUB, XSUB) answers an
		// SP dialer: it speaks ZMTP alone.
		return fmt.Errorf("%w: the peer is a ZeroMQ-only socket (DEALER, ROUTER, XPUB or XSUB), which speaks ZMTP alone: dial it with DialDialect(DialectZMTP)", ErrPeerMismatch)
	}
	if peer != s.info.Peer {
		return fmt.Errorf("%w: peer speaks %s, %s needs %s", ErrPeerMismatch,
			sp.ProtoName(peer), s.info.Name, sp.ProtoName(s.info.Peer))
	}
	return nil
}

// checkZMTPPeer checks an inproc peer when either end is a ZeroMQ-only
// type: both must be, or both of the pub/sub family, or both of the
// REQ/REP/DEALER/ROUTER family, and of compatible ZeroMQ types.
func (s *Socket) checkZMTPPeer(peer PortInfo) error {
	bothOnly := s.info.Self == 0 && peer.Proto == 0
	sameShape := pubSubFamily(s.info.ZMTPType) && pubSubFamily(peer.ZMTPType) ||
		reqRepFamily(s.info.ZMTPType) && reqRepFamily(peer.ZMTPType) // translated (inproc_envelope.go)
	if !(bothOnly || sameShape) || !zmtp.Compatible(s.info.ZMTPType, peer.ZMTPType) {
		theirs := peer.ZMTPType
		if peer.Proto != 0 {
			theirs = sp.ProtoName(peer.Proto)
		}
		return fmt.Errorf("%w: inproc peer is %s, %s cannot talk to it", ErrPeerMismatch, theirs, s.info.Name)
	}
	return nil
}

// pubSubFamily reports whether a socket of ZeroMQ type t carries messages
// over inproc as ZMTP would: a body and its frames, and subscriptions as
// Control messages. pub and sub (which also speak SP) then pair over inproc
// with xsub and xpub (which do not), as in libzmq. Other SP types carry
// SP's header words, which the ZeroMQ-only types do not read.
func pubSubFamily(t string) bool {
	switch t {
	case zmtp.TypePUB, zmtp.TypeSUB, zmtp.TypeXPUB, zmtp.TypeXSUB:
		return true
	}
	return false
}

// reqRepFamily reports whether a socket of ZeroMQ type t is a REQ, REP,
// DEALER or ROUTER, whose envelopes an inproc pipe translates between the
// SP and the ZeroMQ types.
func reqRepFamily(t string) bool {
	switch t {
	case zmtp.TypeREQ, zmtp.TypeREP, zmtp.TypeDEALER, zmtp.TypeROUTER:
		return true
	}
	return false
}

// spHandshake exchanges SP connection headers: both sides send theirs at
// once, then read the other's. first holds what a listener already read of
// the peer's header.
func (s *Socket) spHandshake(p *Pipe, c net.Conn, first []byte, ipc bool) error {
	var buf [sp.HeaderSize]byte
	if _, err := c.Write(sp.AppendHeader(buf[:0], s.info.Self)); err != nil {
		return handshakeErr("sp handshake", err)
	}
	n := copy(buf[:], first)
	if _, err := readFull(c, buf[n:]); err != nil {
		return handshakeErr("sp handshake", err)
	}
	peer, err := sp.ParseHeader(buf[:])
	if err != nil {
		return err
	}
	framing := sp.FramingTCP
	if ipc {
		framing = sp.FramingIPC
	}
	p.peer, p.peerName, p.codec = peer, sp.ProtoName(peer), &spCodec{framing: framing}
	return s.checkPeer(peer)
}

// handshakeErr wraps an I/O error of a handshake; a peer that stalls past
// the handshake timeout gives an error matching ErrTimeout.
func handshakeErr(what string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%s: %w (%w)", what, ErrTimeout, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
