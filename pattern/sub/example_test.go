package sub_test

import (
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
