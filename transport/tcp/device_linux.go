package tcp

import "golang.org/x/sys/unix"

// bindToDeviceSupported: Linux has SO_BINDTODEVICE.
const bindToDeviceSupported = true

func bindToDevice(fd int, dev string) error { return unix.BindToDevice(fd, dev) }
