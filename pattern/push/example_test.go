package push_test

import (
	"fmt"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

func ExampleNew() {
	sink, _ := pull.New()
	defer sink.Close()
	sink.Listen("inproc://example-pipeline")

	source, _ := push.New()
	defer source.Close()
	source.Dial("inproc://example-pipeline")

	for i := range 3 {
		m := socket.NewMessage(1) // from the pool; Send takes it
		m.Body[0] = byte('a' + i)
		source.Send(m) // waits for a peer with room
	}
	var got []string
	for range 3 {
		m, _ := sink.Recv()
		got = append(got, string(m.Body))
		m.Free() // back to the pool
	}
	fmt.Println(got)
	fmt.Println(source.Stats().MessagesOut)
	// Output:
	// [a b c]
	// 3
}
