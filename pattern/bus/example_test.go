package bus_test

import (
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/socket"
)

func ExampleNew() {
	hub, _ := bus.New()
	defer hub.Close()
	hub.Listen("inproc://example-bus")

	a, _ := bus.New()
	defer a.Close()
	a.Dial("inproc://example-bus")
	b, _ := bus.New()
	defer b.Close()
	b.Dial("inproc://example-bus")

	// A bus sends only on the connections it has: wait until all are up.
	for hub.Stats().Pipes < 2 || a.Stats().Pipes < 1 || b.Stats().Pipes < 1 {
		time.Sleep(time.Millisecond)
	}

	hub.SendBytes([]byte("hello from hub"))
	fromHub, _ := a.RecvBytes()
	fmt.Printf("a got: %s\n", fromHub)
	fromHub, _ = b.RecvBytes()
	fmt.Printf("b got: %s\n", fromHub)

	// a and b are not connected to each other, so only the hub hears a.
	a.SendBytes([]byte("hello from a"))
	fromA, _ := hub.RecvBytes()
	fmt.Printf("hub got: %s\n", fromA)
	b.SetOption(socket.RecvTimeout(50 * time.Millisecond))
	_, err := b.RecvBytes()
	fmt.Println("b:", err)
	// Output:
	// a got: hello from hub
	// b got: hello from hub
	// hub got: hello from a
	// b: mqwire: timed out
}
