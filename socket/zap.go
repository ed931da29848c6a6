package socket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// ErrAuth: a ZMTP security handshake was refused, by us (the Authenticator
// said no) or by the peer (it answered ERROR). It is not a protocol
// violation: it does not match ErrProtocol. The error is an *AuthError.
var ErrAuth = errors.New("mqwire: authentication failed")

// AuthError says why a security handshake was refused. It matches ErrAuth.
type AuthError struct {
	// Mechanism is the security mechanism (zmtp.MechanismPlain, ...).
	Mechanism string
	// ByPeer is true when the peer refused us, false when we refused it.
	ByPeer bool
	// StatusCode is the ZAP status code (300, 400, 500): our
	// Authenticator's, or the one the peer sent as its ERROR reason (0 when
	// that reason was not a status code).
	StatusCode int
	// Reason is the Authenticator's StatusText, or the peer's ERROR reason.
	Reason string
}

// Error says what the authenticator refused and why.
func (e *AuthError) Error() string {
	who := "we refused the peer"
	if e.ByPeer {
		who = "the peer refused us"
	}
	if e.StatusCode != 0 {
		return fmt.Sprintf("mqwire: %s authentication failed (%s): %d %s", e.Mechanism, who, e.StatusCode, e.Reason)
	}
	return fmt.Sprintf("mqwire: %s authentication failed (%s): %q", e.Mechanism, who, e.Reason)
}

// Is makes an AuthError match ErrAuth.
func (e *AuthError) Is(target error) bool { return target == ErrAuth }

// peerRefused turns the data of an ERROR command the peer sent during a
// security handshake into an *AuthError. libzmq puts the ZAP status code
// there ("400").
func peerRefused(mech string, data []byte) error {
	reason := data
	if len(data) > 0 && int(data[0]) == len(data)-1 {
		reason = data[1:]
	}
	e := &AuthError{Mechanism: mech, ByPeer: true, Reason: string(reason)}
	if len(reason) == 3 {
		if code, err := strconv.Atoi(string(reason)); err == nil && code >= 100 {
			e.StatusCode = code
		}
	}
	return e
}

// ZAP status codes (RFC 27).
const (
	ZAPOK        = 200 // the peer is authenticated
	ZAPTemporary = 300 // a temporary failure: the peer may try again
	ZAPDenied    = 400 // the credentials are refused
	ZAPInternal  = 500 // the authenticator failed
)

// ZAPRequest is what a ZMTP server socket asks its Authenticator about a
// peer: the fields of a ZAP request (RFC 27).
type ZAPRequest struct {
	// Domain is the socket's ZAP domain (ZAPDomain), empty by default.
	Domain string
	// Address is the peer's address (for TCP, its IP address and port).
	Address string
	// Identity is this socket's own routing id (Identity option), as libzmq
	// puts it in its ZAP requests: the peer's routing id arrives only after
	// authentication, in its INITIATE.
	Identity []byte
	// Mechanism is the security mechanism: zmtp.MechanismPlain.
	Mechanism string
	// Credentials are the mechanism's: for PLAIN the user name and the
	// password. The Authenticator may keep them.
	Credentials [][]byte
}

// ZAPReply is an Authenticator's answer: the fields of a ZAP reply (RFC 27).
type ZAPReply struct {
	// StatusCode is ZAPOK (200) to let the peer in; anything else refuses it
	// (ZAPTemporary, ZAPDenied, ZAPInternal). The peer is sent the code as
	// the reason of an ERROR command.
	StatusCode int
	// StatusText explains the code; it stays local (events and errors).
	StatusText string
	// UserID names the authenticated user; Pipe.UserID returns it.
	UserID string
	// Metadata is extra properties for the connection; Pipe.ZAPMetadata
	// returns them.
	Metadata []zmtp.Property
}

// Authenticator decides whether a peer may connect to a ZMTP server socket
// (PlainServer). It may be called from several connections at once, each on
// a goroutine of its own. ctx ends when the answer is no longer wanted: the
// handshake timed out (which fails that handshake) or the socket is
// closing. An Authenticator that waits on anything (a user database, a
// remote ZAP handler) must give up when ctx ends, so that its goroutine
// ends with the socket.
type Authenticator func(ctx context.Context, req ZAPRequest) ZAPReply

// ZAPDomain sets the domain passed to the socket's Authenticator in each
// ZAPRequest (libzmq's ZMQ_ZAP_DOMAIN). It applies to sockets that speak
// ZMTP, and to connections made after the call.
func ZAPDomain(domain string) Option {
	return NewOption("ZAPDomain", func(s *Socket) error {
		if s.info.ZMTPType == "" {
			return fmt.Errorf("%w: ZAPDomain on %s, which does not speak ZMTP", ErrOptionNotApplicable, s.info.Name)
		}
		if len(domain) > 255 {
			return badOption("ZAPDomain", fmt.Sprintf("%d bytes", len(domain)))
		}
		s.mu.Lock()
		s.security.domain = domain
		s.mu.Unlock()
		return nil
	})
}

// UserID returns the user id the socket's Authenticator gave the peer of
// this pipe (empty when none ran).
func (p *Pipe) UserID() string {
	if p.zap == nil {
		return ""
	}
	return p.zap.UserID
}

// ZAPMetadata returns the properties the socket's Authenticator gave the
// peer of this pipe (nil when none ran).
func (p *Pipe) ZAPMetadata() []zmtp.Property {
	if p.zap == nil {
		return nil
	}
	return p.zap.Metadata
}

// authenticate asks auth about req and waits for its reply until deadline
// or until the socket closes; either ends the context auth was given.
func (s *Socket) authenticate(auth Authenticator, req ZAPRequest, deadline time.Time) (ZAPReply, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	go func() { // ends with ctx at the latest
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	reply := make(chan ZAPReply, 1)
	go func() { reply <- auth(ctx, req) }()
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		if s.closed.Load() { // set before closing closes
			return ZAPReply{}, ErrClosed
		}
		return ZAPReply{}, fmt.Errorf("zmtp %s: the authenticator did not answer in time: %w", req.Mechanism, ErrTimeout)
	}
}

// ask asks auth whether the peer of h may connect, with mech's
// credentials (copied).
func (h *mechConn) ask(auth Authenticator, mech string, credentials ...[]byte) (ZAPReply, error) {
	creds := make([][]byte, len(credentials))
	for i, c := range credentials {
		creds[i] = bytes.Clone(c)
	}
	h.s.mu.Lock()
	req := ZAPRequest{
		Domain:      h.s.security.domain,
		Address:     h.p.remote,
		Identity:    bytes.Clone(h.s.identity),
		Mechanism:   mech,
		Credentials: creds,
	}
	h.s.mu.Unlock()
	return h.s.authenticate(auth, req, h.deadline)
}

// refusalCode is the status code an ERROR sends for a refusal: the
// Authenticator's, or 500 if it gave none that fits three digits.
func refusalCode(r ZAPReply) int {
	if r.StatusCode < 100 || r.StatusCode > 999 {
		return ZAPInternal
	}
	return r.StatusCode
}
