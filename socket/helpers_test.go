package socket_test

import (
	"context"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

// must returns v, or panics with err: for set-up steps that cannot fail in a
// healthy build.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

const timeout = 5 * time.Second

func testCtx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

func closeAll(t testing.TB, ss ...*socket.Socket) {
	t.Cleanup(func() {
		for _, s := range ss {
			s.Close()
		}
	})
}

func send(t testing.TB, s *socket.Socket, body string) {
	t.Helper()
	if err := s.SendContext(testCtx(t), socket.NewMessageBytes([]byte(body))); err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
}

func recv(t testing.TB, s *socket.Socket) string {
	t.Helper()
	m, err := s.RecvContext(testCtx(t))
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	defer m.Free()
	return string(m.Body)
}

// waitFor polls cond until it holds or the test timeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, timeout, cond)
}

func waitPipes(t testing.TB, s *socket.Socket, n int) {
	t.Helper()
	waitFor(t, "pipes", func() bool { return s.Stats().Pipes == n })
}
