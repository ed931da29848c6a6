//go:build !linux

package tcp

import "github.com/mqwire/mqwire/socket"

// bindToDeviceSupported: ListenDevice and DialDevice are Linux's.
const bindToDeviceSupported = false

func bindToDevice(int, string) error { return socket.ErrNotSupported }
