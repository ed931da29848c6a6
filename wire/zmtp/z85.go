package zmtp

import (
	"errors"
	"fmt"
)

// Z85 (ZeroMQ RFC 32) is how ZeroMQ writes binary keys as text: each 4 bytes
// become 5 printable characters. CURVE keys are 32 bytes, so 40 characters.

const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

// z85Value maps a character to its digit plus one (0: not in the alphabet).
var z85Value = func() (v [256]byte) {
	for i := 0; i < len(z85Alphabet); i++ {
		v[z85Alphabet[i]] = byte(i + 1)
	}
	return v
}()

// ErrZ85 is the error for text that is not Z85 or bytes Z85 cannot encode.
var ErrZ85 = errors.New("zmtp: bad Z85")

// Z85Encode returns b in Z85. Its length must be a multiple of 4.
func Z85Encode(b []byte) (string, error) {
	if len(b)%4 != 0 {
		return "", fmt.Errorf("%w: %d bytes is not a multiple of 4", ErrZ85, len(b))
	}
	out := make([]byte, 0, len(b)/4*5)
	for i := 0; i < len(b); i += 4 {
		v := uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
		var d [5]byte
		for k := 4; k >= 0; k-- {
			d[k] = z85Alphabet[v%85]
			v /= 85
		}
		out = append(out, d[:]...)
	}
	return string(out), nil
}

// Z85Decode returns the bytes s encodes. Its length must be a multiple of 5,
// and every group of 5 must stand for a 32-bit value.
func Z85Decode(s string) ([]byte, error) {
	if len(s)%5 != 0 {
		return nil, fmt.Errorf("%w: %d characters is not a multiple of 5", ErrZ85, len(s))
	}
	out := make([]byte, 0, len(s)/5*4)
	for i := 0; i < len(s); i += 5 {
		var v uint64
		for k := range 5 {
			d := z85Value[s[i+k]]
			if d == 0 {
				return nil, fmt.Errorf("%w: %q at %d is not a Z85 character", ErrZ85, s[i+k], i+k)
			}
			v = v*85 + uint64(d-1)
		}
		if v > 0xFFFFFFFF {
			return nil, fmt.Errorf("%w: %q is out of range", ErrZ85, s[i:i+5])
		}
		out = append(out, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return out, nil
}
