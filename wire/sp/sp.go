// Package sp is the codec of the SP wire protocol spoken by nng, nanomsg and
// mangos over byte streams: the 8-byte connection header and the TCP and IPC
// message framing. It works on bytes only and knows nothing of sockets.
package sp

import (
	"encoding/binary"
	"fmt"

	"github.com/mqwire/mqwire/wire"
)

// HeaderSize is the size of the SP connection header both sides send at once.
const HeaderSize = 8

// Protocol numbers, as nng and nanomsg put them in the connection header.
const (
	ProtoPair0      uint16 = 0x10
	ProtoPair1      uint16 = 0x11
	ProtoPub0       uint16 = 0x20
	ProtoSub0       uint16 = 0x21
	ProtoReq0       uint16 = 0x30
	ProtoRep0       uint16 = 0x31
	ProtoPush0      uint16 = 0x50
	ProtoPull0      uint16 = 0x51
	ProtoSurveyor0  uint16 = 0x62
	ProtoRespondent uint16 = 0x63
	ProtoBus0       uint16 = 0x70
)

// ProtoName returns the nng name of an SP protocol number, or its hex form.
func ProtoName(p uint16) string {
	switch p {
	case ProtoPair0:
		return "pair0"
	case ProtoPair1:
		return "pair1"
	case ProtoPub0:
		return "pub0"
	case ProtoSub0:
		return "sub0"
	case ProtoReq0:
		return "req0"
	case ProtoRep0:
		return "rep0"
	case ProtoPush0:
		return "push0"
	case ProtoPull0:
		return "pull0"
	case ProtoSurveyor0:
		return "surveyor0"
	case ProtoRespondent:
		return "respondent0"
	case ProtoBus0:
		return "bus0"
	}
	return fmt.Sprintf("0x%04x", p)
}

// AppendHeader appends the connection header announcing protocol proto.
func AppendHeader(b []byte, proto uint16) []byte {
	return append(b, 0, 'S', 'P', 0, byte(proto>>8), byte(proto), 0, 0)
}

// ParseHeader checks a peer's 8-byte connection header and returns the
// protocol number it announces. Like nng, it rejects a header whose bytes 0-3
// or 6-7 are not what SP requires; when the bytes look like another protocol
// (ZMTP, HTTP, TLS) the error says so.
func ParseHeader(h []byte) (uint16, error) {
	if len(h) < HeaderSize {
		return 0, protoErr("short connection header (%d bytes)", len(h))
	}
	if h[0] != 0 || h[1] != 'S' || h[2] != 'P' || h[3] != 0 || h[6] != 0 || h[7] != 0 {
		if other := guessProtocol(h); other != "" {
			return 0, protoErr("peer speaks %s, not SP", other)
		}
		return 0, protoErr("bad connection header % x", h[:HeaderSize])
	}
	return binary.BigEndian.Uint16(h[4:6]), nil
}

// guessProtocol names the protocol a non-SP first 8 bytes probably belong to.
func guessProtocol(h []byte) string {
	switch {
	case h[0] == 0xFF:
		return "ZMTP"
	case string(h[:4]) == "GET " || string(h[:4]) == "POST" || string(h[:4]) == "HTTP":
		return "HTTP"
	case h[0] == 0x16 && h[1] == 0x03:
		return "TLS"
	}
	return ""
}

func protoErr(format string, args ...any) error {
	return &wire.ProtocolError{Dialect: "sp", Reason: fmt.Sprintf(format, args...)}
}

// Framing selects how messages are delimited on a byte stream.
type Framing uint8

const (
	// FramingTCP is a u64 big-endian length, then the message (TCP and TLS).
	FramingTCP Framing = iota
	// FramingIPC is a type byte 0x01, a u64 big-endian length, then the
	// message (IPC over Unix sockets).
	FramingIPC
)

// ipcMessageType is the only IPC type byte nng accepts.
const ipcMessageType = 0x01

// FrameHeaderSize returns the size of one frame header under framing f.
func (f Framing) FrameHeaderSize() int {
	if f == FramingIPC {
		return 9
	}
	return 8
}

// AppendFrameHeader appends the header of one message of size bytes.
func (f Framing) AppendFrameHeader(b []byte, size uint64) []byte {
	if f == FramingIPC {
		b = append(b, ipcMessageType)
	}
	return binary.BigEndian.AppendUint64(b, size)
}

// ParseFrameHeader decodes one frame header from h, which must hold
// FrameHeaderSize bytes, and returns the announced message size. A size above
// limit (when limit is not zero) is a *wire.TooLargeError; a bad IPC type byte
// is a *wire.ProtocolError. Nothing is allocated.
func (f Framing) ParseFrameHeader(h []byte, limit uint64) (uint64, error) {
	n := f.FrameHeaderSize()
	if len(h) < n {
		return 0, protoErr("short frame header (%d bytes)", len(h))
	}
	if f == FramingIPC {
		if h[0] != ipcMessageType {
			return 0, protoErr("bad IPC message type 0x%02x", h[0])
		}
		h = h[1:]
	}
	size := binary.BigEndian.Uint64(h)
	if limit != 0 && size > limit {
		return 0, &wire.TooLargeError{Size: size, Limit: limit}
	}
	return size, nil
}
