//go:build !plan9

package socket_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
)

// A socket file left by a listener that did not remove it (Plan 9 has no
// Unix sockets to leave one).
func TestIPCStaleSocketFile(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := filepath.Join(testutil.ShortTempDir(t), "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no stale socket file: %v", err)
	}
	q := must(pull.New())
	p := must(push.New())
	closeAll(t, p, q)
	if _, err := q.Listen("ipc://" + path); err != nil {
		t.Fatalf("Listen over a stale socket file: %v", err)
	}
	must(p.Dial("ipc://" + path))
	send(t, p, "fresh")
	if got := recv(t, q); got != "fresh" {
		t.Fatalf("got %q", got)
	}
}
