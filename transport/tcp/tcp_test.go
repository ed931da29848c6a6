package tcp_test

import (
	"errors"
	"testing"

	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/socket"
)

// TestURLChecks: an address that can never work fails Dial or Listen at
// once with ErrBadURL, rather than being retried in the background.
func TestURLChecks(t *testing.T) {
	s, err := pair.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bad := []struct {
		op, url string
	}{
		{"dial", "tcp://*:5555"}, // a wildcard is for listening
		{"dial", "tcp://127.0.0.1"},
		{"dial", "tcp4://*:1"},
		{"listen", "tcp://127.0.0.1"},
		{"listen", "tcp://[::1"},
		{"dial", "nosuch://127.0.0.1:5555"},
		{"dial", "127.0.0.1:5555"},
		{"listen", "://x"},
	}
	for _, c := range bad {
		if c.op == "dial" {
			_, err = s.Dial(c.url)
		} else {
			_, err = s.Listen(c.url)
		}
		if !errors.Is(err, socket.ErrBadURL) {
			t.Errorf("%s %q: %v, want ErrBadURL", c.op, c.url, err)
		}
	}
	for _, url := range []string{"tcp://*:0", "tcp://:0", "tcp://127.0.0.1:0"} {
		l, err := s.Listen(url)
		if err != nil {
			t.Errorf("listen %q: %v", url, err)
			continue
		}
		l.Close()
	}
}
