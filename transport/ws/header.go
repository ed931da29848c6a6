package ws

import (
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/mqwire/mqwire/socket"
)

// headerKey carries DialHeader's lines to the transport's Dial.
type headerKey struct{}

// handshakeHeaders are the header fields the opening handshake sets
// itself, which DialHeader and ListenHeader may not.
var handshakeHeaders = []string{
	"Host", "Upgrade", "Connection", "Content-Length", "Transfer-Encoding",
	"Sec-Websocket-Key", "Sec-Websocket-Accept", "Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions",
}

// DialHeader adds header fields to a ws:// or wss:// dialer's opening
// handshake (nng's NNG_OPT_WS_REQUEST_HEADERS): an Authorization for a
// server or proxy that wants one, an Origin, a cookie. The fields the
// handshake sets itself (Host, Upgrade, Connection, the Sec-WebSocket
// ones) cannot be set, and names and values must be ones HTTP allows (no
// line breaks): Dial fails with socket.ErrBadOption otherwise, and with
// socket.ErrOptionNotApplicable on another transport.
func DialHeader(h http.Header) socket.DialOption {
	lines, err := headerLines(h, "ws.DialHeader")
	return socket.TransportDialOption("ws.DialHeader", transport{}.Schemes(), headerKey{}, lines, err)
}

// headerLines returns h as header lines, each ending in CRLF, in the order
// of their names.
func headerLines(h http.Header, option string) ([]byte, error) {
	var b []byte
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		bad := func(why string) ([]byte, error) {
			return nil, fmt.Errorf("%w: %s: header %q %s", socket.ErrBadOption, option, name, why)
		}
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case name == "" || strings.ContainsFunc(name, func(r rune) bool { return !isTokenChar(r) }):
			return bad("is not a header name")
		case slices.Contains(handshakeHeaders, canonical):
			return bad("is set by the opening handshake")
		}
		for _, v := range h[name] {
			if strings.ContainsAny(v, "\r\n\x00") {
				return bad("has a value with a line break or NUL")
			}
			b = fmt.Appendf(b, "%s: %s\r\n", canonical, v)
		}
	}
	return b, nil
}

// isTokenChar reports whether r may appear in an HTTP header name (RFC
// 9110's tchar).
func isTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return r < 0x80 && strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}
