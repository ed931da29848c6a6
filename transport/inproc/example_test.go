package inproc_test

import (
	"errors"
	"fmt"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// inproc connects sockets of one process by name and hands messages over
// without framing them. A dial may come before the listen (the dialer
// keeps trying, as over any transport); a name has one listener at a time.
func Example() {
	source, _ := push.New()
	defer source.Close()
	source.Dial("inproc://jobs")

	sink, _ := pull.New()
	defer sink.Close()
	sink.Listen("inproc://jobs")

	source.SendBytes([]byte("job 1"))
	m, _ := sink.Recv()
	fmt.Println(string(m.Body))
	m.Free()

	other, _ := pull.New()
	defer other.Close()
	_, err := other.Listen("inproc://jobs")
	fmt.Println(errors.Is(err, socket.ErrAddrInUse))
	// Output:
	// job 1
	// true
}
