package zmtp

import (
	"bytes"
	"fmt"
)

// Command names.
const (
	CmdReady     = "READY"     // NULL, PLAIN, CURVE: metadata
	CmdError     = "ERROR"     // a refused handshake, with a reason
	CmdSubscribe = "SUBSCRIBE" // ZMTP 3.1: the data is the topic
	CmdCancel    = "CANCEL"    // ZMTP 3.1: the data is the topic
	CmdPing      = "PING"      // ZMTP 3.1 heartbeat: TTL and context
	CmdPong      = "PONG"      // ZMTP 3.1 heartbeat: the PING's context
	CmdHello     = "HELLO"     // PLAIN (and CURVE) client's first command
	CmdWelcome   = "WELCOME"   // PLAIN (and CURVE) server's answer to HELLO
	CmdInitiate  = "INITIATE"  // PLAIN (and CURVE) client's metadata
)

// MaxNameLen is the longest command or property name: its length is one byte.
const MaxNameLen = 255

// checkCommandName panics on a name the wire cannot carry: encoders only
// ever get constants.
func checkCommandName(name string) {
	if len(name) == 0 || len(name) > MaxNameLen {
		panic(fmt.Sprintf("zmtp: command name of %d bytes", len(name)))
	}
	for i := 0; i < len(name); i++ {
		if !isLetter(name[i]) {
			panic(fmt.Sprintf("zmtp: command name %q is not ASCII letters", name))
		}
	}
}

func isLetter(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }

// appendCommandHeader appends the frame header of a command whose data will
// be dataLen bytes, then the command's name; the caller appends the data.
func appendCommandHeader(b []byte, name string, dataLen int) []byte {
	checkCommandName(name)
	b = AppendFrameHeader(b, FlagCommand, uint64(1+len(name)+dataLen))
	b = append(b, byte(len(name)))
	return append(b, name...)
}

// AppendCommand appends a whole command frame: the frame header (with
// FlagCommand), the name length, name and data. A name that is empty, longer
// than 255 bytes or not made of ASCII letters panics.
//
// The command's body (what ParseCommand takes, and what CURVE puts inside
// its MESSAGE box) is the frame without its header:
// frame[FrameHeaderLen(frame[0]):]. The same holds for every Append function
// of a specific command.
func AppendCommand(b []byte, name string, data []byte) []byte {
	b = appendCommandHeader(b, name, len(data))
	return append(b, data...)
}

// ParseCommand splits a command frame's body into its name and data, both
// views into body. A body with no name, a name length of zero, a name longer
// than the body or a name that is not ASCII letters is a *wire.ProtocolError.
//
// One malformed command is accepted: the ERROR of libzmq's PLAIN server (see
// AppendErrorLibzmqPLAIN), whose body starts with 5E 'R' 'R' 'O' 'R'
// instead of 05 'E' 'R' 'R' 'O' 'R'. When a body starts that way and does
// not parse as a command, ParseCommand returns the name "ERROR" (a fresh
// copy) and the bytes after that 5-byte prefix as data.
func ParseCommand(body []byte) (name, data []byte, err error) {
	name, data, err = parseCommand(body)
	if err != nil && bytes.HasPrefix(body, libzmqPlainErrorPrefix) {
		return []byte(CmdError), body[len(libzmqPlainErrorPrefix):], nil
	}
	return name, data, err
}

func parseCommand(body []byte) (name, data []byte, err error) {
	if len(body) == 0 {
		return nil, nil, protoErr("empty command")
	}
	n := int(body[0])
	if n == 0 {
		return nil, nil, protoErr("command name of length 0")
	}
	if len(body)-1 < n {
		return nil, nil, protoErr("command name of %d bytes in a command of %d", n, len(body))
	}
	name = body[1 : 1+n]
	for _, c := range name {
		if !isLetter(c) {
			return nil, nil, protoErr("command name %q is not ASCII letters", name)
		}
	}
	return name, body[1+n:], nil
}

// expectCommand parses body and checks that it is the command want,
// returning its data.
func expectCommand(body []byte, want string) ([]byte, error) {
	name, data, err := ParseCommand(body)
	if err != nil {
		return nil, err
	}
	if string(name) != want {
		return nil, protoErr("expected command %s, got %q", want, name)
	}
	return data, nil
}

