package ws

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/socket"
)

// Handler serves a socket's WebSocket clients on the application's own
// HTTP server, beside its other handlers: mounted on the server's mux, it
// takes each upgrade request the server routes to it, takes the connection
// over from the server and hands it to the socket, which answers the
// opening handshake (with its subprotocol, or a refusal) and serves the
// connection as it serves a ws:// listener's. Nothing is bound: the
// server keeps its port, its routing and its TLS (behind an https server
// the connections are wss://, and the socket runs no TLS of its own).
//
// The requests need HTTP/1.1 (RFC 6455's upgrade; the server's HTTP/2 has
// none): a request that does not ask for a WebSocket gets 426 Upgrade
// Required (405 for a method other than GET) through the server, and
// every request gets 503 once the handler's Listener is closed.
//
// A browser's request names the page that opened it in its Origin header.
// Since the server's cookies go with it, a page of another site could
// otherwise talk to the socket as the browser's user: by default a request
// whose Origin names a host other than the one it was sent to gets 403
// Forbidden, as gorilla/websocket's and mangos' handlers do; CheckOrigin
// sets another policy. Requests without Origin (nng, mangos, mqwire and
// libzmq clients send none) are not checked.
type Handler struct {
	hl          *handlerListener
	l           *socket.Listener
	checkOrigin atomic.Pointer[func(*http.Request) bool]
}

// NewHandler makes sock listen for WebSocket clients through the returned
// handler, which the application mounts on its HTTP server. url names the
// endpoint as clients dial it, "ws://example.com:8080/chat" (wss:// behind
// an https server): it is what the Listener and the socket's events
// report; the host and port are not bound and the path is not checked,
// since the server's mux routes the requests. opts are the Listen's.
func NewHandler(sock *socket.Socket, url string, opts ...socket.ListenOption) (*Handler, error) {
	scheme, _, _ := strings.Cut(url, "://")
	if !slices.Contains(transport{}.Schemes(), scheme) {
		return nil, fmt.Errorf("%w: ws.NewHandler needs a ws:// or wss:// URL, not %q", socket.ErrBadURL, url)
	}
	hl := &handlerListener{url: url, in: make(chan routedRequest), done: make(chan struct{})}
	l, err := sock.Listen(url, append(slices.Clip(opts), socket.AcceptFrom(hl))...)
	if err != nil {
		return nil, err
	}
	return &Handler{hl: hl, l: l}, nil
}

// CheckOrigin sets the policy for requests that carry an Origin header:
// ok reports whether r may open a WebSocket. nil restores the default,
// same host only.
func (h *Handler) CheckOrigin(ok func(r *http.Request) bool) {
	if ok == nil {
		h.checkOrigin.Store(nil)
		return
	}
	h.checkOrigin.Store(&ok)
}

// SetHeader adds header fields to the socket's answer to each opening
// request the handler takes from now on, as ListenHeader does a
// listener's (a cookie, a server name; nng's NNG_OPT_WS_RESPONSE_HEADERS):
// the HTTP server's own fields do not reach that answer, which the socket
// writes after taking the connection over. It fails with
// socket.ErrBadOption as ListenHeader does; nil or empty removes them.
func (h *Handler) SetHeader(hd http.Header) error {
	lines, err := headerLines(hd, "ws.Handler.SetHeader")
	if err != nil {
		return err
	}
	h.hl.header.Store(&lines)
	return nil
}

// originAllowed applies the origin policy to r.
func (h *Handler) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if ok := h.checkOrigin.Load(); ok != nil {
		return (*ok)(r)
	}
	u, err := neturl.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// Listener returns the socket's listener that the handler feeds. Closing it
// closes the connections it accepted; the handler then refuses requests.
func (h *Handler) Listener() *socket.Listener { return h.l }

// ServeHTTP takes a WebSocket upgrade request's connection over and hands
// it to the socket.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-h.hl.done:
		http.Error(w, "mqwire: the socket no longer listens here", http.StatusServiceUnavailable)
		return
	default:
	}
	switch {
	case r.ProtoMajor != 1:
		http.Error(w, "a WebSocket needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	case r.Method != http.MethodGet:
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "a WebSocket opens with GET", http.StatusMethodNotAllowed)
		return
	case !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || !hasToken(r.Header.Values("Connection"), "upgrade"):
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		http.Error(w, "this endpoint serves WebSocket clients only", http.StatusUpgradeRequired)
		return
	}
	if !h.originAllowed(r) {
		http.Error(w, "mqwire: WebSocket from another site's page refused", http.StatusForbidden)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "mqwire: the server cannot hand the connection over", http.StatusInternalServerError)
		return
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return // the server has answered, or the connection is gone
	}
	// The server's read and write timeouts were for the request; the
	// socket keeps its own from here on.
	c.SetDeadline(time.Time{})
	// A client waits for the answer before it sends, so the server's
	// reader is normally empty: then the connection gets a reader of its
	// own, without the server's layer under it.
	br := rw.Reader
	if br.Buffered() == 0 {
		br = bufio.NewReaderSize(c, 4<<10)
	}
	path := r.URL.EscapedPath()
	req := routedRequest{c: c, br: br, start: "GET " + r.URL.RequestURI() + " HTTP/1.1", h: textproto.MIMEHeader(r.Header), path: path, tls: r.TLS}
	select {
	case h.hl.in <- req:
	case <-h.hl.done:
		c.Close()
	}
}

// handlerListener is the socket's side of a Handler: the connections the
// handler takes over, with their request heads read.
type handlerListener struct {
	url       string
	in        chan routedRequest
	done      chan struct{}
	closeOnce sync.Once
	frames    atomic.Pointer[FrameLimits] // SetFrameLimits'
	header    atomic.Pointer[[]byte]      // SetHeader's lines, each ending in CRLF
}

func (hl *handlerListener) Accept() (socket.Conn, error) {
	select {
	case r := <-hl.in:
		cfg := listenConfig{frames: frameLimitsOf(&hl.frames)}
		if h := hl.header.Load(); h != nil {
			cfg.respHeader = *h
		}
		// TLS, if any, is the HTTP server's and done: the connection
		// carries plain WebSocket frames from here on.
		return socket.Conn{
			Stream: r.c,
			Frame: func(under net.Conn) net.Conn {
				wc := newRoutedConn(under, r, r.path)
				wc.listenWith(cfg)
				return wc
			},
			Remote: r.c.RemoteAddr().String(),
			Local:  r.c.LocalAddr().String(),
		}, nil
	case <-hl.done:
		return socket.Conn{}, net.ErrClosed
	}
}

func (hl *handlerListener) Close() error {
	hl.closeOnce.Do(func() { close(hl.done) })
	return nil
}

func (hl *handlerListener) URL() string { return hl.url }
