//go:build !plan9

package main

import (
	"errors"
	"syscall"
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

// sysErrText is nngcat's text for the system error inside err, if there
// is one. dialing: a missing IPC socket file is a refused connection.
func sysErrText(err error, dialing bool) (string, bool) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return "", false
	}
	if dialing && errno == syscall.ENOENT {
		return "Connection refused", true
	}
	if s, ok := errnoNames[errno]; ok {
		return s, true
	}
	return errnoText(err), true
}

// errnoText is the C library's text for the system error inside err
// ("No such file or directory"), or err's own text.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" && s[0] >= 'a' && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	}
	return err.Error()
}
