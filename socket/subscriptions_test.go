package socket_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/mqwire/mqwire/socket"
)

func TestMessageTopics(t *testing.T) {
	packed := func(topics ...string) []byte {
		var b []byte
		for _, s := range topics {
			b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
			b = append(b, s...)
		}
		return b
	}
	cases := []struct {
		name string
		c    socket.Control
		body []byte
		want []string
	}{
		{"one", socket.ControlSubscribe, []byte("abc"), []string{"abc"}},
		{"cancel", socket.ControlCancel, []byte(""), []string{""}},
		{"many", socket.ControlSubscribeMany, packed("a", "", "bcd"), []string{"a", "", "bcd"}},
		{"overrun ends them", socket.ControlSubscribeMany, append(packed("a"), 0, 0, 0, 9, 'x'), []string{"a"}},
		{"short tail ignored", socket.ControlSubscribeMany, append(packed("a"), 0, 0), []string{"a"}},
		{"none", socket.ControlSubscribeMany, nil, nil},
	}
	for _, c := range cases {
		m := socket.NewMessageBytes(c.body)
		m.Control = c.c
		var got []string
		for topic := range m.Topics() {
			got = append(got, string(topic))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: topics %q, want %q", c.name, got, c.want)
		}
		if sub := m.Subscribes(); sub != (c.c != socket.ControlCancel) {
			t.Errorf("%s: Subscribes() = %v", c.name, sub)
		}
	}
}
