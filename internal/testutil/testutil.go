// Package testutil holds helpers shared by mqwire's tests: goroutine leak
// checks, fresh addresses for every transport, and the rule that decides
// whether a missing interop peer skips or fails a test.
package testutil

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// CheckGoroutines fails t if, once the test's cleanups have run, more
// goroutines are alive than when it was called (waiting up to 5 s for them
// to end).
func CheckGoroutines(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines left after the test (started with %d):\n%s", n, before, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

var seq atomic.Int64

// URL returns a fresh address for transport (inproc, ipc or tcp); tcp uses
// port 0, so read the bound address from the listener.
func URL(t testing.TB, transport string) string {
	n := seq.Add(1)
	switch transport {
	case "inproc":
		return fmt.Sprintf("inproc://test-%d-%d", os.Getpid(), n)
	case "ipc":
		return "ipc://" + filepath.Join(ShortTempDir(t), fmt.Sprintf("s%d.sock", n))
	case "tcp":
		return "tcp://127.0.0.1:0"
	case "ws":
		return "ws://127.0.0.1:0/test"
	case "tls+tcp": // the sockets need TLS configurations (NewTLSCerts), as for wss
		return "tls+tcp://127.0.0.1:0"
	case "wss":
		return "wss://127.0.0.1:0/test"
	case "shm": // Linux only: elsewhere Listen fails with socket.ErrNotSupported
		return "shm://" + filepath.Join(ShortTempDir(t), fmt.Sprintf("m%d.sock", n))
	}
	t.Fatalf("unknown transport %q", transport)
	return ""
}

// ShortTempDir returns a temporary directory with a short path: Unix socket
// paths are limited to about 100 bytes, and t.TempDir's can be longer.
func ShortTempDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "mq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Transports lists the transports every pattern test runs over.
var Transports = []string{"inproc", "ipc", "tcp"}

// SPTransports adds ws, which the tests of SP patterns also run over.
var SPTransports = append(Transports[:len(Transports):len(Transports)], "ws")

// RequireInterop reports whether interop tests must run: under the README's
// test command (MQWIRE_INTEROP=1) a missing peer fails the test; under a
// plain go test it skips, saying why.
func RequireInterop() bool { return os.Getenv("MQWIRE_INTEROP") == "1" }

// NeedPeer fails (under MQWIRE_INTEROP=1) or skips t because the peer named
// by what is missing, with the reason why.
func NeedPeer(t testing.TB, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("interop peer %s is missing: %v", what, err)
	if RequireInterop() {
		t.Fatal(msg + " (MQWIRE_INTEROP=1: missing peers fail)")
	}
	t.Skip(msg + " (set MQWIRE_INTEROP=1 to make this a failure)")
}

// IsTCP reports whether url is a tcp URL.
func IsTCP(url string) bool { return strings.HasPrefix(url, "tcp") }

// PythonZMQ finds a Python with pyzmq (the libzmq peer of the ZMTP tests):
// $MQWIRE_PYTHON, python3 on the PATH, then the system one (Debian's
// python3-zmq belongs to it).
func PythonZMQ() (string, error) {
	var cands []string
	if p := os.Getenv("MQWIRE_PYTHON"); p != "" {
		cands = append(cands, p)
	}
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3")
	var errs []error
	for _, p := range cands {
		out, err := exec.Command(p, "-c", "import zmq; print(zmq.zmq_version())").CombinedOutput()
		if err == nil {
			return p, nil
		}
		errs = append(errs, fmt.Errorf("%s: %v: %s", p, err, bytes.TrimSpace(out)))
	}
	return "", errors.Join(errs...)
}

// Frames renders a message's frames the way the peers of the ZMTP tests
// (compat/zmq's peer.py, compat/jeromq's Peer.java) print one: each frame
// in hex, "." for an empty one, separated by spaces.
func Frames(parts ...[]byte) string {
	out := make([]string, len(parts))
	for i, f := range parts {
		out[i] = "."
		if len(f) > 0 {
			out[i] = hex.EncodeToString(f)
		}
	}
	return strings.Join(out, " ")
}

// WaitFor polls cond every millisecond until it holds, failing t if that
// takes longer than limit.
func WaitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// WaitStrings polls get every millisecond until it returns want, failing
// t with what it returned last if that takes longer than limit, or at once
// if get fails.
func WaitStrings(t testing.TB, limit time.Duration, get func() ([]string, error), want ...string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got, err := get()
		switch {
		case err != nil:
			t.Fatal(err)
		case slices.Equal(got, want):
			return
		case time.Now().After(deadline):
			t.Fatalf("got %q, want %q", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// NeedIPv6Loopback skips t where this host has no IPv6 loopback ([::1]).
func NeedIPv6Loopback(t testing.TB) {
	t.Helper()
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	probe.Close()
}

// AllocsBelow fails t when op, run runs times (testing.AllocsPerRun, after
// one run that warms it), allocates limit or more times a run on average;
// what names a run in the message ("a message"). Under the race detector,
// whose sync.Pool drops some of what it is given, it only logs the count.
func AllocsBelow(t testing.TB, runs int, limit float64, what string, op func()) {
	t.Helper()
	allocs := testing.AllocsPerRun(runs, op)
	if Race {
		t.Logf("%.2f allocations %s (not checked under the race detector)", allocs, what)
		return
	}
	if allocs >= limit {
		t.Fatalf("%.2f allocations %s", allocs, what)
	}
}
