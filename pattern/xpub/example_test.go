package xpub_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/socket"
)

func Example() {
	publisher, _ := xpub.New(socket.RecvTimeout(5 * time.Second))
	defer publisher.Close()
	l, _ := publisher.Listen("tcp://127.0.0.1:0")

	subscriber, _ := sub.New(sub.Subscribe([]byte("weather.")), socket.DialDialect(socket.DialectZMTP), socket.RecvTimeout(5*time.Second))
	defer subscriber.Close()
	subscriber.Dial(l.URL())

	// The subscription arrives as 1 then the topic.
	s, _ := publisher.RecvBytes()
	fmt.Printf("subscribe=%v topic=%s\n", s[0] == 1, s[1:])

	publisher.SendBytes([]byte("sports.football 2-1")) // filtered out by the publisher
	publisher.SendBytes([]byte("weather.paris rain"))
	b, _ := subscriber.RecvBytes()
	fmt.Printf("%s\n", b)
	// Output:
	// subscribe=true topic=weather.
	// weather.paris rain
}

func ExampleSubscribe() {
	// Under Manual, the publisher decides: here it lets subscribers have
	// "public." topics only.
	publisher, _ := xpub.New(xpub.Manual(true), socket.RecvTimeout(5*time.Second))
	defer publisher.Close()
	l, _ := publisher.Listen("tcp://127.0.0.1:0")

	subscriber, _ := sub.New(sub.Subscribe([]byte("public.")), sub.Subscribe([]byte("secret.")),
		socket.DialDialect(socket.DialectZMTP), socket.RecvTimeout(5*time.Second))
	defer subscriber.Close()
	subscriber.Dial(l.URL())

	for range 2 {
		m, _ := publisher.Recv()
		topic := m.Body[1:]
		if m.Body[0] == 1 && bytes.HasPrefix(topic, []byte("public.")) {
			xpub.Subscribe(publisher, m.Pipe, topic)
		}
		m.Free()
	}
	publisher.SendBytes([]byte("secret.plans go"))
	publisher.SendBytes([]byte("public.news hello"))
	b, _ := subscriber.RecvBytes()
	fmt.Printf("%s\n", b)
	// Output:
	// public.news hello
}