// AppendReady appends a READY command carrying props as metadata. A NULL
// socket sends it right after the greeting; libzmq sends Socket-Type always
// and Identity for REQ, DEALER and ROUTER.
func AppendReady(b []byte, props ...Property) []byte {
	b = appendCommandHeader(b, CmdReady, MetadataLen(props))
	return AppendMetadata(b, props...)
}

// ParseReady parses the body of a READY command and returns its metadata,
// whose values are views into body.
func ParseReady(body []byte) (Metadata, error) {
	data, err := expectCommand(body, CmdReady)
	if err != nil {
		return nil, err
	}
	return ParseProperties(data)
}

// MaxReasonLen is the longest ERROR reason: its length is one byte.
const MaxReasonLen = 255

// AppendError appends an ERROR command with reason, cut to MaxReasonLen
// bytes. libzmq sends the 3-digit ZAP status code ("400") as the reason.
func AppendError(b []byte, reason string) []byte {
	if len(reason) > MaxReasonLen {
		reason = reason[:MaxReasonLen]
	}
	b = appendCommandHeader(b, CmdError, 1+len(reason))
	b = append(b, byte(len(reason)))
	return append(b, reason...)
}

// libzmqPlainErrorPrefix is how libzmq (4.2 to 4.3.4 at least) starts the
// ERROR command of its PLAIN mechanism: its C source spells the prefix
// "\x05ERROR", and a C hex escape takes every hex digit that follows, so the
// E is swallowed into the length byte (0x5E) and the prefix is 5 bytes long.
// Its NULL and CURVE mechanisms spell it "\5ERROR" (octal) and are right.
var libzmqPlainErrorPrefix = []byte{0x5E, 'R', 'R', 'O', 'R'}

// AppendErrorLibzmqPLAIN appends an ERROR command in the malformed shape
// libzmq's PLAIN server sends and libzmq's PLAIN client expects: body 5E 'R'
// 'R' 'O' 'R', then the reason length and the reason (cut to MaxReasonLen
// bytes). A libzmq 4.3.4 PLAIN client that gets it reports an authentication
// failure (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH with the reason as status code);
// given a well-formed ERROR (AppendError) it reports a protocol error
// (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, unexpected command). Either way it
// drops the connection. Other implementations expect AppendError's form.
func AppendErrorLibzmqPLAIN(b []byte, reason string) []byte {
	if len(reason) > MaxReasonLen {
		reason = reason[:MaxReasonLen]
	}
	b = AppendFrameHeader(b, FlagCommand, uint64(len(libzmqPlainErrorPrefix)+1+len(reason)))
	b = append(b, libzmqPlainErrorPrefix...)
	b = append(b, byte(len(reason)))
	return append(b, reason...)
}

// ParseError parses the body of an ERROR command and returns the reason (a
// view into body). The reason must fit in the command, and nothing may
// follow it. It accepts libzmq's malformed PLAIN ERROR too (see
// ParseCommand).
func ParseError(body []byte) (reason []byte, err error) {
	data, err := expectCommand(body, CmdError)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, protoErr("ERROR without a reason length")
	}
	n := int(data[0])
	if len(data)-1 != n {
		return nil, protoErr("ERROR reason of %d bytes in %d bytes of data", n, len(data)-1)
	}
	return data[1:], nil
}

// AppendSubscribe appends a ZMTP 3.1 SUBSCRIBE command for topic (a prefix;
// empty subscribes to everything). To a ZMTP 3.0 peer send
// AppendSubscription instead.
func AppendSubscribe(b []byte, topic []byte) []byte {
	return AppendCommand(b, CmdSubscribe, topic)
}

// ParseSubscribe parses the body of a SUBSCRIBE command and returns the
// topic, a view into body.
func ParseSubscribe(body []byte) (topic []byte, err error) {
	return expectCommand(body, CmdSubscribe)
}

// AppendCancel appends a ZMTP 3.1 CANCEL command for topic.
func AppendCancel(b []byte, topic []byte) []byte {
	return AppendCommand(b, CmdCancel, topic)
}

// ParseCancel parses the body of a CANCEL command and returns the topic, a
// view into body.
func ParseCancel(body []byte) (topic []byte, err error) {
	return expectCommand(body, CmdCancel)
}
