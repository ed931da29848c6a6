// Package portnum checks the port of a tcp or ws address as libzmq and nng
// take it: a number from 0 to 65535, no service names, and "*" (any free
// port) only to listen on. An impossible port then fails when the address
// is given rather than at every reconnect. (Port 0 may be dialed, as nng
// does: the dial is refused.)
package portnum

import (
	"fmt"
	"strconv"
)

// Check returns the port to use for port ("*" becomes "0"), or why it
// cannot be used.
func Check(port string, listening bool) (string, error) {
	if port == "*" {
		if !listening {
			return "", fmt.Errorf("cannot dial a wildcard port")
		}
		return "0", nil
	}
	if port == "" {
		return "", fmt.Errorf("no port")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return port, nil
}
