package zmq4

import (
	"context"
	"crypto/subtle"
	"errors"

	"github.com/mqwire/mqwire/socket"
)

// Security is a ZMTP security mechanism: NULL (the default) or PLAIN
// (NewPlainSecurity, or security/plain's Security). Unlike zmq4's, the
// interface cannot be implemented outside this package: the mechanisms
// are mqwire's.
type Security interface {
	// Type names the mechanism.
	Type() SecurityType
	// options returns the socket options of the mechanism, for a socket
	// that listens (server) or dials.
	options(server bool) []socket.Option
}

// SecurityType names a security mechanism.
type SecurityType string

// The security mechanisms' names.
const (
	NullSecurity  SecurityType = "NULL"
	PlainSecurity SecurityType = "PLAIN"
	CurveSecurity SecurityType = "CURVE"
)

type nullSecurity struct{}

func (nullSecurity) Type() SecurityType           { return NullSecurity }
func (nullSecurity) options(bool) []socket.Option { return nil }

// NewPlainSecurity returns the PLAIN mechanism: a socket that dials sends
// user and pass; one that listens accepts a client that sends the same.
func NewPlainSecurity(user, pass string) Security { return plainSecurity{user, pass} }

type plainSecurity struct{ user, pass string }

func (plainSecurity) Type() SecurityType { return PlainSecurity }

func (p plainSecurity) options(server bool) []socket.Option {
	if !server {
		return []socket.Option{socket.PlainClient(p.user, p.pass)}
	}
	return []socket.Option{socket.PlainServer(func(_ context.Context, req socket.ZAPRequest) socket.ZAPReply {
		if len(req.Credentials) == 2 &&
			subtle.ConstantTimeCompare(req.Credentials[0], []byte(p.user)) == 1 &&
			subtle.ConstantTimeCompare(req.Credentials[1], []byte(p.pass)) == 1 {
			return socket.ZAPReply{StatusCode: socket.ZAPOK, UserID: p.user}
		}
		return socket.ZAPReply{StatusCode: socket.ZAPDenied, StatusText: "bad user name or password"}
	})}
}

// errRole: a PLAIN socket is a server or a client, not both.
var errRole = errors.New("zmq4: a socket with PLAIN security listens (as the server) or dials (as the client), not both")
