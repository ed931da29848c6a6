// Package ws is the codec of WebSocket framing (RFC 6455) as the ws://
// transport uses it to carry SP messages, the way nng and mangos do: frame
// headers, masking and the opening handshake's key. It works on bytes only
// and knows nothing of connections or sockets.
package ws

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
)

// Opcode is a frame's kind.
type Opcode byte

// The opcodes of RFC 6455, section 5.2.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// Control reports whether op is a control frame's (close, ping, pong).
func (op Opcode) Control() bool { return op&0x8 != 0 }

// MaxHeaderSize is the largest frame header: 2 bytes, an 8-byte length and
// a 4-byte mask key.
const MaxHeaderSize = 14

// maxControl is the largest payload of a control frame (section 5.5).
const maxControl = 125

// Header is a frame header.
type Header struct {
	Fin    bool    // the last frame of its message
	Op     Opcode  // the frame's kind
	Masked bool    // the payload is masked with Key (every client frame is)
	Key    [4]byte // the mask key, when Masked
	Len    uint64  // the payload's length
}

func protoErr(format string, args ...any) error {
	return &wire.ProtocolError{Dialect: "ws", Reason: fmt.Sprintf(format, args...)}
}

// ParseHeader parses the frame header at the start of b. It returns the
// header and its size in bytes, or a size of 0 and no error when b is too
// short to hold the whole header (read more and call again). It refuses,
// before anything is allocated, what no peer of ours may send: reserved
// bits (no extension is ever agreed), unknown opcodes, fragmented or long
// control frames, a length with its top bit set, and a data frame longer
// than limit (0: no limit), reported as a *wire.TooLargeError.
func ParseHeader(b []byte, limit uint64) (Header, int, error) {
	if len(b) < 2 {
		return Header{}, 0, nil
	}
	h := Header{Fin: b[0]&0x80 != 0, Op: Opcode(b[0] & 0x0F), Masked: b[1]&0x80 != 0}
	if b[0]&0x70 != 0 {
		return Header{}, 0, protoErr("reserved bits set in a frame header (%#02x)", b[0])
	}
	switch h.Op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return Header{}, 0, protoErr("unknown opcode %#x", byte(h.Op))
	}
	n := 2
	switch l := b[1] & 0x7F; l {
	case 126:
		n += 2
		if len(b) < n {
			return Header{}, 0, nil
		}
		h.Len = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		n += 8
		if len(b) < n {
			return Header{}, 0, nil
		}
		h.Len = binary.BigEndian.Uint64(b[2:])
		if h.Len>>63 != 0 {
			return Header{}, 0, protoErr("frame length %#x has its top bit set", h.Len)
		}
	default:
		h.Len = uint64(l)
	}
	if h.Masked {
		n += 4
		if len(b) < n {
			return Header{}, 0, nil
		}
		copy(h.Key[:], b[n-4:n])
	}
	if h.Op.Control() {
		if !h.Fin {
			return Header{}, 0, protoErr("fragmented control frame (opcode %#x)", byte(h.Op))
		}
		if h.Len > maxControl {
			return Header{}, 0, protoErr("control frame of %d bytes (at most %d)", h.Len, maxControl)
		}
	} else if limit > 0 && h.Len > limit {
		return Header{}, 0, &wire.TooLargeError{Size: h.Len, Limit: limit}
	}
	return h, n, nil
}

// AppendHeader appends h, with the shortest length encoding, to b.
func AppendHeader(b []byte, h Header) []byte {
	b0 := byte(h.Op) & 0x0F
	if h.Fin {
		b0 |= 0x80
	}
	var m byte
	if h.Masked {
		m = 0x80
	}
	switch {
	case h.Len < 126:
		b = append(b, b0, m|byte(h.Len))
	case h.Len <= 0xFFFF:
		b = append(b, b0, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(h.Len))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, h.Len)
	}
	if h.Masked {
		b = append(b, h.Key[:]...)
	}
	return b
}

// Mask masks (or unmasks: the same operation) b in place with key, b being
// the part of a payload that starts pos bytes into it.
func Mask(key [4]byte, pos uint64, b []byte) {
	if len(b) >= maskPatternMin {
		// The key repeated from pos's phase, XORed in a pattern's length at
		// a time by crypto/subtle's vector code: 2.8 times as fast as the
		// word-at-a-time loop below on 64 KiB, 1.5 times on 1 KiB
		// (BenchmarkMask).
		var pat [maskPattern]byte
		for i := range 4 {
			pat[i] = key[(pos+uint64(i))&3]
		}
		for n := 4; n < len(pat); n *= 2 {
			copy(pat[n:], pat[:n])
		}
		for len(b) >= len(pat) { // a multiple of 4: the phase stays
			subtle.XORBytes(b, b[:len(pat)], pat[:])
			b = b[len(pat):]
		}
		subtle.XORBytes(b, b, pat[:len(b)])
		return
	}
	k := pos & 3
	i := 0
	// Byte by byte up to a multiple of 4 into the payload, then 8 at a time.
	for ; i < len(b) && k&3 != 0; i, k = i+1, k+1 {
		b[i] ^= key[k&3]
	}
	if len(b)-i >= 8 {
		w := uint64(binary.LittleEndian.Uint32(key[:]))
		w |= w << 32
		for ; len(b)-i >= 8; i += 8 {
			binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^w)
		}
	}
	for ; i < len(b); i, k = i+1, k+1 {
		b[i] ^= key[k&3]
	}
}

// maskPattern is the length of Mask's repeated key, and maskPatternMin the
// payload from which building it pays.
const (
	maskPattern    = 512
	maskPatternMin = 256
)

// handshakeGUID is the constant RFC 6455 appends to the client's key.
const handshakeGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey is the Sec-WebSocket-Accept value that answers the client's
// Sec-WebSocket-Key.
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + handshakeGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// subprotocolSuffix ends the Sec-WebSocket-Protocol names of SP protocols.
const subprotocolSuffix = ".sp.nanomsg.org"

// Subprotocol is the Sec-WebSocket-Protocol name of SP protocol proto, as
// nng and mangos name it ("rep.sp.nanomsg.org"). A dialer offers its peer's
// protocol; the listener answers with the same name if it is its own.
func Subprotocol(proto uint16) string {
	name := sp.ProtoName(proto)
	if name != "pair1" {
		name = strings.TrimSuffix(name, "0")
	}
	return name + subprotocolSuffix
}

// ZWS 2.0 (ZeroMQ's RFC 45, libzmq's ws transport) carries each ZMTP frame
// as one binary WebSocket message: a flags byte, then the frame's body. The
// ZMTP greeting has no place there: the opening handshake names the
// security mechanism (ZWSSubprotocol), and the mechanism's commands follow
// as command frames.
const (
	ZWSMore    byte = 0x01 // more frames of the message follow
	ZWSCommand byte = 0x02 // a command frame (READY, PING, ...)
)

// ZWSSubprotocol is the Sec-WebSocket-Protocol name of ZWS 2.0 with a
// security mechanism ("NULL", "PLAIN", "CURVE"): "ZWS2.0/NULL".
func ZWSSubprotocol(mechanism string) string { return "ZWS2.0/" + mechanism }

// ZWSBare is ZWS 2.0 without a security mechanism or greeting, which
// libzmq offers after ZWS2.0/NULL and browser clients (jszmq) offer alone:
// each side's first message is its routing id (possibly empty), and no
// socket type is exchanged.
const ZWSBare = "ZWS2.0"
