package ws_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/ws"
)

// handlerServer serves s through a ws.Handler at /mq on a test HTTP
// server, beside a page at /page, and returns the handler and its URL.
func handlerServer(t *testing.T, s *socket.Socket) (*ws.Handler, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "a page") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/mq"
	h, err := ws.NewHandler(s, url)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/mq", h)
	return h, url
}

// status sends a request for url's path and returns its status code.
func status(t *testing.T, method, url string, header http.Header) int {
	t.Helper()
	r, err := http.NewRequest(method, "http"+strings.TrimPrefix(url, "ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		r.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A socket served through a Handler on the application's HTTP server takes
// mqwire's and hand-written WebSocket clients, refuses a wrong protocol
// with its event, answers plain requests with HTTP errors, and lets go of
// its connections and refuses new ones once its Listener is closed; the
// server's other pages go on being served throughout.
func TestHandler(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New(socket.MaxRecvSize(64 << 10)))
	defer s.Close()
	ev := s.Events(64)
	h, url := handlerServer(t, s)
	if h.Listener().URL() != url {
		t.Errorf("listener URL %q, want %q", h.Listener().URL(), url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	p := must(push.New())
	defer p.Close()
	must(p.Dial(url))
	if err := p.SendContext(ctx, socket.NewMessageBytes([]byte("from mqwire"))); err != nil {
		t.Fatal(err)
	}
	if m, err := s.RecvContext(ctx); err != nil || string(m.Body) != "from mqwire" {
		t.Fatalf("received %v %v", m, err)
	}

	// A hand-written client, with a query after the path.
	raw, st := dialRaw(t, url+"?who=raw", goodHead)
	if st != "HTTP/1.1 101 Switching Protocols" || raw.head["Sec-WebSocket-Protocol"] != "pull.sp.nanomsg.org" {
		t.Fatalf("answer %q %v", st, raw.head)
	}
	raw.send(t, raw.frame(0x2, true, true, []byte("from a raw peer")))
	if m, err := s.RecvContext(ctx); err != nil || string(m.Body) != "from a raw peer" {
		t.Fatalf("received %v %v", m, err)
	}

	// The wrong protocol: refused by the socket, which says why.
	_, st = dialRaw(t, url, strings.Replace(goodHead, "pull.sp", "rep.sp", 1))
	if !strings.HasPrefix(st, "HTTP/1.1 400") {
		t.Errorf("a rep peer's answer: %q", st)
	}
	if e := socktest.WaitEvent(t, ev, socket.EventHandshakeFailed); !errors.Is(e.Err, socket.ErrPeerMismatch) {
		t.Errorf("refusal event: %v, want ErrPeerMismatch", e.Err)
	}

	if got := status(t, "GET", url, nil); got != http.StatusUpgradeRequired {
		t.Errorf("a plain GET: %d, want 426", got)
	}
	if got := status(t, "POST", url, nil); got != http.StatusMethodNotAllowed {
		t.Errorf("a POST: %d, want 405", got)
	}
	resp, err := http.Get("http" + strings.TrimPrefix(strings.TrimSuffix(url, "/mq"), "ws") + "/page")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(page) != "a page" {
		t.Errorf("the page reads %q", page)
	}

	h.Listener().Close()
	if _, err := raw.br.ReadByte(); err == nil {
		// A close frame may come first; the connection ends after it.
		if _, err := io.ReadAll(raw.br); err != nil {
			t.Errorf("the raw peer's connection after Close: %v", err)
		}
	}
	upgrade := http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}}
	if got := status(t, "GET", url, upgrade); got != http.StatusServiceUnavailable {
		t.Errorf("an upgrade after Close: %d, want 503", got)
	}
	testutil.WaitFor(t, "the pipes to go", timeout, func() bool { return len(s.PipeStats()) == 0 })
}

// Behind an https server the connections are wss://: the server runs TLS,
// the socket none of its own (it has no certificate).
func TestHandlerTLS(t *testing.T) {
	testutil.CheckGoroutines(t)
	// The pipe tells the TLS state of the server's connection, and the
	// request, as a pipe of a wss:// listener of the socket's own does.
	told := make(chan bool, 1)
	s := must(rep.New(socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
		if ev == socket.PipeAdding {
			var st tls.ConnectionState
			var hs ws.Handshake
			told <- p.ConnInfo(&st) && st.HandshakeComplete && p.ConnInfo(&hs) && hs.Path == "/rpc"
		}
	})))
	defer s.Close()
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	url := "wss" + strings.TrimPrefix(srv.URL, "https") + "/rpc"
	h := must(ws.NewHandler(s, url))
	mux.Handle("/rpc", h)

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := must(req.New(socket.TLSConfig(&tls.Config{RootCAs: roots})))
	defer c.Close()
	must(c.Dial(url))
	echo(t, c, s)
	if !<-told {
		t.Error("the pipe does not tell the server's TLS state and the request")
	}
}

// echo sends a request from c that the replier s sends back, and checks
// that it comes back.
func echo(t *testing.T, c, s *socket.Socket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.SendContext(ctx, socket.NewMessageBytes([]byte("ping"))); err != nil {
		t.Fatal(err)
	}
	m, err := s.RecvContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendContext(ctx, m); err != nil {
		t.Fatal(err)
	}
	if m, err = c.RecvContext(ctx); err != nil || string(m.Body) != "ping" {
		t.Fatalf("reply %v %v", m, err)
	}
}

