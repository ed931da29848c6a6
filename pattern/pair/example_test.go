package pair_test

import (
	"fmt"

	"github.com/mqwire/mqwire/pattern/pair"
)

func ExampleNew() {
	left, _ := pair.New()
	defer left.Close()
	left.Listen("inproc://example-pair")

	right, _ := pair.New()
	defer right.Close()
	right.Dial("inproc://example-pair")

	// Send waits for the peer, so there is no need to wait for the connection.
	left.SendBytes([]byte("ping"))
	b, _ := right.RecvBytes()
	fmt.Printf("right got: %s\n", b)

	right.SendBytes([]byte("pong"))
	b, _ = left.RecvBytes()
	fmt.Printf("left got: %s\n", b)
	// Output:
	// right got: ping
	// left got: pong
}
