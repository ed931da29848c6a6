package socket_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/req"
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

// A pipe hook sees every connection come and go, on the goroutine that
// handles it, and can refuse one before the pattern uses it: here a
// listener that takes connections from this host only.
func ExamplePipeHook() {
	sink, _ := pull.New(socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
		if ev == socket.PipeAdding && !strings.HasPrefix(p.RemoteAddr(), "127.0.0.1:") {
			p.Close(nil) // refused: the socket never uses it
		}
		if ev == socket.PipeAdded {
			fmt.Println("added a pipe, dialed:", p.Dialed())
		}
	}))
	defer sink.Close()
	l, _ := sink.Listen("tcp://127.0.0.1:0")

	src, _ := push.New()
	defer src.Close()
	src.Dial(l.URL(), socket.SynchronousDial())
	src.SendBytes([]byte("hello"))
	b, _ := sink.RecvBytes()
	fmt.Println(string(b))
	// Output:
	// added a pipe, dialed: false
	// hello
}

// A dial bounded by a context: it returns with the connection up, or
// fails with the attempt's error or, if the context ends first, with the
// context's, leaving no dialer behind.
func ExampleSocket_DialContext() {
	sink, _ := pull.New()
	defer sink.Close()
	l, _ := sink.Listen("tcp://127.0.0.1:0")

	src, _ := push.New()
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := src.DialContext(ctx, l.URL()); err != nil {
		fmt.Println("dial:", err)
		return
	}
	fmt.Println("pipes:", src.Stats().Pipes)
	// Output: pipes: 1
}

// A dial that waits for its first attempt, as nng's does by default: with
// nobody listening it fails at once rather than retrying in the
// background.
func ExampleSynchronousDial() {
	src, _ := push.New()
	defer src.Close()
	_, err := src.Dial("inproc://nobody-listens", socket.SynchronousDial())
	fmt.Println(err != nil)
	// Output: true
}

// A client of a service in another process on this host polls its tcp
// connection for up to 200 us before it parks in each Recv: on loopback
// the wake-up it saves is most of a small round trip's time. The spin
// adapts, so a slow or idle service soon costs no polling.
func ExampleRecvSpin() {
	client, err := req.New(socket.RecvSpin(200 * time.Microsecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	// The option checks its value when set.
	err = client.SetOption(socket.RecvSpin(time.Hour))
	fmt.Println(errors.Is(err, socket.ErrBadOption))
	// Output: true
}
