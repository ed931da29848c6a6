package device_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/mqwire/mqwire/pattern/device"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
)

// A broker: clients dial its raw rep side, servers dial its raw req side,
// and Forward carries requests one way and replies the other.
func ExampleForward() {
	front, _ := rep.NewRaw()
	defer front.Close()
	front.Listen("inproc://example-broker-clients")
	back, _ := req.NewRaw()
	defer back.Close()
	back.Listen("inproc://example-broker-servers")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- device.Forward(ctx, front, back) }()

	server, _ := rep.New()
	defer server.Close()
	server.Dial("inproc://example-broker-servers")
	go func() {
		for {
			m, err := server.Recv()
			if err != nil {
				return // the socket is closed
			}
			m.Body = append(m.Body, " done"...)
			server.Send(m)
		}
	}()

	client, _ := req.New()
	defer client.Close()
	client.Dial("inproc://example-broker-clients")
	client.SendBytes([]byte("job 1"))
	reply, _ := client.RecvBytes()
	fmt.Printf("%s\n", reply)

	cancel() // stop the broker
	fmt.Println(errors.Is(<-done, context.Canceled))
	// Output:
	// job 1 done
	// true
}
