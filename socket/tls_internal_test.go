package socket

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
)

// A TLS connection whose peer reads nothing closes at once rather than
// after crypto/tls's 5 s for its close_notify (net.Pipe: every write waits
// for the peer to read).
func TestTLSConnCloseDoesNotWait(t *testing.T) {
	certs := testutil.NewTLSCerts(t)
	a, b := net.Pipe()
	defer b.Close()
	server := tls.Server(b, certs.ServerConfig())
	go server.Handshake()
	cfg := certs.ClientConfig()
	cfg.ServerName = "127.0.0.1"
	client := tls.Client(a, cfg)
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	c := &tlsConn{Conn: client, raw: a}
	start := time.Now()
	c.Close() // the server reads no more: close_notify cannot be written
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
}
