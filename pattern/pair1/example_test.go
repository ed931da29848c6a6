package pair1_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/device"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/socket"
)

// Each device a message crosses adds a hop; a receiver drops messages that
// made more hops than its TTL.
func ExampleTTL() {
	a, _ := pair1.New()
	defer a.Close()
	a.Listen("inproc://example-pair1-ttl-a")

	// One device between a and z, so a's messages make two hops.
	in, _ := pair1.NewRaw()
	defer in.Close()
	in.Dial("inproc://example-pair1-ttl-a")
	out, _ := pair1.NewRaw()
	defer out.Close()
	out.Listen("inproc://example-pair1-ttl-z")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go device.Forward(ctx, in, out)

	z, _ := pair1.New(pair1.TTL(1))
	defer z.Close()
	z.Dial("inproc://example-pair1-ttl-z")

	a.SendBytes([]byte("first"))
	for z.Stats().Dropped(socket.DropTTL) == 0 { // dropped on arrival at z
		time.Sleep(time.Millisecond)
	}
	fmt.Println("dropped:", z.Stats().Dropped(socket.DropTTL))

	z.SetOption(pair1.TTL(2))
	a.SendBytes([]byte("second"))
	b, _ := z.RecvBytes()
	fmt.Printf("z got: %s\n", b)
	// Output:
	// dropped: 1
	// z got: second
}
