// Package sockfile handles the Unix socket files that ipc:// and shm://
// listeners bind: one left behind by a process that died is stale and may
// be removed; one that a live listener answers on, or a path that is not a
// socket, is in use.
package sockfile

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"

	"github.com/mqwire/mqwire/internal/neterr"
	"github.com/mqwire/mqwire/socket"
)

// RemoveStale removes the socket file at path if nobody listens on it any
// more. A path that is not a socket, or that a live listener answers on, is
// left alone, and RemoveStale fails with socket.ErrAddrInUse, naming the
// path with scheme ("ipc", "shm").
func RemoveStale(scheme, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%w: %s://%s exists and is not a socket", socket.ErrAddrInUse, scheme, path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: %s://%s has a live listener", socket.ErrAddrInUse, scheme, path)
	}
	if neterr.ConnRefused(err) {
		return os.Remove(path)
	}
	return nil
}
