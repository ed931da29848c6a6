package tcp_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/tcp"
)

// Port 0 has the system choose a free port; the listener's URL says which.
// "*" or an empty host listens on every address, which cannot be dialed.
func Example() {
	server, _ := rep.New()
	defer server.Close()
	l, err := server.Listen("tcp://127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(l.URL(), "tcp://127.0.0.1:"), !strings.HasSuffix(l.URL(), ":0"))

	client, _ := req.New()
	defer client.Close()
	client.Dial(l.URL())
	client.SendBytes([]byte("ping"))
	m, _ := server.Recv()
	server.SendBytes(append([]byte("re: "), m.Body...))
	m.Free()
	m, _ = client.Recv()
	fmt.Println(string(m.Body))
	m.Free()

	_, err = client.Dial("tcp://*:5555")
	fmt.Println(errors.Is(err, socket.ErrBadURL))
	// Output:
	// true true
	// re: ping
	// true
}

// A dialer behind a SOCKS5 proxy that wants a username and password
// (libzmq's ZMQ_SOCKS_PROXY, ZMQ_SOCKS_USERNAME, ZMQ_SOCKS_PASSWORD):
// each connection goes through the proxy to the host as written, a name
// resolved by the proxy.
func ExampleDialSOCKS() {
	client, _ := req.New()
	defer client.Close()
	_, err := client.Dial("tcp://backend.internal:5555",
		tcp.DialSOCKS(tcp.SOCKS{Proxy: "proxy.example:1080", Username: "svc", Password: "secret"}))
	fmt.Println(err)
	// Output: <nil>
}
