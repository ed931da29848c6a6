package main

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/inproc"
)

// errnoNames holds the text nngcat prints for the system errors a socket
// call can meet (nng maps errno values to its own codes, then to text).
var errnoNames = map[syscall.Errno]string{
	syscall.EINTR:           "Interrupted",
	syscall.EINVAL:          "Invalid argument",
	syscall.ENAMETOOLONG:    "Invalid argument",
	syscall.ENOMEM:          "Out of memory",
	syscall.ENOBUFS:         "Out of memory",
	syscall.EACCES:          "Permission denied",
	syscall.EPERM:           "Permission denied",
	syscall.EADDRINUSE:      "Address in use",
	syscall.EADDRNOTAVAIL:   "Address invalid",
	syscall.EAFNOSUPPORT:    "Not supported",
	syscall.ENOPROTOOPT:     "Not supported",
	syscall.ENOSYS:          "Not supported",
	syscall.ENOTSUP:         "Not supported",
	syscall.EPROTONOSUPPORT: "Not supported",
	syscall.EAGAIN:          "Try again",
	syscall.EBADF:           "Object closed",
	syscall.EPIPE:           "Object closed",
	syscall.EBUSY:           "Resource busy",
	syscall.ECONNABORTED:    "Connection aborted",
	syscall.ECONNREFUSED:    "Connection refused",
	syscall.ECONNRESET:      "Connection reset",
	syscall.EHOSTUNREACH:    "Destination unreachable",
	syscall.ENETUNREACH:     "Destination unreachable",
	syscall.ENOENT:          "Entry not found",
	syscall.EPROTO:          "Protocol error",
	syscall.ETIMEDOUT:       "Timed out",
	syscall.ENOSPC:          "Out of space",
	syscall.EFBIG:           "Out of space",
	syscall.EDQUOT:          "Out of space",
	syscall.ENFILE:          "Out of files",
	syscall.EMFILE:          "Out of files",
	syscall.EEXIST:          "Resource already exists",
}

// errText turns an error from mqwire or the system into the words nngcat
// uses for the same failure ("Connection refused", "Timed out", ...).
// dialing says the error came from a dial: a missing IPC socket file is
// then a refused connection, as nng reports it.
func errText(err error, dialing bool) string {
	var errno syscall.Errno
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
	case errors.As(err, &errno):
		if dialing && errno == syscall.ENOENT {
			return "Connection refused"
		}
		if s, ok := errnoNames[errno]; ok {
			return s
		}
		return errnoText(err)
	}
	return err.Error()
}
