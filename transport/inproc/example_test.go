package inproc_test

import (
	"fmt"

	"github.com/mqwire/mqwire/pattern/pair"
)

// inproc connects sockets of one process by name, and hands messages over
// without copying or framing them. A dial may come before the listen: the
// dialer keeps trying, as over any transport.
func Example() {
	a, _ := pair.New()
	defer a.Close()
	a.Dial("inproc://example-pair")

	b, _ := pair.New()
	defer b.Close()
	b.Listen("inproc://example-pair")

	a.SendBytes([]byte("hello"))
	m, _ := b.Recv()
	fmt.Println(string(m.Body))
	m.Free()
	// Output:
	// hello
}
