package socket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// TLS: a transport whose connections carry TLS (tls+tcp://, as nng and
// mangos name it) marks them (Conn.TLS), and the socket runs the TLS
// handshake over the stream with its TLSConfig before the dialect's own
// handshake. The dialect then speaks over the TLS connection as over any
// byte stream.

// ErrTLS is matched (errors.Is) by the error of a failed TLS handshake: a
// certificate the other side does not trust, no common protocol version or
// cipher suite, or a peer that does not speak TLS.
var ErrTLS = errors.New("mqwire: TLS handshake failed")

// TLSConfig sets the TLS configuration of the socket's tls+tcp and wss
// connections (nng's and mangos' TLS transports): a listener needs a
// certificate (Certificates or GetCertificate); a dialer verifies the
// server's certificate against RootCAs (the system's when nil) and the
// host in the URL unless ServerName says otherwise, and presents its own
// certificate if the listener asks for one (ClientAuth). The socket keeps
// a copy; it applies to connections made after the call. Without it, a
// dialer uses Go's defaults and a listener cannot start.
func TLSConfig(cfg *tls.Config) Option {
	return NewOption("TLSConfig", func(s *Socket) error {
		if cfg == nil {
			return badOption("TLSConfig", "nil")
		}
		s.mu.Lock()
		s.tls = cfg.Clone()
		s.mu.Unlock()
		return nil
	})
}

// DialTLSConfig gives one dialer a TLS configuration of its own, in place
// of the socket's TLSConfig, as nng sets NNG_OPT_TLS_CONFIG on a dialer: a
// socket that dials servers of different authorities or names trusts each
// for its own dialer only. The dialer keeps a copy. Its URL must be a TLS
// one (tls+tcp://, wss://).
func DialTLSConfig(cfg *tls.Config) DialOption {
	return DialOption{name: "DialTLSConfig", apply: func(s *Socket, d *Dialer) error {
		if err := checkEndpointTLS("DialTLSConfig", cfg, d.t, d.scheme); err != nil {
			return err
		}
		d.tls = cfg.Clone()
		return nil
	}}
}

// ListenTLSConfig gives one listener a TLS configuration of its own (its
// certificate, and whom it asks for client certificates), in place of the
// socket's TLSConfig, as nng sets NNG_OPT_TLS_CONFIG on a listener. The
// listener keeps a copy. Its URL must be a TLS one (tls+tcp://, wss://).
func ListenTLSConfig(cfg *tls.Config) ListenOption {
	return ListenOption{name: "ListenTLSConfig", apply: func(s *Socket, t Transport, scheme string, l *Listener) error {
		if err := checkEndpointTLS("ListenTLSConfig", cfg, t, scheme); err != nil {
			return err
		}
		l.tls = cfg.Clone()
		return nil
	}}
}

// checkEndpointTLS refuses a nil configuration, or one for a URL whose
// connections carry no TLS (it would be ignored).
func checkEndpointTLS(name string, cfg *tls.Config, t Transport, scheme string) error {
	if cfg == nil {
		return badOption(name, "nil")
	}
	if tt, ok := t.(TLSTransport); !ok || !tt.TLS(scheme) {
		return fmt.Errorf("%w: %s on %s://, which carries no TLS", ErrOptionNotApplicable, name, scheme)
	}
	return nil
}

// TLSTransport is implemented by a transport whose connections on some of
// its schemes carry TLS (Conn.TLS): a socket then refuses to listen there
// without a TLSConfig it can serve.
type TLSTransport interface {
	TLS(scheme string) bool
}

// tlsServerConfig returns the configuration for accepted TLS connections
// (own, a listener's, or else the socket's), or an error if it cannot serve
// one.
func (s *Socket) tlsServerConfig(own *tls.Config) (*tls.Config, error) {
	cfg := own
	if cfg == nil {
		s.mu.Lock()
		cfg = s.tls
		s.mu.Unlock()
	}
	if cfg == nil || len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
		return nil, fmt.Errorf("%w: a TLS listener needs a TLSConfig with a certificate", ErrBadOption)
	}
	return cfg, nil
}

// tlsClientConfig returns the configuration for a TLS dial to addr
// (host:port), own (a dialer's) or else the socket's: the host is the name
// to verify unless the configuration names one.
func (s *Socket) tlsClientConfig(addr string, own *tls.Config) *tls.Config {
	cfg := own
	if cfg == nil {
		s.mu.Lock()
		cfg = s.tls
		s.mu.Unlock()
	}
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	return cfg
}

// startTLS runs the TLS handshake over c, as the client if dialed, by
// deadline, with own (the dialer's or listener's configuration) or else
// the socket's, and returns the TLS connection.
func (s *Socket) startTLS(c net.Conn, url string, dialed bool, deadline time.Time, own *tls.Config) (net.Conn, error) {
	var tc *tls.Conn
	under := c
	rw := newSealedRaw(c)
	if rw != nil {
		under = rw
	}
	if dialed {
		_, _, addr, _ := splitURL(url, true)
		addr, _, _ = strings.Cut(addr, "/") // wss://host:port/path
		tc = tls.Client(under, s.tlsClientConfig(addr, own))
	} else {
		cfg, err := s.tlsServerConfig(own)
		if err != nil {
			return nil, err
		}
		tc = tls.Server(under, cfg)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTLS, err)
	}
	return &tlsConn{Conn: tc, raw: c, rw: rw}, nil
}

// tlsConn is a TLS connection whose Close does not wait long on a peer
// that reads nothing: crypto/tls's Close sends close_notify first, and
// gives that write up to 5 s. rw, when not nil, is the connection under
// crypto/tls, which lets the application write through (sealed_through.go).
type tlsConn struct {
	*tls.Conn
	raw net.Conn
	rw  *sealedRaw
}

// tlsCloseWait is how long Close lets close_notify take before it closes
// the connection under it.
const tlsCloseWait = 100 * time.Millisecond

// Close closes the connection, sending close_notify if that goes within
// tlsCloseWait.
func (c *tlsConn) Close() error {
	t := time.AfterFunc(tlsCloseWait, func() { c.raw.Close() })
	defer t.Stop()
	return c.Conn.Close()
}

// tlsAlert marks err as ErrTLS if it is a TLS alert from the peer: under
// TLS 1.3 a server refuses a client's certificate after the client has
// finished its handshake, and the client learns it at its first read,
// in the dialect's handshake.
func tlsAlert(isTLS bool, err error) error {
	var op *net.OpError
	if isTLS && !errors.Is(err, ErrTLS) && errors.As(err, &op) && op.Op == "remote error" {
		return fmt.Errorf("%w: %w", ErrTLS, err)
	}
	return err
}
