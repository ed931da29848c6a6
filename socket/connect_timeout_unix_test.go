//go:build unix

package socket_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// A tcp connect to a listener whose accept queue is full hangs (the
// kernel drops the SYN, and the client sends it again a second later,
// then three): ConnectTimeout cuts it short.
func TestConnectTimeoutTCP(t *testing.T) {
	testutil.CheckGoroutines(t)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}
	// Fill the accept queue: connect until a connect hangs.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr.String(), 300*time.Millisecond)
		if err != nil {
			if i == 0 {
				t.Skipf("no connection to the listener at all: %v", err)
			}
			break
		}
		defer c.Close()
		if i == 8 {
			t.Skip("the accept queue does not fill")
		}
	}
	s, _ := push.New(socket.ConnectTimeout(100*time.Millisecond), socket.ReconnectInterval(time.Hour))
	defer s.Close()
	ev := s.Events(16)
	// Left to the system, the attempt would take about two minutes: an
	// ErrTimeout within the test's five seconds is ConnectTimeout's.
	if _, err := s.Dial("tcp://" + addr.String()); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-ev:
		if e.Type != socket.EventDialFailed || !errors.Is(e.Err, socket.ErrTimeout) {
			t.Fatalf("event %v: %v", e.Type, e.Err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the attempt did not time out")
	}
}
