package zmtp

import "time"

// MaxPingContext is the largest PING context ZMTP 3.1 allows.
const MaxPingContext = 16

// PingTTL converts d to a PING TTL in tenths of a second, rounding down and
// capping at the largest value the u16 field holds (6553.5 s). A negative d
// gives 0 (no TTL).
func PingTTL(d time.Duration) uint16 {
	if d <= 0 {
		return 0
	}
	t := d / (100 * time.Millisecond)
	if t > 0xFFFF {
		return 0xFFFF
	}
	return uint16(t)
}

// PingTTLDuration converts a PING TTL in tenths of a second to a duration.
// Zero means the sender asks for no timeout.
func PingTTLDuration(ttl uint16) time.Duration {
	return time.Duration(ttl) * 100 * time.Millisecond
}

// AppendPing appends a PING command: ttl (in tenths of a second; see
// PingTTL) tells the peer to close the connection if nothing arrives from us
// for that long, and context (cut to MaxPingContext bytes) comes back in the
// PONG. libzmq sends no context.
func AppendPing(b []byte, ttl uint16, context []byte) []byte {
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext]
	}
	b = appendCommandHeader(b, CmdPing, 2+len(context))
	b = append(b, byte(ttl>>8), byte(ttl))
	return append(b, context...)
}

// ParsePing parses the body of a PING command: the TTL (in tenths of a
// second) and the context, a view into body. A PING without its 2-byte TTL
// or with more than MaxPingContext bytes of context is a
// *wire.ProtocolError.
func ParsePing(body []byte) (ttl uint16, context []byte, err error) {
	data, err := expectCommand(body, CmdPing)
	if err != nil {
		return 0, nil, err
	}
	if len(data) < 2 {
		return 0, nil, protoErr("PING of %d bytes has no TTL", len(data))
	}
	if len(data)-2 > MaxPingContext {
		return 0, nil, protoErr("PING context of %d bytes, at most %d allowed", len(data)-2, MaxPingContext)
	}
	return uint16(data[0])<<8 | uint16(data[1]), data[2:], nil
}

// AppendPong appends a PONG command echoing context (cut to MaxPingContext
// bytes), the context of the PING it answers.
func AppendPong(b []byte, context []byte) []byte {
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext]
	}
	return AppendCommand(b, CmdPong, context)
}

// ParsePong parses the body of a PONG command and returns its context, a
// view into body; more than MaxPingContext bytes is a *wire.ProtocolError.
func ParsePong(body []byte) (context []byte, err error) {
	data, err := expectCommand(body, CmdPong)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxPingContext {
		return nil, protoErr("PONG context of %d bytes, at most %d allowed", len(data), MaxPingContext)
	}
	return data, nil
}
