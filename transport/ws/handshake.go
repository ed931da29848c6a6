package ws

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/textproto"
	"strings"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
	wws "github.com/mqwire/mqwire/wire/ws"
)

// maxHandshake bounds the opening handshake's request or response head, so
// that a peer cannot make us buffer an endless header.
const maxHandshake = 8 << 10

func handshakeErr(format string, args ...any) error {
	return &wire.ProtocolError{Dialect: "ws", Reason: "handshake: " + fmt.Sprintf(format, args...)}
}

// readHead reads an HTTP head (start line and header fields, up to the
// empty line) of at most maxHandshake bytes. checkStart, when not nil,
// checks the start line before the header fields are read.
func readHead(br *bufio.Reader, checkStart func(string) error) (start string, h textproto.MIMEHeader, err error) {
	h = make(textproto.MIMEHeader)
	total := 0
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		total += len(line)
		if total > maxHandshake {
			return "", nil, handshakeErr("head longer than %d bytes", maxHandshake)
		}
		if err == bufio.ErrBufferFull {
			return "", nil, handshakeErr("a head line longer than %d bytes", br.Size())
		}
		if err != nil {
			return "", nil, err
		}
		l := strings.TrimRight(string(line), "\r\n")
		switch {
		case first:
			start = l
			if checkStart != nil {
				if err := checkStart(l); err != nil {
					return "", nil, err
				}
			}
		case l == "":
			return start, h, nil
		default:
			name, value, ok := strings.Cut(l, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return "", nil, handshakeErr("bad header line %q", l)
			}
			h.Add(name, strings.TrimSpace(value))
		}
	}
}

// hasToken reports whether a comma-separated header value lists token
// (case-insensitive), as Connection and Sec-WebSocket-Protocol do.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// newKey returns a fresh Sec-WebSocket-Key.
func newKey() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// offer is what a dialer offers: ZWS 2.0 with its mechanism for ZMTP
// (with NULL, bare ZWS 2.0 after it, as libzmq offers), else its peer's SP
// protocol.
func offer(req socket.FrameRequest) string {
	if req.OfferZMTP {
		if offerOverride != "" {
			return offerOverride
		}
		if req.Mechanism == "NULL" {
			return wws.ZWSSubprotocol(req.Mechanism) + ", " + wws.ZWSBare
		}
		return wws.ZWSSubprotocol(req.Mechanism)
	}
	return wws.Subprotocol(req.SPPeer)
}

// offerOverride, when set (by tests), is what a ZMTP dialer offers.
var offerOverride string

// taken checks the protocol a listener took against what we offered:
// whether it carries ZMTP, and whether as bare ZWS 2.0.
func taken(protocol, offered string, req socket.FrameRequest) (zmtp, bare bool, err error) {
	if protocol == "" || !hasToken([]string{offered}, protocol) {
		return false, false, fmt.Errorf("%w: ws: peer speaks %q, we offered %s", socket.ErrPeerMismatch, protocol, offered)
	}
	return req.OfferZMTP, strings.EqualFold(protocol, wws.ZWSBare), nil
}

// request is the dialer's opening handshake, offering protocol, with the
// extra header lines of DialHeader.
func request(host, path, key, protocol string, header []byte) []byte {
	b := fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n",
		path, host, key, protocol)
	return append(append(b, header...), "\r\n"...)
}

// checkStatus checks the status line of the listener's answer: anything
// but an upgrade fails at once (nanomsg's refusal never ends its head). SP
// listeners answer 400 to the offer of a protocol that is not theirs; our
// request is otherwise well-formed, so 400 means a peer of the wrong kind.
func checkStatus(start, protocol string) error {
	f := strings.Fields(start)
	switch {
	case len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/1.") && f[1] == "101":
		return nil
	case len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/1.") && f[1] == "400":
		return fmt.Errorf("%w: ws: refused our offer of %s: %q", socket.ErrPeerMismatch, protocol, start)
	}
	return handshakeErr("refused: %q", start)
}

