package rep_test

import (
	"fmt"
	"strconv"

	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
)

// A server loop: receive a request, reuse its message for the reply, send
// it back. The reply goes to whichever client asked.
func ExampleNew() {
	server, _ := rep.New()
	defer server.Close()
	server.Listen("inproc://example-rep")
	go func() {
		for {
			m, err := server.Recv()
			if err != nil {
				return // the socket is closed
			}
			n, _ := strconv.Atoi(string(m.Body))
			m.Body = strconv.AppendInt(m.Body[:0], int64(n*n), 10)
			if server.Send(m) != nil {
				m.Free() // a failed Send leaves the message ours
			}
		}
	}()

	client, _ := req.New()
	defer client.Close()
	client.Dial("inproc://example-rep")
	for _, q := range []string{"3", "12"} {
		client.SendBytes([]byte(q))
		a, _ := client.RecvBytes()
		fmt.Printf("%s squared is %s\n", q, a)
	}
	// Output:
	// 3 squared is 9
	// 12 squared is 144
}
