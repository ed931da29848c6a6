//go:build linux

package socket_test

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// sockopt reads an integer socket option of c's descriptor.
func sockopt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no descriptor", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// ipcSendBuffer is the send buffer ipc connections ask for by default.
const ipcSendBuffer = 512 << 10

// An ipc connection asks for a larger send buffer than the system's
// default, so that a large message goes in few writes, unless SendBuffer
// says otherwise (TestConnOptions); Linux caps it at net.core.wmem_max.
func TestIPCSendBufferDefault(t *testing.T) {
	testutil.CheckGoroutines(t)
	raw, err := os.ReadFile("/proc/sys/net/core/wmem_max")
	if err != nil {
		t.Skipf("no wmem_max to check against: %v", err)
	}
	wmemMax, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	q := must(pull.New())
	p := must(push.New())
	closeAll(t, p, q)
	must(p.Dial(must(q.Listen(testutil.URL(t, "ipc"))).URL()))
	waitPipes(t, q, 1)
	waitPipes(t, p, 1)
	want := 2 * min(ipcSendBuffer, wmemMax) // Linux doubles what it is given
	for _, s := range []*socket.Socket{p, q} {
		if got := sockopt(t, socket.StreamConn(s), unix.SOL_SOCKET, unix.SO_SNDBUF); got != want {
			t.Errorf("SO_SNDBUF %d, want %d", got, want)
		}
	}
}

// The kernel buffer sizes and TCP keep-alive settings reach the
// connections of both the dialing and the listening socket.
func TestConnOptions(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			opts := []socket.Option{socket.SendBuffer(96 << 10), socket.RecvBuffer(80 << 10)}
			if tr == "tcp" {
				opts = append(opts, socket.TCPKeepAlive(net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}), socket.TOS(0x28),
					socket.TCPMaxRetransmitTime(2500*time.Millisecond))
			}
			q := must(pull.New(opts...))
			p := must(push.New(opts...))
			closeAll(t, p, q)
			must(p.Dial(must(q.Listen(testutil.URL(t, tr))).URL()))
			waitPipes(t, q, 1)
			waitPipes(t, p, 1)
			for _, s := range []*socket.Socket{p, q} {
				c := socket.StreamConn(s)
				// Linux doubles what it is given.
				if got := sockopt(t, c, unix.SOL_SOCKET, unix.SO_SNDBUF); got < 96<<10 || got >= 2*ipcSendBuffer {
					t.Errorf("SO_SNDBUF %d, want at least %d and less than ipc's default", got, 96<<10)
				}
				if got := sockopt(t, c, unix.SOL_SOCKET, unix.SO_RCVBUF); got < 80<<10 {
					t.Errorf("SO_RCVBUF %d, want at least %d", got, 80<<10)
				}
				if tr != "tcp" {
					continue
				}
				for _, o := range []struct {
					name       string
					level, opt int
					want       int
				}{
					{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
					{"TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 30},
					{"TCP_KEEPINTVL", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 5},
					{"TCP_KEEPCNT", unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 3},
					{"IP_TOS", unix.IPPROTO_IP, unix.IP_TOS, 0x28},
					{"TCP_USER_TIMEOUT", unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 2500},
				} {
					if got := sockopt(t, c, o.level, o.opt); got != o.want {
						t.Errorf("%s %d, want %d", o.name, got, o.want)
					}
				}
			}
		})
	}
	s := must(push.New())
	defer s.Close()
	for _, o := range []socket.Option{
		socket.SendBuffer(-1), socket.RecvBuffer(1<<30 + 1),
		socket.TCPKeepAlive(net.KeepAliveConfig{Enable: true, Idle: time.Millisecond}),
		socket.TCPKeepAlive(net.KeepAliveConfig{Count: -2}),
		socket.TOS(256), socket.TOS(-1),
		socket.TCPMaxRetransmitTime(-time.Second), socket.TCPMaxRetransmitTime(time.Microsecond),
		socket.TCPMaxRetransmitTime(30 * 24 * time.Hour),
	} {
		if err := s.SetOption(o); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("%v: %v, want ErrBadOption", o, err)
		}
	}
}
