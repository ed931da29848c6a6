// Package socktest holds test helpers that need a socket; package testutil
// cannot import package socket, whose own tests import it.
package socktest

import (
	"testing"
	"time"

	"github.com/mqwire/mqwire/socket"
)

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
