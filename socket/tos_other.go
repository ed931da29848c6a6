//go:build !unix

package socket

import (
	"fmt"
	"net"
)

// setTOS is not done on this system.
func setTOS(*net.TCPConn, int) error {
	return fmt.Errorf("%w: TOS on this system", ErrNotSupported)
}
