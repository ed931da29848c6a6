package mangos_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	mg "go.nanomsg.org/mangos/v3"
	mgrep "go.nanomsg.org/mangos/v3/protocol/rep"
	mgws "go.nanomsg.org/mangos/v3/transport/ws"

	mw "github.com/mqwire/mqwire/compat/mangos"
	mwrep "github.com/mqwire/mqwire/compat/mangos/protocol/rep"
	mwws "github.com/mqwire/mqwire/compat/mangos/transport/ws"
	"github.com/mqwire/mqwire/internal/testutil"
)

// ws.OptionWebSocketMux, as mangos code uses it: the listener's mux gets
// the application's page beside the socket, Listen serves both on the
// listener's address (over TLS for wss), a mangos REQ reaches the socket,
// and Close stops the server. The mux and the handler exclude each other.
func TestShimWebSocketMux(t *testing.T) {
	testutil.CheckGoroutines(t)
	if mwws.OptionWebSocketMux != mgws.OptionWebSocketMux || mwws.OptionWebSocketCheckOrigin != mgws.OptionWebSocketCheckOrigin {
		t.Fatal("the ws option names are not mangos's")
	}
	certs := testutil.NewTLSCerts(t)
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			s := shim(t, mwrep.NewSocket)
			opts := map[string]interface{}{}
			if scheme == "wss" {
				opts[mw.OptionTLSConfig] = certs.ServerConfig()
			}
			l, err := s.NewListener(scheme+"://127.0.0.1:0/rpc", opts)
			if err != nil {
				t.Fatal(err)
			}
			v, err := l.GetOption(mwws.OptionWebSocketMux)
			if err != nil {
				t.Fatal(err)
			}
			v.(*http.ServeMux).HandleFunc("/page", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "a page") })
			if _, err := l.GetOption(mwws.OptionWebSocketHandler); err != mw.ErrBadOption {
				t.Errorf("the handler after the mux: %v, want ErrBadOption", err)
			}
			if err := l.Listen(); err != nil {
				t.Fatal(err)
			}
			url := l.Address()
			if !strings.HasPrefix(url, scheme+"://127.0.0.1:") || strings.HasSuffix(url, ":0/rpc") {
				t.Fatalf("address %q", url)
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: certs.ClientConfig()}}
			defer client.CloseIdleConnections()
			page := strings.Replace(strings.Replace(url, "/rpc", "/page", 1), "ws", "http", 1)
			resp, err := client.Get(page)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "a page" {
				t.Fatalf("the page: %q", body)
			}

			mangosPing(t, s, url, map[string]interface{}{mg.OptionTLSConfig: certs.ClientConfig()})
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := client.Get(page); err == nil {
				t.Error("the server still answers after Close")
			}
		})
	}
	s := shim(t, mwrep.NewSocket)
	l, err := s.NewListener("wss://127.0.0.1:0/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	l.GetOption(mwws.OptionWebSocketMux)
	if err := l.Listen(); err != mw.ErrTLSNoConfig {
		t.Errorf("wss without TLS configuration: %v, want ErrTLSNoConfig", err)
	}
}

// OptionWebSocketCheckOrigin: true by default, as mangos's (a browser's
// request from another site's page is refused with 403), false lets it
// in; the same on a listener served through the mux. mangos's listener
// answers alike.
func TestShimWebSocketCheckOrigin(t *testing.T) {
	testutil.CheckGoroutines(t)
	type served struct {
		name   string
		listen func(check *bool) (addr string, close func())
	}
	listen := func(mux bool) func(check *bool) (string, func()) {
		return func(check *bool) (string, func()) {
			s := shim(t, mwrep.NewSocket)
			l, err := s.NewListener("ws://127.0.0.1:0/o", nil)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := l.GetOption(mwws.OptionWebSocketCheckOrigin); err != nil || v != true {
				t.Errorf("default OptionWebSocketCheckOrigin %v, %v; want true", v, err)
			}
			if check != nil {
				if err := l.SetOption(mwws.OptionWebSocketCheckOrigin, *check); err != nil {
					t.Fatal(err)
				}
			}
			if mux {
				l.GetOption(mwws.OptionWebSocketMux)
			}
			if err := l.Listen(); err != nil {
				t.Fatal(err)
			}
			return l.Address(), func() { l.Close() }
		}
	}
	mangosListen := func(check *bool) (string, func()) {
		m, err := mgrep.NewSocket()
		if err != nil {
			t.Fatal(err)
		}
		// mangos's listener answers 101 before its handler files the
		// connection as pending, and a listener closed in between leaves
		// that handler waiting for good (seen once in CI): close it once
		// the socket has taken the connection.
		attached := make(chan struct{}, 1)
		m.SetPipeEventHook(func(ev mg.PipeEvent, _ mg.Pipe) {
			if ev == mg.PipeEventAttached {
				select {
				case attached <- struct{}{}:
				default:
				}
			}
		})
		l, err := m.NewListener("ws://127.0.0.1:0/o", nil)
		if err != nil {
			t.Fatal(err)
		}
		if check != nil {
			l.SetOption(mgws.OptionWebSocketCheckOrigin, *check)
		}
		if err := l.Listen(); err != nil {
			t.Fatal(err)
		}
		return l.Address(), func() {
			if check != nil { // upgraded: wait for the socket to take it
				select {
				case <-attached:
				case <-time.After(timeout):
					t.Error("mangos never took the upgraded connection")
				}
			}
			m.Close()
		}
	}
	// A handler on the application's server, the policy set after it is
	// made (mangos's applies at once too).
	handler := func(check *bool) (string, func()) {
		s := shim(t, mwrep.NewSocket)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.NewListener("ws://"+ln.Addr().String()+"/o", nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := l.GetOption(mwws.OptionWebSocketHandler)
		if err != nil {
			t.Fatal(err)
		}
		if check != nil {
			if err := l.SetOption(mwws.OptionWebSocketCheckOrigin, *check); err != nil {
				t.Fatal(err)
			}
		}
		web := &http.Server{Handler: h.(http.Handler)}
		go web.Serve(ln)
		return l.Address(), func() { web.Close(); l.Close() }
	}
	off := false
	for _, sv := range []served{{"shim", listen(false)}, {"shim mux", listen(true)}, {"shim handler", handler}, {"mangos", mangosListen}} {
		for _, check := range []*bool{nil, &off} {
			addr, done := sv.listen(check)
			want := "403"
			if check != nil {
				want = "101"
			}
			if st := originStatus(t, addr, "https://evil.example"); !strings.HasPrefix(st, "HTTP/1.1 "+want) {
				t.Errorf("%s, check %v: another site's page answered %q, want %s", sv.name, check != nil, st, want)
			}
			done()
		}
	}
}

// originStatus sends a WebSocket opening request for a rep peer from a
// page of origin to the ws:// addr and returns the answer's status line.
func originStatus(t *testing.T, addr, origin string) string {
	t.Helper()
	hostPort, path, _ := strings.Cut(strings.TrimPrefix(addr, "ws://"), "/")
	c, err := net.DialTimeout("tcp", hostPort, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: rep.sp.nanomsg.org\r\n\r\n",
		path, hostPort, origin)
	status, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(status)
}
