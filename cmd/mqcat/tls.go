package main

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/mqwire/mqwire/socket"
)

// tlsConfig builds the TLS configuration of tls+tcp:// and wss:// addresses from
// nngcat's options: --cert (and --key, or the key in the same file) is our
// own certificate, which a listener needs; --cacert is the authority a
// dialer trusts for the server's certificate, and that a listener checks a
// client's certificate against if the client presents one (nngcat's
// listener asks none); --insecure makes a dialer skip the server's check.
// It returns nil when no TLS option is given.
func (c *config) tlsConfig() (*tls.Config, error) {
	if c.cert == nil && c.key == nil && c.cacert == nil && !c.insecure {
		return nil, nil
	}
	cfg := &tls.Config{}
	if c.key != nil && c.cert == nil {
		return nil, fail("Option --key requires --cert.")
	}
	if c.cert != nil {
		key := c.key
		if key == nil {
			key = c.cert // nngcat takes a file holding both
		}
		pair, err := tls.X509KeyPair(c.cert, key)
		if err != nil {
			return nil, fail("Unable to load certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if c.cacert != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.cacert) {
			return nil, fail("Unable to load CA certificate: no PEM certificate found.")
		}
		cfg.RootCAs, cfg.ClientCAs = pool, pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	cfg.InsecureSkipVerify = c.insecure
	return cfg, nil
}

// tlsOptions are the socket options the TLS options ask for.
func tlsOptions(cfg *config) []socket.Option {
	if cfg.tls == nil {
		return nil
	}
	return []socket.Option{socket.TLSConfig(cfg.tls)}
}
