package ws_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/ws"
)

// A listener of the transport's own checks Origin when asked
// (ws.CheckOrigin): the same-origin policy by default, a function of the
// application's otherwise; a refusal is 403 and an event with
// ErrOriginRefused, and requests without Origin (clients that are not
// browsers, mqwire's) get through. Without the option nothing is checked.
func TestListenerCheckOrigin(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, c := range []struct {
		name string
		opts []socket.ListenOption
		// answers to a request from the same host, another, a friend's
		same, other, friend string
	}{
		{"no check", nil, "101", "101", "101"},
		{"same origin", []socket.ListenOption{ws.CheckOrigin(nil)}, "101", "403", "403"},
		{"policy", []socket.ListenOption{ws.CheckOrigin(func(r *http.Request) bool {
			return r.Header.Get("Origin") == "https://friend.example" && r.URL.Path == "/o" && r.RemoteAddr != ""
		})}, "403", "403", "101"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := must(pull.New())
			defer s.Close()
			ev := s.Events(64)
			l := must(s.Listen("ws://127.0.0.1:0/o", c.opts...))
			url := l.URL()
			host := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/o")
			withOrigin := func(origin string) string {
				return strings.Replace(goodHead, "Host: x\r\n", "Host: "+host+"\r\nOrigin: "+origin+"\r\n", 1)
			}
			for _, r := range []struct{ origin, want string }{
				{"http://" + host, c.same}, {"https://evil.example", c.other}, {"https://friend.example", c.friend},
			} {
				if _, st := dialRaw(t, url, withOrigin(r.origin)); !strings.HasPrefix(st, "HTTP/1.1 "+r.want) {
					t.Errorf("Origin %s: answer %q, want %s", r.origin, st, r.want)
				}
				if r.want == "403" {
					if e := socktest.WaitEvent(t, ev, socket.EventHandshakeFailed); !errors.Is(e.Err, ws.ErrOriginRefused) {
						t.Errorf("Origin %s: event error %v", r.origin, e.Err)
					}
				}
			}
			stillServes(t, s, url) // no Origin: let in
		})
	}
}

// Over wss the same: an mqwire dialer whose DialHeader says it comes from
// another site's page is refused, one without Origin is let in.
func TestListenerCheckOriginTLS(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	s := must(rep.New(socket.TLSConfig(certs.ServerConfig())))
	defer s.Close()
	ev := s.Events(64)
	l := must(s.Listen("wss://127.0.0.1:0/o", ws.CheckOrigin(nil)))
	bad := must(req.New(socket.TLSConfig(certs.ClientConfig())))
	defer bad.Close()
	must(bad.Dial(l.URL(), ws.DialHeader(http.Header{"Origin": {"https://evil.example"}})))
	if e := socktest.WaitEvent(t, ev, socket.EventHandshakeFailed); !errors.Is(e.Err, ws.ErrOriginRefused) {
		t.Fatalf("event error %v", e.Err)
	}
	bad.Close()
	good := must(req.New(socket.TLSConfig(certs.ClientConfig())))
	defer good.Close()
	must(good.Dial(l.URL()))
	echo(t, good, s)
}

// ListenHeader's fields are in the listener's answer, an mqwire dialer
// still connects, and the fields the handshake sets are refused, as is
// the option on another transport.
func TestListenHeader(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	defer s.Close()
	l := must(s.Listen("ws://127.0.0.1:0/h", ws.ListenHeader(http.Header{"Set-Cookie": {"session=abc"}, "x-server": {"mqwire"}})))
	p, st := dialRaw(t, l.URL(), goodHead)
	if !strings.HasPrefix(st, "HTTP/1.1 101") || p.head["Set-Cookie"] != "session=abc" || p.head["X-Server"] != "mqwire" {
		t.Fatalf("answer %q, %v", st, p.head)
	}
	p.Close()
	stillServes(t, s, l.URL())
	for _, h := range []http.Header{{"Sec-WebSocket-Accept": {"x"}}, {"Upgrade": {"h2c"}}, {"X-Bad": {"a\r\nb"}}, {"bad name": {"x"}}} {
		if _, err := s.Listen("ws://127.0.0.1:0/bad", ws.ListenHeader(h)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("ListenHeader(%v): %v, want ErrBadOption", h, err)
		}
	}
	if _, err := s.Listen("tcp://127.0.0.1:0", ws.ListenHeader(http.Header{"X-A": {"b"}})); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("on tcp: %v", err)
	}
	if _, err := s.Listen("tcp://127.0.0.1:0", ws.CheckOrigin(nil)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("CheckOrigin on tcp: %v", err)
	}
}
