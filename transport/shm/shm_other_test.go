//go:build !linux

package shm_test

import (
	"errors"
	"testing"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/socket"
)

func TestNotSupported(t *testing.T) {
	s, err := pull.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Listen("shm://x.sock"); !errors.Is(err, socket.ErrNotSupported) {
		t.Fatalf("listen: %v, want ErrNotSupported", err)
	}
	if _, err := s.Dial("shm://x.sock"); !errors.Is(err, socket.ErrNotSupported) {
		t.Fatalf("dial: %v, want ErrNotSupported", err)
	}
}
