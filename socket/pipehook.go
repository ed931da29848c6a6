package socket

import (
	"errors"
	"strconv"
)

// PipeHookEvent is a point in a pipe's life at which a PipeHook runs.
type PipeHookEvent int

// The points at which a PipeHook runs, in this order for each pipe.
const (
	// PipeAdding: the handshake is done and the pattern has not seen the
	// pipe yet. Closing the pipe in the hook refuses it: the socket
	// never uses it (a dialer tries again after its reconnect wait).
	PipeAdding PipeHookEvent = iota + 1
	// PipeAdded: the pattern has the pipe; nothing has been read from it.
	PipeAdded
	// PipeRemoved: the pipe has closed and the pattern has let it go, or
	// it was refused (by the hook or the pattern) after PipeAdding. Every
	// PipeAdding has its PipeRemoved.
	PipeRemoved
)

// String names the point ("adding", "added", "removed").
func (e PipeHookEvent) String() string {
	switch e {
	case PipeAdding:
		return "adding"
	case PipeAdded:
		return "added"
	case PipeRemoved:
		return "removed"
	}
	return "pipe hook event " + strconv.Itoa(int(e))
}

// ErrPipeRefused is the error of a pipe that a PipeHook closed while it
// was being added, when the hook gave no cause of its own.
var ErrPipeRefused = errors.New("mqwire: pipe refused by the pipe hook")

// PipeHook makes the socket call h at three points of every pipe's life
// (nng's nng_pipe_notify, mangos's pipe event hook): PipeAdding, PipeAdded
// and PipeRemoved. Unlike Events, which may lose events to a watcher that
// falls behind, the hook runs synchronously, on the goroutine handling the
// pipe, so it sees every pipe and can refuse one (Pipe.Close in
// PipeAdding). The pipe waits while h runs: h must not block for long, and
// must not close the socket. nil removes the hook; the hook applies to
// pipes added after it is set.
func PipeHook(h func(PipeHookEvent, *Pipe)) Option {
	return NewOption("PipeHook", func(s *Socket) error {
		if h == nil {
			s.pipeHook.Store(nil)
		} else {
			s.pipeHook.Store(&h)
		}
		return nil
	})
}

// callPipeHook runs the socket's pipe hook, if it has one, for p at ev. It
// reports false when the hook closed p.
func (s *Socket) callPipeHook(ev PipeHookEvent, p *Pipe) bool {
	h := s.pipeHook.Load()
	if h == nil {
		return true
	}
	(*h)(ev, p)
	return !p.closing.Load()
}

// URL returns the address of the dialer that made the pipe or of the
// listener that accepted it.
func (p *Pipe) URL() string { return p.url }

// Dialed reports whether the pipe was made by a dialer (rather than
// accepted by a listener).
func (p *Pipe) Dialed() bool { return p.dialed }

// LocalAddr returns the pipe's local address as the transport gives it
// ("127.0.0.1:5555", a path, ...), or "" when it has none.
func (p *Pipe) LocalAddr() string { return p.local }

// RemoteAddr returns the peer's address as the transport gives it, or ""
// when it has none.
func (p *Pipe) RemoteAddr() string { return p.remote }
