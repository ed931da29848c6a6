package zmtp_test

import (
	"bytes"
	"testing"

	"github.com/mqwire/mqwire/wire/zmtp"
)

func TestSubscription(t *testing.T) {
	// libzmq 4.3.4's SUB subscribing to "topic" over ZMTP 3.0: one data frame.
	frame := zmtp.AppendFrame(nil, 0, zmtp.AppendSubscription(nil, true, []byte("topic")))
	if want := cat(0, 6, 1, "topic"); !bytes.Equal(frame, want) {
		t.Fatalf("subscription frame = % x, want % x", frame, want)
	}
	for _, tc := range []struct {
		sub   bool
		topic []byte
	}{{true, nil}, {false, nil}, {true, []byte("a")}, {false, []byte{0, 1, 2}}} {
		b := zmtp.AppendSubscription([]byte("x"), tc.sub, tc.topic)
		sub, topic, ok := zmtp.ParseSubscription(b[1:])
		if !ok || sub != tc.sub || !bytes.Equal(topic, tc.topic) {
			t.Errorf("%v % x: %v % x %v", tc.sub, tc.topic, sub, topic, ok)
		}
	}
	for _, notSub := range [][]byte{nil, {2}, {0xFF, 'a'}, []byte("hello")} {
		if sub, topic, ok := zmtp.ParseSubscription(notSub); ok || sub || topic != nil {
			t.Errorf("ParseSubscription(% x) = %v, % x, %v", notSub, sub, topic, ok)
		}
	}
}