func TestNewHandlerURL(t *testing.T) {
	s := must(rep.New())
	defer s.Close()
	for _, url := range []string{"tcp://127.0.0.1:80", "ws://no-port/x", "http://127.0.0.1:80/x"} {
		if _, err := ws.NewHandler(s, url); !errors.Is(err, socket.ErrBadURL) {
			t.Errorf("%s: %v, want ErrBadURL", url, err)
		}
	}
	s.Close()
	if _, err := ws.NewHandler(s, "ws://127.0.0.1:80/x"); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("on a closed socket: %v, want ErrClosed", err)
	}
}

// A browser's request from another site's page is refused unless the
// handler's origin policy allows it; one from the server's own pages, and
// one with no Origin, go through.
func TestHandlerOrigin(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	defer s.Close()
	h, url := handlerServer(t, s)
	host := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/mq")
	withOrigin := func(origin string) string {
		return strings.Replace(goodHead, "Host: x\r\n", "Host: "+host+"\r\nOrigin: "+origin+"\r\n", 1)
	}
	noHost := strings.Replace(goodHead, "Host: x\r\n", "Host: "+host+"\r\n", 1)
	for _, c := range []struct {
		head, want string
	}{
		{noHost, "101"},
		{withOrigin("http://" + host), "101"},
		{withOrigin("https://" + strings.ToUpper(host)), "101"},
		{withOrigin("https://evil.example"), "403"},
		{withOrigin("null"), "403"},
	} {
		if _, st := dialRaw(t, url, c.head); !strings.HasPrefix(st, "HTTP/1.1 "+c.want) {
			t.Errorf("%q: answer %q, want %s", c.head, st, c.want)
		}
	}
	h.CheckOrigin(func(r *http.Request) bool { return r.Header.Get("Origin") == "https://friend.example" })
	if _, st := dialRaw(t, url, withOrigin("https://friend.example")); !strings.HasPrefix(st, "HTTP/1.1 101") {
		t.Errorf("an allowed origin: %q", st)
	}
	if _, st := dialRaw(t, url, withOrigin("http://"+host)); !strings.HasPrefix(st, "HTTP/1.1 403") {
		t.Errorf("the policy's refusal: %q", st)
	}
	h.CheckOrigin(nil)
	if _, st := dialRaw(t, url, withOrigin("http://"+host)); !strings.HasPrefix(st, "HTTP/1.1 101") {
		t.Errorf("the default restored: %q", st)
	}
}

// DialHeader's fields reach the server: behind a check for a bearer token
// (the application's middleware in front of the handler), a dialer with the
// token gets through and one without is refused with the server's 401;
// fields the handshake sets, and values with line breaks, are refused at
// Dial, as is the option on another transport.
func TestDialHeader(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(rep.New())
	defer s.Close()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/rpc"
	h := must(ws.NewHandler(s, url))
	var seen []string
	var mu sync.Mutex
	mux.Handle("/rpc", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Client"))
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer secret" {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))

	c := must(req.New())
	defer c.Close()
	hdr := http.Header{"Authorization": {"Bearer secret"}, "x-client": {"tests"}}
	must(c.Dial(url, ws.DialHeader(hdr), socket.SynchronousDial()))
	echo(t, c, s)
	mu.Lock()
	if len(seen) != 1 || seen[0] != "tests" {
		t.Errorf("the server saw X-Client %q", seen)
	}
	mu.Unlock()

	anon := must(req.New())
	defer anon.Close()
	if _, err := anon.Dial(url, socket.SynchronousDial()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a dial without the token: %v, want the server's 401", err)
	}

	for _, bad := range []http.Header{
		{"Host": {"elsewhere"}},
		{"Sec-WebSocket-Protocol": {"pair.sp.nanomsg.org"}},
		{"X-Split": {"a\r\nX-Injected: b"}},
		{"Bad Name": {"x"}},
	} {
		if _, err := anon.Dial(url, ws.DialHeader(bad)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("DialHeader(%q): %v, want ErrBadOption", bad, err)
		}
	}
	if _, err := anon.Dial("tcp://127.0.0.1:1", ws.DialHeader(hdr)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("DialHeader on tcp: %v, want ErrOptionNotApplicable", err)
	}
}

// A Handler adds SetHeader's fields to the socket's 101 answer, from the
// next request on; the handshake's own fields are refused.
func TestHandlerSetHeader(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	defer s.Close()
	h, url := handlerServer(t, s)
	defer h.Listener().Close()
	if err := h.SetHeader(http.Header{"Sec-WebSocket-Accept": {"x"}}); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("SetHeader of a handshake field: %v, want ErrBadOption", err)
	}
	if err := h.SetHeader(http.Header{"X-Bad": {"a\r\nb"}}); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("SetHeader with a line break: %v, want ErrBadOption", err)
	}
	p, st := dialRaw(t, url, goodHead)
	p.Close()
	if st != "HTTP/1.1 101 Switching Protocols" || p.head["Set-Cookie"] != "" {
		t.Fatalf("before SetHeader: %q %v", st, p.head)
	}
	if err := h.SetHeader(http.Header{"Set-Cookie": {"session=abc"}, "Server": {"mq"}}); err != nil {
		t.Fatal(err)
	}
	p, st = dialRaw(t, url, goodHead)
	defer p.Close()
	if st != "HTTP/1.1 101 Switching Protocols" || p.head["Set-Cookie"] != "session=abc" || p.head["Server"] != "mq" {
		t.Fatalf("after SetHeader: %q %v", st, p.head)
	}
}
