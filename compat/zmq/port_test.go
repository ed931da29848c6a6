package zmq_test

import "net"

type netListenConfig struct{}

// freePort returns a loopback address with a port free at the time of the
// call, for a peer that binds.
func (netListenConfig) freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
