// Package wire holds what every dialect codec shares: the typed errors that a
// codec reports when a peer breaks the protocol. The codecs themselves live in
// sub-packages (wire/sp today, wire/zmtp next).
package wire

import (
	"errors"
	"fmt"
)

// ErrProtocol matches (with errors.Is) every protocol violation a codec
// reports: a bad connection header, a wrong peer protocol, a malformed frame.
var ErrProtocol = errors.New("protocol violation")

// ErrTooLarge matches (with errors.Is) a message or frame whose announced size
// is above the receive limit. The codec reports it before allocating anything.
var ErrTooLarge = errors.New("message too large")

// ProtocolError describes one protocol violation by a peer. It matches
// ErrProtocol with errors.Is.
type ProtocolError struct {
	Dialect string // "sp" or "zmtp"
	Reason  string // what was wrong, in a few words
}

// Error names the dialect and what the peer got wrong.
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("%s: protocol violation: %s", e.Dialect, e.Reason)
}

// Is reports whether target is ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// TooLargeError reports an announced size above the limit. It matches
// ErrTooLarge and ErrProtocol with errors.Is: a peer that announces more than
// we accept has broken the contract of the connection.
type TooLargeError struct {
	Size  uint64 // what the peer announced
	Limit uint64 // what we accept
}

// Error gives the announced size and the limit it passed.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("message of %d bytes is above the limit of %d", e.Size, e.Limit)
}

// Is reports whether target is ErrTooLarge or ErrProtocol.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge || target == ErrProtocol }
