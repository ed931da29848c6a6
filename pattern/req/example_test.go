package req_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// echo answers every request on server with the request's own body.
func echo(server *socket.Socket) {
	for {
		m, err := server.Recv()
		if err != nil {
			return
		}
		if server.Send(m) != nil {
			m.Free()
		}
	}
}

func ExampleNew() {
	server, _ := rep.New()
	defer server.Close()
	l, _ := server.Listen("tcp://127.0.0.1:0")
	go echo(server)

	client, _ := req.New(socket.RecvTimeout(5 * time.Second))
	defer client.Close()
	client.Dial(l.URL())
	client.SendBytes([]byte("hello"))
	reply, err := client.RecvBytes()
	fmt.Printf("%s %v\n", reply, err)
	// Output: hello <nil>
}

// Contexts let several goroutines each have a request in flight on one socket.
func ExampleNewContext() {
	server, _ := rep.New()
	defer server.Close()
	server.Listen("inproc://example-contexts")
	go echo(server)

	client, _ := req.New()
	defer client.Close()
	client.Dial("inproc://example-contexts")

	var wg sync.WaitGroup
	replies := make([]string, 3)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _ := req.NewContext(client)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c.Send(ctx, socket.NewMessageBytes([]byte(fmt.Sprint("request ", i))))
			if m, err := c.Recv(ctx); err == nil {
				replies[i] = string(m.Body)
			}
		}()
	}
	wg.Wait()
	fmt.Println(replies)
	// Output: [request 0 request 1 request 2]
}
