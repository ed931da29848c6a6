package zmtp

import "fmt"

// MaxCredentialLen is the longest PLAIN user name or password: each length
// is one byte.
const MaxCredentialLen = 255

// CheckCredential reports whether s can travel as a PLAIN user name or
// password (at most MaxCredentialLen bytes). The socket layer calls it when
// the option is set; AppendHello panics on what it would refuse.
func CheckCredential(s string) error {
	if len(s) > MaxCredentialLen {
		return fmt.Errorf("zmtp: PLAIN credential of %d bytes, at most %d allowed", len(s), MaxCredentialLen)
	}
	return nil
}

// AppendHello appends a PLAIN HELLO command: the client's user name and
// password, in clear. Either longer than MaxCredentialLen panics.
func AppendHello(b []byte, user, password string) []byte {
	if CheckCredential(user) != nil || CheckCredential(password) != nil {
		panic(fmt.Sprintf("zmtp: PLAIN credentials of %d and %d bytes", len(user), len(password)))
	}
	b = appendCommandHeader(b, CmdHello, 2+len(user)+len(password))
	b = append(b, byte(len(user)))
	b = append(b, user...)
	b = append(b, byte(len(password)))
	return append(b, password...)
}

// ParseHello parses the body of a PLAIN HELLO command and returns the user
// name and password, views into body. Lengths that overrun the command, or
// bytes after the password, are a *wire.ProtocolError (libzmq refuses them
// too).
func ParseHello(body []byte) (user, password []byte, err error) {
	data, err := expectCommand(body, CmdHello)
	if err != nil {
		return nil, nil, err
	}
	user, data, ok := cutShortString(data)
	if !ok {
		return nil, nil, protoErr("HELLO user name overruns the command")
	}
	password, data, ok = cutShortString(data)
	if !ok {
		return nil, nil, protoErr("HELLO password overruns the command")
	}
	if len(data) != 0 {
		return nil, nil, protoErr("%d bytes after the HELLO password", len(data))
	}
	return user, password, nil
}

// cutShortString splits a u8 length and that many bytes off the front of b.
func cutShortString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || len(b)-1 < int(b[0]) {
		return nil, nil, false
	}
	n := 1 + int(b[0])
	return b[1:n], b[n:], true
}

// AppendWelcome appends a PLAIN WELCOME command, which has no data.
func AppendWelcome(b []byte) []byte {
	return AppendCommand(b, CmdWelcome, nil)
}

// ParseWelcome checks the body of a PLAIN WELCOME command, which must carry
// no data (libzmq checks its exact size).
func ParseWelcome(body []byte) error {
	data, err := expectCommand(body, CmdWelcome)
	if err != nil {
		return err
	}
	if len(data) != 0 {
		return protoErr("WELCOME with %d bytes of data", len(data))
	}
	return nil
}

// AppendInitiate appends a PLAIN INITIATE command carrying the client's
// metadata (the same properties a NULL READY carries).
func AppendInitiate(b []byte, props ...Property) []byte {
	b = appendCommandHeader(b, CmdInitiate, MetadataLen(props))
	return AppendMetadata(b, props...)
}

// ParseInitiate parses the body of a PLAIN INITIATE command and returns its
// metadata, whose values are views into body.
func ParseInitiate(body []byte) (Metadata, error) {
	data, err := expectCommand(body, CmdInitiate)
	if err != nil {
		return nil, err
	}
	return ParseProperties(data)
}
