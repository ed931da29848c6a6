package zmtp_test

import (
	"fmt"
	"time"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// A ZMTP 3.1 connection opens with a 64-byte greeting from each side, then
// (under the NULL mechanism) a READY command whose metadata names the
// socket type; each side checks that the two types can talk.
func ExampleParseGreeting() {
	out := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: zmtp.Major, Minor: zmtp.Minor31, Mechanism: zmtp.MechanismNull})
	out = zmtp.AppendReady(out, zmtp.Property{Name: zmtp.PropSocketType, Value: []byte(zmtp.TypeDEALER)})

	// What the peer reads: the greeting, then one command frame.
	g, err := zmtp.ParseGreeting(out[:zmtp.GreetingSize])
	fmt.Println(g.Major, g.Minor, g.Mechanism, err)

	rest := out[zmtp.GreetingSize:]
	hdr, n, err := zmtp.ParseFrameHeader(rest, 0)
	if err != nil || !hdr.Command() {
		fmt.Println("not a command:", err)
		return
	}
	body := rest[n:][:hdr.Size]
	name, data, err := zmtp.ParseCommand(body)
	fmt.Printf("%s %v\n", name, err)
	zmtp.ParseMetadata(data, func(name, value []byte) error {
		fmt.Printf("%s=%s\n", name, value)
		return nil
	})
	fmt.Println(zmtp.Compatible(zmtp.TypeROUTER, zmtp.TypeDEALER), zmtp.Compatible(zmtp.TypePUB, zmtp.TypeDEALER))
	// Output:
	// 3 1 NULL <nil>
	// READY <nil>
	// Socket-Type=DEALER
	// true false
}

// A message is one or more frames; every frame but the last has FlagMore.
// A frame's header is 2 bytes for bodies up to 255 bytes and 9 above.
func ExampleParseFrameHeader() {
	var b []byte
	b = zmtp.AppendFrame(b, zmtp.FlagMore, []byte("key"))
	b = zmtp.AppendFrame(b, 0, make([]byte, 300))

	for len(b) > 0 {
		hdr, n, err := zmtp.ParseFrameHeader(b, 1<<20)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("header %d bytes, body %d bytes, more %v\n", n, hdr.Size, hdr.More())
		b = b[n+int(hdr.Size):]
	}
	// Output:
	// header 2 bytes, body 3 bytes, more true
	// header 9 bytes, body 300 bytes, more false
}

// Heartbeats: a PING carries a time to live (tenths of a second) and a
// context, which the PONG sends back.
func ExampleParsePing() {
	ping := zmtp.AppendPing(nil, zmtp.PingTTL(3*time.Second), []byte("ctx"))
	hdr, n, _ := zmtp.ParseFrameHeader(ping, 0)
	ttl, context, err := zmtp.ParsePing(ping[n:][:hdr.Size])
	fmt.Println(hdr.Command(), zmtp.PingTTLDuration(ttl), string(context), err)

	pong := zmtp.AppendPong(nil, context)
	_, n, _ = zmtp.ParseFrameHeader(pong, 0)
	back, err := zmtp.ParsePong(pong[n:])
	fmt.Println(string(back), err)
	// Output:
	// true 3s ctx <nil>
	// ctx <nil>
}
