// Package socktest holds test helpers that need a socket; package testutil
// cannot import package socket, whose own tests import it.
package socktest

import (
	"testing"
	"time"

	"github.com/mqwire/mqwire/socket"
)

// Must returns a function for wrapping a socket constructor's results: it
// fails t on the error, and closes the socket when t ends.
func Must(t testing.TB) func(*socket.Socket, error) *socket.Socket {
	return func(s *socket.Socket, err error) *socket.Socket {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// WaitPipes waits until s has at least n pipes connected and taken by its
// pattern, and fails the test if that takes more than ten seconds.
func WaitPipes(t testing.TB, s *socket.Socket, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Pipes < n {
		if time.Now().After(deadline) {
			t.Fatalf("mqwire %s: %d pipes, want %d", s.Info().Name, s.Stats().Pipes, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// WaitEvent waits for an event of type typ on ev, passing over others, and
// returns it; it fails the test if none comes within ten seconds.
func WaitEvent(t testing.TB, ev <-chan socket.Event, typ socket.EventType) socket.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.Type == typ {
				return e
			}
		case <-deadline:
			t.Fatalf("no %v event", typ)
		}
	}
}
