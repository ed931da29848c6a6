package socket_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// A Recv bounded by a context: a deadline that passes is ErrTimeout (which
// also matches context.DeadlineExceeded), a cancellation context.Canceled.
func ExampleSocket_RecvContext() {
	sink, _ := pull.New()
	defer sink.Close()
	sink.Listen("inproc://example-recv-context")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := sink.RecvContext(ctx) // nobody sends
	fmt.Println(errors.Is(err, socket.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output: true true
}

// Socket-wide timeouts, as ZMQ_SNDTIMEO and ZMQ_RCVTIMEO: a Send or Recv
// that can go at once costs no timer.
func ExampleRecvTimeout() {
	sink, _ := pull.New(socket.RecvTimeout(10 * time.Millisecond))
	defer sink.Close()
	sink.Listen("inproc://example-timeouts")

	source, _ := push.New(socket.SendTimeout(time.Second))
	defer source.Close()
	source.Dial("inproc://example-timeouts")

	source.Send(socket.NewMessageBytes([]byte("once")))
	m, err := sink.Recv()
	fmt.Println(string(m.Body), err)
	m.Free()
	_, err = sink.Recv() // nothing more
	fmt.Println(err)
	// Output:
	// once <nil>
	// mqwire: timed out
}

// A sender that keeps what it sends, to send it again later, shares it
// rather than copying it: the message goes back to the pool once every
// owner has freed it, and nobody may change it meanwhile.
func ExampleMessage_Share() {
	sink, _ := pull.New()
	defer sink.Close()
	sink.Listen("inproc://example-share")

	source, _ := push.New()
	defer source.Close()
	source.Dial("inproc://example-share")

	kept := socket.NewMessageBytes([]byte("report"))
	for range 2 {
		kept.Share() // one owner more: Send takes this one
		source.Send(kept)
	}
	kept.Free() // our own share

	for range 2 {
		m, _ := sink.Recv()
		fmt.Println(string(m.Body))
		m.Free()
	}
	// Output:
	// report
	// report
}
