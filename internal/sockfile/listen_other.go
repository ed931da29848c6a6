//go:build !unix

package sockfile

import (
	"fmt"
	"net"

	"github.com/mqwire/mqwire/socket"
)

// Listen binds a Unix stream socket at path and listens on it. A socket
// file's access cannot be set here: Access is refused unless it is zero.
func Listen(path string, a Access) (*net.UnixListener, error) {
	if a.SetPerm || a.SetOwner {
		return nil, fmt.Errorf("%w: a socket file's permissions and owner on this system", socket.ErrNotSupported)
	}
	return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
}
