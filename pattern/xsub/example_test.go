package xsub_test

import (
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

func Example() {
	subscriber, _ := xsub.New(socket.RecvTimeout(20 * time.Millisecond))
	defer subscriber.Close()
	l, _ := subscriber.Listen("tcp://127.0.0.1:0")
	subscriber.SendBytes([]byte("\x01weather.")) // subscribe: 1 then the topic

	publisher, _ := pub.New(socket.DialDialect(socket.DialectZMTP))
	defer publisher.Close()
	publisher.Dial(l.URL())

	// The publisher learns the subscription once connected; until then
	// what it sends is lost.
	for {
		publisher.SendBytes([]byte("sports.football 2-1"))
		publisher.SendBytes([]byte("weather.paris rain"))
		if b, err := subscriber.RecvBytes(); err == nil {
			fmt.Printf("%s\n", b)
			break
		}
	}
	// Output: weather.paris rain
}
