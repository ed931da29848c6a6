package tcp_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
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
