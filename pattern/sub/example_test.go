package sub_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

func ExampleSubscribe() {
	publisher, _ := pub.New()
	defer publisher.Close()
	publisher.Listen("inproc://example-weather")

	subscriber, _ := sub.New(sub.Subscribe([]byte("weather.")), socket.RecvTimeout(5*time.Second))
	defer subscriber.Close()
	subscriber.Dial("inproc://example-weather")
	for publisher.Stats().Pipes == 0 { // wait for the subscriber to be connected
		time.Sleep(time.Millisecond)
	}

	publisher.SendBytes([]byte("sports.football 2-1"))
	publisher.SendBytes([]byte("weather.paris rain"))
	b, _ := subscriber.RecvBytes()
	fmt.Printf("%s\n", b)
	// Output: weather.paris rain
}

// Two parts of an application subscribe to the same topic; with
// CountSubscriptions, as in libzmq, one part unsubscribing leaves the
// other's subscription in place.
func ExampleCountSubscriptions() {
	publisher, _ := pub.New()
	defer publisher.Close()
	publisher.Listen("inproc://example-counted")

	subscriber, _ := sub.New(sub.CountSubscriptions(true), socket.RecvTimeout(5*time.Second))
	defer subscriber.Close()
	subscriber.SetOption(sub.Subscribe([]byte("weather.")))   // one part of the application
	subscriber.SetOption(sub.Subscribe([]byte("weather.")))   // another
	subscriber.SetOption(sub.Unsubscribe([]byte("weather."))) // the first is done with it
	subscriber.Dial("inproc://example-counted")
	for publisher.Stats().Pipes == 0 {
		time.Sleep(time.Millisecond)
	}

	publisher.SendBytes([]byte("weather.oslo snow"))
	b, _ := subscriber.RecvBytes()
	fmt.Printf("%s\n", b)
	// Output: weather.oslo snow
}

// One connection feeds two consumers, each with its own topics: a
// context per consumer, as with nng's sub0 contexts.
func ExampleNewContext() {
	publisher, _ := pub.New()
	defer publisher.Close()
	publisher.Listen("inproc://example-contexts")

	subscriber, _ := sub.New(socket.RecvTimeout(5 * time.Second))
	defer subscriber.Close()
	weather, _ := sub.NewContext(subscriber)
	weather.Subscribe([]byte("weather."))
	sports, _ := sub.NewContext(subscriber)
	sports.Subscribe([]byte("sports."))
	subscriber.Dial("inproc://example-contexts")
	for publisher.Stats().Pipes == 0 {
		time.Sleep(time.Millisecond)
	}

	publisher.SendBytes([]byte("sports.football 2-1"))
	publisher.SendBytes([]byte("weather.paris rain"))
	for _, c := range []*sub.Context{weather, sports} {
		m, _ := c.Recv(context.Background())
		fmt.Printf("%s\n", m.Body)
		m.Free()
	}
	// Output:
	// weather.paris rain
	// sports.football 2-1
}
