package device_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/device"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
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

// libzmq's broker: clients (REQ) dial a ROUTER, workers (REP) dial a
// DEALER, and Proxy passes requests one way and replies the other, the
// envelope that brings each reply back to its client in the frames.
func ExampleProxy() {
	front, _ := router.New()
	defer front.Close()
	front.Listen("inproc://example-proxy-clients")
	back, _ := dealer.New()
	defer back.Close()
	back.Listen("inproc://example-proxy-workers")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go device.Proxy(ctx, front, back, nil)

	worker, _ := rep.New(socket.DialDialect(socket.DialectZMTP))
	defer worker.Close()
	worker.Dial("inproc://example-proxy-workers")
	go func() {
		for {
			m, err := worker.Recv()
			if err != nil {
				return // the socket is closed
			}
			m.Body = append(m.Body, " done"...)
			worker.Send(m)
		}
	}()

	client, _ := req.New(socket.DialDialect(socket.DialectZMTP))
	defer client.Close()
	client.Dial("inproc://example-proxy-clients")
	client.SendBytes([]byte("job 1"))
	reply, _ := client.RecvBytes()
	fmt.Printf("%s\n", reply)
	// Output: job 1 done
}

// A streamer steered over a control socket, as with libzmq's
// zmq_proxy_steerable: a REP control socket answers every command, and
// STATISTICS with eight counts (the frontend's received parts and bytes,
// its sent ones, then the backend's).
func ExampleProxySteerable() {
	front, _ := pull.New()
	defer front.Close()
	front.Listen("inproc://example-steer-in")
	back, _ := push.New()
	defer back.Close()
	back.Listen("inproc://example-steer-out")
	control, _ := rep.New()
	defer control.Close()
	control.Listen("inproc://example-steer-control")
	done := make(chan error, 1)
	go func() { done <- device.ProxySteerable(context.Background(), front, back, nil, control) }()

	in, _ := push.New()
	defer in.Close()
	in.Dial("inproc://example-steer-in")
	out, _ := pull.New()
	defer out.Close()
	out.Dial("inproc://example-steer-out")
	in.SendBytes([]byte("hello"))
	m, _ := out.RecvBytes()
	fmt.Printf("%s\n", m)

	steer, _ := req.New()
	defer steer.Close()
	steer.Dial("inproc://example-steer-control")
	steer.SendBytes([]byte("STATISTICS"))
	stats, _ := steer.Recv() // eight frames (an SP peer gets one 64-byte body)
	var counts []uint64
	for _, part := range append([][]byte{stats.Body}, stats.Frames...) {
		counts = append(counts, binary.LittleEndian.Uint64(part))
	}
	fmt.Println(counts)
	steer.SendBytes([]byte("TERMINATE"))
	steer.RecvBytes()
	fmt.Println(<-done)
	// Output:
	// hello
	// [1 5 0 0 0 0 1 5]
	// <nil>
}
