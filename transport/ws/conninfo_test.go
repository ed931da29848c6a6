package ws_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/ws"
)

// A listener's pipe hook reads each WebSocket client's opening handshake
// (Pipe.ConnInfo) and refuses the clients without the token; over wss the
// same hook sees the TLS handshake's outcome too, and the dialer's pipe
// its server's certificate.
func TestConnInfo(t *testing.T) {
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			certs := testutil.NewTLSCerts(t)
			var mu sync.Mutex
			var seen []ws.Handshake
			var sawTLS bool
			hook := func(ev socket.PipeHookEvent, p *socket.Pipe) {
				if ev != socket.PipeAdding {
					return
				}
				var hs ws.Handshake
				if !p.ConnInfo(&hs) {
					t.Error("a ws pipe without its handshake")
					p.Close(nil)
					return
				}
				var st tls.ConnectionState
				mu.Lock()
				seen = append(seen, hs)
				sawTLS = sawTLS || p.ConnInfo(&st) && st.HandshakeComplete
				mu.Unlock()
				if hs.Header.Get("Authorization") != "Bearer secret" {
					p.Close(nil)
				}
			}
			s := must(pull.New(socket.PipeHook(hook), socket.TLSConfig(certs.ServerConfig())))
			defer s.Close()
			l := must(s.Listen(scheme + "://127.0.0.1:0/in"))
			url := l.URL() + "?x=1"

			good := must(push.New(socket.TLSConfig(certs.ClientConfig())))
			defer good.Close()
			var dialerTLS, dialerHS bool
			good.SetOption(socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
				if ev == socket.PipeAdding {
					var st tls.ConnectionState
					var hs ws.Handshake
					dialerTLS = p.ConnInfo(&st) && len(st.PeerCertificates) > 0
					dialerHS = p.ConnInfo(&hs) && hs.Header.Get("Sec-WebSocket-Protocol") == "pull.sp.nanomsg.org"
				}
			}))
			must(good.Dial(url, ws.DialHeader(http.Header{"Authorization": {"Bearer secret"}}), socket.SynchronousDial()))
			bad := must(push.New(socket.TLSConfig(certs.ClientConfig())))
			defer bad.Close()
			must(bad.Dial(url))

			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			for _, p := range []*socket.Socket{bad, good} {
				p.SendContext(ctx, socket.NewMessageBytes([]byte("from "+map[bool]string{true: "good", false: "bad"}[p == good])))
			}
			m, err := s.RecvContext(ctx)
			if err != nil || string(m.Body) != "from good" {
				t.Fatalf("received %v %v", m, err)
			}
			testutil.WaitFor(t, "the refused client to try", timeout, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(seen) >= 2
			})
			if n := len(s.PipeStats()); n != 1 {
				t.Errorf("%d pipes, want the good one alone", n)
			}
			mu.Lock()
			for _, hs := range seen {
				if hs.Path != "/in?x=1" {
					t.Errorf("handshake path %q", hs.Path)
				}
			}
			if sawTLS != (scheme == "wss") {
				t.Errorf("listener saw TLS: %v", sawTLS)
			}
			mu.Unlock()
			if dialerTLS != (scheme == "wss") || !dialerHS {
				t.Errorf("dialer's pipe: TLS %v, handshake %v", dialerTLS, dialerHS)
			}
		})
	}
}
