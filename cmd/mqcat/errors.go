package main

import (
	"errors"
	"io"
	"net"
	"os"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/inproc"
)

// errText turns an error from mqwire or the system into the words nngcat
// uses for the same failure ("Connection refused", "Timed out", ...).
// dialing says the error came from a dial: a missing IPC socket file is
// then a refused connection, as nng reports it.
func errText(err error, dialing bool) string {
	var dnsErr *net.DNSError
	var addrErr *net.AddrError
	switch {
	case errors.Is(err, socket.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded):
		return "Timed out"
	case errors.Is(err, socket.ErrAddrInUse):
		return "Address in use"
	case errors.Is(err, inproc.ErrRefused):
		return "Connection refused"
	case errors.Is(err, socket.ErrClosed):
		return "Object closed"
	case errors.Is(err, socket.ErrBadState):
		return "Incorrect state"
	case errors.Is(err, socket.ErrTooLarge):
		return "Message too large"
	case errors.Is(err, socket.ErrProtocol), errors.Is(err, socket.ErrPeerMismatch):
		return "Protocol error"
	case errors.Is(err, socket.ErrAuth):
		return "Peer could not be authenticated"
	case errors.Is(err, socket.ErrNotSupported):
		return "Not supported"
	case errors.Is(err, socket.ErrBadURL), errors.As(err, &dnsErr), errors.As(err, &addrErr):
		return "Address invalid"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "Connection shutdown"
	}
	if s, ok := sysErrText(err, dialing); ok {
		return s
	}
	return err.Error()
}
