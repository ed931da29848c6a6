package socket

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestTurnSource: while the holder of the read turn reads a message too
// large for the buffer, a read cut short by a deadline in the past is
// tried again (the message must not be abandoned half read); otherwise the
// cut reaches the holder, who looks at why.
func TestTurnSource(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	p := &Pipe{conn: a}
	src := turnSource{p}
	buf := make([]byte, 8)

	a.SetReadDeadline(aLongTimeAgo)
	if _, err := src.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read cut short: %v, want a deadline error", err)
	}

	p.readingLarge = true
	a.SetReadDeadline(aLongTimeAgo)
	go func() {
		time.Sleep(20 * time.Millisecond)
		b.Write([]byte("rest"))
	}()
	n, err := src.Read(buf)
	if err != nil || string(buf[:n]) != "rest" {
		t.Fatalf("inside a large message: %q, %v; want the rest of it", buf[:n], err)
	}
}