// checkResponse checks the rest of the listener's answer to request: an
// upgrade that accepts key. The protocol it took is checked by taken.
func checkResponse(h textproto.MIMEHeader, key string) error {
	switch {
	case !strings.EqualFold(h.Get("Upgrade"), "websocket"):
		return handshakeErr("response does not upgrade to websocket")
	case !hasToken(h.Values("Connection"), "upgrade"):
		return handshakeErr("response's Connection is not Upgrade")
	case h.Get("Sec-WebSocket-Accept") != wws.AcceptKey(key):
		return handshakeErr("response's Sec-WebSocket-Accept does not answer our key")
	}
	return nil
}

// choose picks the first of the subprotocols a dialer offers (in its
// order, as libzmq's listener does) that this listener speaks: its own SP
// protocol (not with a security mechanism, which SP lacks), ZWS 2.0 with
// its mechanism, or, with NULL, bare ZWS 2.0; "" when none is.
func choose(offered []string, req socket.FrameRequest) (protocol string, zmtp, bare bool) {
	sp := wws.Subprotocol(req.SPSelf)
	zws := wws.ZWSSubprotocol(req.Mechanism)
	for _, v := range offered {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			switch {
			case req.SPSelf != 0 && req.Mechanism == "NULL" && strings.EqualFold(t, sp):
				return sp, false, false
			case req.ZMTPType != "" && strings.EqualFold(t, zws):
				return zws, true, false
			case req.ZMTPType != "" && req.Mechanism == "NULL" && strings.EqualFold(t, wws.ZWSBare):
				return wws.ZWSBare, true, true
			}
		}
	}
	return "", false, false
}

// answer checks a dialer's opening handshake against this listener's path
// and protocols and returns the response to write, whether the connection
// carries ZMTP (and whether as bare ZWS 2.0), and an error when the
// response refuses it.
func answer(start string, h textproto.MIMEHeader, path string, req socket.FrameRequest, extra []byte) (resp []byte, zmtp, bare bool, err error) {
	refuse := func(status string, err error) ([]byte, bool, bool, error) {
		return fmt.Appendf(nil, "HTTP/1.1 %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status), false, false, err
	}
	f := strings.Fields(start)
	if len(f) != 3 || f[0] != "GET" || !strings.HasPrefix(f[2], "HTTP/1.") {
		return refuse("400 Bad Request", handshakeErr("not a GET request: %q", start))
	}
	if p, _, _ := strings.Cut(f[1], "?"); p != path {
		return refuse("404 Not Found", handshakeErr("request for path %q, we serve %q", p, path))
	}
	key := h.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		return refuse("400 Bad Request", handshakeErr("bad Sec-WebSocket-Key %q", key))
	}
	switch {
	case !strings.EqualFold(h.Get("Upgrade"), "websocket") || !hasToken(h.Values("Connection"), "upgrade"):
		return refuse("400 Bad Request", handshakeErr("request does not ask to upgrade to websocket"))
	case h.Get("Sec-WebSocket-Version") != "13":
		resp := fmt.Appendf(nil, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		return resp, false, false, handshakeErr("websocket version %q (we speak 13)", h.Get("Sec-WebSocket-Version"))
	}
	protocol, zmtp, bare := choose(h.Values("Sec-WebSocket-Protocol"), req)
	if protocol == "" {
		return refuse("400 Bad Request", fmt.Errorf("%w: ws: peer offers %q, we speak %s",
			socket.ErrPeerMismatch, h.Get("Sec-WebSocket-Protocol"), ours(req)))
	}
	return fmt.Appendf(nil, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n%s\r\n", wws.AcceptKey(key), protocol, extra), zmtp, bare, nil
}

// ours names the subprotocols a listener speaks, for errors.
func ours(req socket.FrameRequest) string {
	var names []string
	if req.SPSelf != 0 && req.Mechanism == "NULL" {
		names = append(names, wws.Subprotocol(req.SPSelf))
	}
	if req.ZMTPType != "" {
		names = append(names, wws.ZWSSubprotocol(req.Mechanism))
		if req.Mechanism == "NULL" {
			names = append(names, wws.ZWSBare)
		}
	}
	return strings.Join(names, " or ")
}
