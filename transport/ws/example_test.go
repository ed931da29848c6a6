package ws_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// A REP serves requests over WebSocket at a path, as an nng or mangos REP
// would; nng's and mangos' REQ sockets, or a browser's WebSocket offering
// "rep.sp.nanomsg.org", can dial it. A ZeroMQ-only socket cannot use ws.
func Example() {
	server, _ := rep.New()
	defer server.Close()
	l, err := server.Listen("ws://127.0.0.1:0/rpc")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasSuffix(l.URL(), "/rpc"))

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

	d, _ := dealer.New()
	defer d.Close()
	_, err = d.Dial(l.URL())
	fmt.Println(errors.Is(err, socket.ErrNotSupported))
	// Output:
	// true
	// re: ping
	// true
}
