package mangos

import (
	"context"

	"github.com/mqwire/mqwire/pattern/device"
	"github.com/mqwire/mqwire/socket"
)

// native is implemented by this package's sockets: the mqwire socket
// underneath.
type native interface{ Native() *socket.Socket }

// Device forwards messages between two raw sockets of peer protocols (a
// raw rep and a raw req, say), in both directions the protocols allow, in
// the background, until either closes. With one socket nil, or both the
// same, it sends what the socket receives back through it (a bus or pair
// loop-back). It returns at once: ErrNotRaw if a socket is cooked,
// ErrBadProto if they are not peers, ErrClosed if both are nil.
func Device(s1, s2 Socket) error {
	if s1 == nil {
		s1 = s2
	}
	if s2 == nil {
		s2 = s1
	}
	if s1 == nil {
		return ErrClosed
	}
	i1, i2 := s1.Info(), s2.Info()
	if i1.Self != i2.Peer || i2.Self != i1.Peer {
		return ErrBadProto
	}
	for _, s := range []Socket{s1, s2} {
		if raw, err := s.GetOption(OptionRaw); err != nil {
			return err
		} else if raw != true {
			return ErrNotRaw
		}
	}
	n1, ok1 := s1.(native)
	n2, ok2 := s2.(native)
	if !ok1 || !ok2 {
		return ErrBadProto
	}
	a, b := n1.Native(), n2.Native()
	go device.Forward(context.Background(), a, b) // ends when either socket closes
	return nil
}
