package sp_test

import (
	"errors"
	"fmt"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
)

// Each side of an SP connection first sends an 8-byte header naming its
// protocol; each checks the other's.
func ExampleParseHeader() {
	h := sp.AppendHeader(nil, sp.ProtoPush0)
	fmt.Printf("% x\n", h)

	peer, err := sp.ParseHeader(h)
	fmt.Println(sp.ProtoName(peer), err)

	_, err = sp.ParseHeader([]byte("GET / HT"))
	fmt.Println(err != nil)
	// Output:
	// 00 53 50 00 00 50 00 00
	// push0 <nil>
	// true
}

// Over tcp a message is a 64-bit big-endian size, then the message; over
// ipc a type byte 0x01 comes first. A size above the receiver's limit is
// refused before anything of that size is allocated.
func ExampleFraming_ParseFrameHeader() {
	for _, f := range []sp.Framing{sp.FramingTCP, sp.FramingIPC} {
		h := f.AppendFrameHeader(nil, 5)
		size, err := f.ParseFrameHeader(h, 1024)
		fmt.Printf("% x -> %d %v\n", h, size, err)
	}

	h := sp.FramingTCP.AppendFrameHeader(nil, 1<<40)
	_, err := sp.FramingTCP.ParseFrameHeader(h, 1024)
	var tooLarge *wire.TooLargeError
	fmt.Println(errors.As(err, &tooLarge))
	// Output:
	// 00 00 00 00 00 00 00 05 -> 5 <nil>
	// 01 00 00 00 00 00 00 00 05 -> 5 <nil>
	// true
}
