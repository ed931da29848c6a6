//go:build !plan9

package sockfile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

func TestRemoveStale(t *testing.T) {
	dir := testutil.ShortTempDir(t)

	t.Run("missing", func(t *testing.T) {
		if err := RemoveStale("ipc", filepath.Join(dir, "none.sock")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("stale", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		l.SetUnlinkOnClose(false) // as a process that died leaves it
		l.Close()
		if err := RemoveStale("shm", path); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("stale socket file still there: %v", err)
		}
	})

	t.Run("live", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			if c, err := l.Accept(); err == nil {
				c.Close()
			}
		}()
		err = RemoveStale("shm", path)
		if !errors.Is(err, socket.ErrAddrInUse) || !strings.Contains(err.Error(), "shm://") {
			t.Fatalf("RemoveStale on a live listener: %v, want ErrAddrInUse naming shm://", err)
		}
		if _, err := os.Lstat(path); err != nil {
			t.Fatalf("live socket file removed: %v", err)
		}
	})

	t.Run("regular file", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := RemoveStale("ipc", path)
		if !errors.Is(err, socket.ErrAddrInUse) || !strings.Contains(err.Error(), "not a socket") {
			t.Fatalf("RemoveStale on a regular file: %v", err)
		}
		if _, err := os.Lstat(path); err != nil {
			t.Fatalf("regular file removed: %v", err)
		}
	})
}
