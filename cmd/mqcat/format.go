package main

// format says how a received message is written to standard output.
type format int

const (
	// formatUnset is nngcat's default: received messages are not printed.
	formatUnset   format = iota
	formatNo             // --format no: nothing printed
	formatRaw            // the bytes as they are, no delimiter
	formatASCII          // printable ASCII as is, other bytes as '.', no delimiter
	formatQuoted         // a C string literal and a newline
	formatMsgpack        // a MessagePack bin 8/16/32 object
	formatHex            // a C string literal of \xNN escapes and a newline
)

// formatNames maps the values --format accepts.
var formatNames = map[string]format{
	"no":      formatNo,
	"ascii":   formatASCII,
	"hex":     formatHex,
	"quoted":  formatQuoted,
	"raw":     formatRaw,
	"msgpack": formatMsgpack,
}

const hexDigits = "0123456789abcdef"

// printable reports whether b is printable in the C locale (isprint).
func printable(b byte) bool { return b >= 0x20 && b < 0x7f }

// appendHexEscape appends \xNN with two lower-case digits.
func appendHexEscape(dst []byte, b byte) []byte {
	return append(dst, '\\', 'x', hexDigits[b>>4], hexDigits[b&0xf])
}

// appendMessage appends body to dst as f prints it, byte for byte what
// nngcat 1.5.2 writes for the same message.
func appendMessage(dst, body []byte, f format) []byte {
	switch f {
	case formatRaw:
		dst = append(dst, body...)
	case formatASCII:
		for _, b := range body {
			if !printable(b) {
				b = '.'
			}
			dst = append(dst, b)
		}
	case formatQuoted:
		dst = append(dst, '"')
		for _, b := range body {
			switch b {
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '"', '\\':
				dst = append(dst, '\\', b)
			default:
				if printable(b) {
					dst = append(dst, b)
				} else {
					dst = appendHexEscape(dst, b)
				}
			}
		}
		dst = append(dst, '"', '\n')
	case formatMsgpack:
		n := len(body)
		switch {
		case n < 1<<8:
			dst = append(dst, 0xc4, byte(n))
		case n < 1<<16:
			dst = append(dst, 0xc5, byte(n>>8), byte(n))
		default:
			// bin 32; nngcat writes the low 32 bits of the length.
			dst = append(dst, 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		dst = append(dst, body...)
	case formatHex:
		dst = append(dst, '"')
		for _, b := range body {
			dst = appendHexEscape(dst, b)
		}
		dst = append(dst, '"', '\n')
	}
	return dst
}
