package ws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	neturl "net/url"
	"strings"

	"github.com/mqwire/mqwire/socket"
)

// Options of a ws:// or wss:// listener of the transport's own (not a
// Handler's, which is the application's HTTP server's business: see
// Handler.CheckOrigin).

// originKey and respHeaderKey carry CheckOrigin's and ListenHeader's
// values to ListenContext.
type (
	originKey     struct{}
	respHeaderKey struct{}
)

// ErrOriginRefused is the error of a listener's connection whose opening
// request came from a page of another site (CheckOrigin); the request is
// answered 403 Forbidden.
var ErrOriginRefused = errors.New("mqwire: ws: opening request from another site's page refused")

// CheckOrigin makes a ws:// or wss:// listener check the Origin header
// field that browsers send with their opening requests, as gorilla's and
// mangos's listeners do (mangos's OptionWebSocketCheckOrigin): a request
// whose Origin ok refuses is answered 403 Forbidden, and the socket sees
// an EventHandshakeFailed with ErrOriginRefused. A nil ok is the
// same-origin policy: the Origin's host must be the request's Host.
// Requests without an Origin (any client that is not a browser) are let
// in either way. Without the option nothing is checked, as nng and libzmq
// do not.
func CheckOrigin(ok func(r *http.Request) bool) socket.ListenOption {
	return socket.TransportListenOption("ws.CheckOrigin", transport{}.Schemes(), originKey{}, originPolicy{ok}, nil)
}

// ListenHeader adds header fields to a ws:// or wss:// listener's answer
// to each opening request (nng's NNG_OPT_WS_RESPONSE_HEADERS): a cookie, a
// server name. The fields the handshake sets itself cannot be set, and
// names and values must be ones HTTP allows: Listen fails with
// socket.ErrBadOption otherwise.
func ListenHeader(h http.Header) socket.ListenOption {
	lines, err := headerLines(h, "ws.ListenHeader")
	return socket.TransportListenOption("ws.ListenHeader", transport{}.Schemes(), respHeaderKey{}, lines, err)
}

// originPolicy is CheckOrigin's: ok, or the same-origin policy when nil.
type originPolicy struct{ ok func(r *http.Request) bool }

// listenConfig is what a listener's connections answer with.
type listenConfig struct {
	origin     *originPolicy // nil: no check
	respHeader []byte        // ListenHeader's lines, each ending in CRLF
	frames     FrameLimits   // ListenFrameLimits
}

// listenWith gives a listener's connection the listener's options.
func (c *conn) listenWith(cfg listenConfig) {
	c.lcfg = cfg
	c.setFrames(cfg.frames)
}

// listenConfigIn returns the listen options' values in ctx.
func listenConfigIn(ctx context.Context) listenConfig {
	var cfg listenConfig
	if p, ok := ctx.Value(originKey{}).(originPolicy); ok {
		cfg.origin = &p
	}
	cfg.respHeader, _ = ctx.Value(respHeaderKey{}).([]byte)
	cfg.frames = framesIn(ctx)
	return cfg
}

// allows reports whether the policy lets in the opening request with head
// h for path, from the connection c.
func (p *originPolicy) allows(c net.Conn, start string, h textproto.MIMEHeader) bool {
	origin := h.Get("Origin")
	if origin == "" {
		return true
	}
	if p.ok == nil {
		u, err := neturl.Parse(origin)
		return err == nil && strings.EqualFold(u.Host, h.Get("Host"))
	}
	return p.ok(requestOf(c, start, h))
}

// requestOf makes an http.Request of an opening request's head, for a
// CheckOrigin function.
func requestOf(c net.Conn, start string, h textproto.MIMEHeader) *http.Request {
	r := &http.Request{Method: http.MethodGet, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header(h), Host: h.Get("Host"), RemoteAddr: c.RemoteAddr().String()}
	if f := strings.Fields(start); len(f) == 3 {
		r.RequestURI = f[1]
		r.URL, _ = neturl.ParseRequestURI(f[1])
	}
	if r.URL == nil {
		r.URL = &neturl.URL{Path: "/"}
	}
	return r
}

// originRefused is the answer to a request CheckOrigin refuses.
func originRefused(origin string) ([]byte, error) {
	return []byte("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
		fmt.Errorf("%w (Origin %q)", ErrOriginRefused, origin)
}
