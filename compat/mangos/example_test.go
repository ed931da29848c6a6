package mangos_test

import (
	"fmt"
	"log"
	"time"

	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/protocol/rep"
	"github.com/mqwire/mqwire/compat/mangos/protocol/req"
	_ "github.com/mqwire/mqwire/compat/mangos/transport/all"
)

// Code written for mangos runs with only its imports changed: here a
// request and its reply, as mangos's reqrep example has them.
func Example() {
	server, err := rep.NewSocket()
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	if err := server.Listen("inproc://example-reqrep"); err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			msg, err := server.Recv()
			if err != nil {
				return // closed
			}
			server.Send(append([]byte("reply to "), msg...))
		}
	}()

	client, err := req.NewSocket()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	client.SetOption(mangos.OptionRecvDeadline, 5*time.Second)
	// Dial makes its first attempt before it returns, as mangos's does.
	if err := client.Dial("inproc://example-reqrep"); err != nil {
		log.Fatal(err)
	}
	if err := client.Send([]byte("DATE")); err != nil {
		log.Fatal(err)
	}
	reply, err := client.Recv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(reply))
	// Output: reply to DATE
}

// A pipe event hook sees each connection come and go, synchronously, and
// can refuse one by closing it while it attaches.
func ExampleSocket_SetPipeEventHook() {
	server, err := rep.NewSocket()
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	attached := make(chan string, 1)
	server.SetPipeEventHook(func(ev mangos.PipeEvent, p mangos.Pipe) {
		if ev == mangos.PipeEventAttached {
			attached <- p.Address()
		}
	})
	if err := server.Listen("inproc://example-hook"); err != nil {
		log.Fatal(err)
	}
	client, err := req.NewSocket()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if err := client.Dial("inproc://example-hook"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("attached:", <-attached)
	// Output: attached: inproc://example-hook
}

// A dial to an address nobody listens on fails at once, with the error
// mangos code compares against.
func ExampleSocket_Dial() {
	client, err := req.NewSocket()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	err = client.Dial("inproc://nobody-here")
	fmt.Println(err == mangos.ErrConnRefused)
	// Output: true
}
