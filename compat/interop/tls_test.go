package interop_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

// tls+tcp against nng's TLS transport (nngcat, built with mbedTLS), each
// side listening in turn: nngcat checks mqwire's certificate against the
// test's authority, and mqwire nngcat's.
func TestTLSWithNNG(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := needTool(t, "nngcat")
	certs := testutil.NewTLSCerts(t)
	t.Run("nngcat-pushes", func(t *testing.T) {
		s := newSocket(t, "pull0", false)
		if err := s.SetOption(socket.TLSConfig(certs.ServerConfig())); err != nil {
			t.Fatal(err)
		}
		ln, err := s.Listen("tls+tcp://127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		startProc(t, true, path, "--push0", "--dial", ln.URL(), "--cacert", certs.CAFile,
			"--data", "msg-tls", "--count", "3")
		for range 3 {
			mqExpect(t, s, []byte("msg-tls"))
		}
	})
	t.Run("nngcat-pulls", func(t *testing.T) {
		s := newSocket(t, "push0", false)
		if err := s.SetOption(socket.TLSConfig(certs.ClientConfig())); err != nil {
			t.Fatal(err)
		}
		url := "tls+" + freeURL(t, "tcp")
		p := startProc(t, true, path, "--pull0", "--listen", url, "--cert", certs.ServerCertFile, "--key", certs.ServerKeyFile, "--quoted")
		if _, err := s.Dial(url); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			mqSend(t, s, fmt.Appendf(nil, "msg-%d", i))
		}
		for i := range 3 {
			l, ok := p.line(timeout)
			if want := fmt.Sprintf("%q", fmt.Sprintf("msg-%d", i)); !ok || l != want {
				t.Fatalf("nngcat printed %q, want %s (stderr: %s)", l, want, strings.TrimSpace(p.stderr.String()))
			}
		}
	})
}
