package pub_test

import (
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
)

// One publisher, two subscribers: each gets only the topics it asked for.
func ExampleNew() {
	publisher, _ := pub.New()
	defer publisher.Close()
	publisher.Listen("inproc://example-pub")

	weather, _ := sub.New(sub.Subscribe([]byte("weather.")))
	defer weather.Close()
	weather.Dial("inproc://example-pub")
	sports, _ := sub.New(sub.Subscribe([]byte("sports.")))
	defer sports.Close()
	sports.Dial("inproc://example-pub")

	// What is published before a subscriber is connected is lost to it.
	for publisher.Stats().Pipes < 2 {
		time.Sleep(time.Millisecond)
	}

	publisher.SendBytes([]byte("weather.paris rain"))
	publisher.SendBytes([]byte("sports.football 2-1"))
	publisher.SendBytes([]byte("weather.oslo snow"))
	for range 2 {
		b, _ := weather.RecvBytes()
		fmt.Printf("weather: %s\n", b)
	}
	b, _ := sports.RecvBytes()
	fmt.Printf("sports: %s\n", b)
	// Output:
	// weather: weather.paris rain
	// weather: weather.oslo snow
	// sports: sports.football 2-1
}

// A publisher waits until a subscriber's topic is listed before it
// publishes, so that the subscriber misses nothing (subscriptions reach a
// publisher a moment after the subscriber connects).
func ExampleTopics() {
	publisher, _ := pub.New()
	defer publisher.Close()
	publisher.Listen("inproc://example-topics")

	subscriber, _ := sub.New(sub.Subscribe([]byte("prices.")))
	defer subscriber.Close()
	subscriber.Dial("inproc://example-topics")

	for {
		topics, _ := pub.Topics(publisher)
		if len(topics) > 0 {
			fmt.Println("subscribed:", topics)
			break
		}
		time.Sleep(time.Millisecond)
	}
	publisher.SendBytes([]byte("prices.gold 2650"))
	b, _ := subscriber.RecvBytes()
	fmt.Printf("%s\n", b)
	// Output:
	// subscribed: [prices.]
	// prices.gold 2650
}
