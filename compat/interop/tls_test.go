package interop_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

// tls+tcp and wss (WebSocket over TLS) against nng's transports (nngcat,
// built with mbedTLS), each side listening in turn: nngcat checks mqwire's
// certificate against the test's authority, and mqwire nngcat's.
func TestTLSWithNNG(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := needTool(t, "nngcat")
	certs := testutil.NewTLSCerts(t)
	for _, scheme := range []string{"tls+tcp", "wss"} {
		// url makes a URL of scheme from a tcp one.
		url := func(tcp string) string {
			if scheme == "wss" {
				return "wss" + strings.TrimPrefix(tcp, "tcp") + "/tls"
			}
			return "tls+" + tcp
		}
		t.Run(scheme+"/nngcat-pushes", func(t *testing.T) {
			s := newSocket(t, "pull0", false)
			if err := s.SetOption(socket.TLSConfig(certs.ServerConfig())); err != nil {
				t.Fatal(err)
			}
			ln, err := s.Listen(url("tcp://127.0.0.1:0"))
			if err != nil {
				t.Fatal(err)
			}
			startProc(t, true, path, "--push0", "--dial", ln.URL(), "--cacert", certs.CAFile,
				"--data", "msg-tls", "--count", "3")
			for range 3 {
				mqExpect(t, s, []byte("msg-tls"))
			}
		})
		t.Run(scheme+"/nngcat-pulls", func(t *testing.T) {
			s := newSocket(t, "push0", false)
			if err := s.SetOption(socket.TLSConfig(certs.ClientConfig())); err != nil {
				t.Fatal(err)
			}
			u := url(freeURL(t, "tcp"))
			p := startProc(t, true, path, "--pull0", "--listen", u, "--cert", certs.ServerCertFile, "--key", certs.ServerKeyFile, "--quoted")
			if _, err := s.Dial(u); err != nil {
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
}
