package tcp

import (
	"fmt"
	"net"
	"syscall"

	"github.com/mqwire/mqwire/socket"
)

// deviceKey carries ListenDevice's and DialDevice's interface name to the
// transport.
type deviceKey struct{}

// ListenDevice binds a tcp:// or tls+tcp:// listener's socket to the
// network interface named name (SO_BINDTODEVICE; libzmq's
// ZMQ_BINDTODEVICE): it takes only the connections that come in through
// that interface, or, for a VRF's name, through that VRF's interfaces,
// whatever address it listens on. Linux only (socket.ErrNotSupported
// elsewhere); the interface must exist when Listen is called
// (socket.ErrBadOption), and the system may ask for CAP_NET_RAW.
func ListenDevice(name string) socket.ListenOption {
	return socket.TransportListenOption("tcp.ListenDevice", transport{}.Schemes(), deviceKey{}, name, checkDevice("tcp.ListenDevice", name))
}

// DialDevice binds each connection a tcp:// or tls+tcp:// dialer makes to
// the network interface named name (SO_BINDTODEVICE; libzmq's
// ZMQ_BINDTODEVICE): its packets leave through that interface (or VRF)
// only, whatever the routing table says. Linux only; checked as
// ListenDevice is.
func DialDevice(name string) socket.DialOption {
	return socket.TransportDialOption("tcp.DialDevice", transport{}.Schemes(), deviceKey{}, name, checkDevice("tcp.DialDevice", name))
}

// checkDevice rejects a device option that cannot work.
func checkDevice(option, name string) error {
	if !bindToDeviceSupported {
		return fmt.Errorf("%w: %s on this system", socket.ErrNotSupported, option)
	}
	if name == "" || len(name) >= 16 { // IFNAMSIZ, with its NUL
		return fmt.Errorf("%w: %s(%q): not an interface name", socket.ErrBadOption, option, name)
	}
	if _, err := net.InterfaceByName(name); err != nil {
		return fmt.Errorf("%w: %s(%q): %v", socket.ErrBadOption, option, name, err)
	}
	return nil
}

// deviceControl returns a net.Dialer's or net.ListenConfig's Control that
// binds the socket to dev, or nil when dev is empty.
func deviceControl(dev string) func(network, address string, c syscall.RawConn) error {
	if dev == "" {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = bindToDevice(int(fd), dev) }); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("bind to device %q: %w", dev, serr)
		}
		return nil
	}
}
