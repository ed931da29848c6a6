package zmtp

import (
	"encoding/binary"
	"errors"

	"github.com/mqwire/mqwire/wire"
)

// Frame flag bits.
const (
	// FlagMore marks a data frame that is followed by another frame of the
	// same message.
	FlagMore byte = 0x01
	// FlagLong says the size is 8 bytes big-endian instead of 1 byte.
	FlagLong byte = 0x02
	// FlagCommand marks a command frame.
	FlagCommand byte = 0x04

	flagsKnown = FlagMore | FlagLong | FlagCommand
)

// Frame header sizes.
const (
	// ShortHeaderSize is the size of a frame header without FlagLong.
	ShortHeaderSize = 2
	// LongHeaderSize is the size of a frame header with FlagLong.
	LongHeaderSize = 9
	// MaxShortSize is the largest size a short header can carry; encoders
	// use a long header only above it.
	MaxShortSize = 255
)

// maxFrameSize is the largest size ParseFrameHeader accepts whatever the
// limit: the u64 must fit an int64 (libzmq, like RFC 23's implementations,
// treats the size as signed).
const maxFrameSize = 1<<63 - 1

// ErrShort is returned by ParseFrameHeader when the bytes at hand do not yet
// hold a whole frame header. It is not a protocol error: read more (see
// FrameHeaderLen) and call again.
var ErrShort = errors.New("zmtp: need more bytes")

// FrameHeader is a decoded frame header.
type FrameHeader struct {
	Flags byte   // FlagMore, FlagLong, FlagCommand as received
	Size  uint64 // size of the body that follows
}

// More reports whether another frame of the same message follows.
func (h FrameHeader) More() bool { return h.Flags&FlagMore != 0 }

// Command reports whether the frame is a command.
func (h FrameHeader) Command() bool { return h.Flags&FlagCommand != 0 }

// FrameHeaderLen returns the size of a frame header whose flags byte is
// flags: LongHeaderSize when FlagLong is set, else ShortHeaderSize.
func FrameHeaderLen(flags byte) int {
	if flags&FlagLong != 0 {
		return LongHeaderSize
	}
	return ShortHeaderSize
}

// HeaderLen returns the size of the header AppendFrameHeader writes for a
// body of size bytes.
func HeaderLen(size uint64) int {
	if size > MaxShortSize {
		return LongHeaderSize
	}
	return ShortHeaderSize
}

// AppendFrameHeader appends the header of a frame of size bytes. flags
// carries FlagMore and FlagCommand; FlagLong is set here, exactly when size
// is above MaxShortSize (as libzmq does), whatever flags says.
func AppendFrameHeader(b []byte, flags byte, size uint64) []byte {
	flags &^= FlagLong
	if size > MaxShortSize {
		b = append(b, flags|FlagLong)
		return binary.BigEndian.AppendUint64(b, size)
	}
	return append(b, flags, byte(size))
}

// AppendFrame appends a whole frame: its header, then body.
func AppendFrame(b []byte, flags byte, body []byte) []byte {
	b = AppendFrameHeader(b, flags, uint64(len(body)))
	return append(b, body...)
}

// ParseFrameHeader decodes the frame header at the start of h and returns it
// with the number of bytes it took (2 or 9). When h is too short it returns
// n = 0 and ErrShort (FrameHeaderLen(h[0]) says how many bytes are needed).
// Reserved flag bits, a command with FlagMore and a size of 2^63 or more are
// *wire.ProtocolErrors; a size above limit (when limit is not zero) is a
// *wire.TooLargeError. Nothing is allocated.
func ParseFrameHeader(h []byte, limit uint64) (hdr FrameHeader, n int, err error) {
	if len(h) == 0 {
		return FrameHeader{}, 0, ErrShort
	}
	flags := h[0]
	if flags&^flagsKnown != 0 {
		return FrameHeader{}, 0, protoErr("reserved frame flag bits set (flags 0x%02x)", flags)
	}
	if flags&FlagCommand != 0 && flags&FlagMore != 0 {
		return FrameHeader{}, 0, protoErr("command frame with MORE set (flags 0x%02x)", flags)
	}
	n = FrameHeaderLen(flags)
	if len(h) < n {
		return FrameHeader{}, 0, ErrShort
	}
	var size uint64
	if n == LongHeaderSize {
		size = binary.BigEndian.Uint64(h[1:9])
		if size > maxFrameSize {
			return FrameHeader{}, 0, protoErr("frame size %d is 2^63 or more", size)
		}
	} else {
		size = uint64(h[1])
	}
	if limit != 0 && size > limit {
		return FrameHeader{}, 0, &wire.TooLargeError{Size: size, Limit: limit}
	}
	return FrameHeader{Flags: flags, Size: size}, n, nil
}
