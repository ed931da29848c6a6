package scale

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// SizeResult is what SizeCost measured.
type SizeResult struct {
	Transport, Dialect string
	Size, Messages     int
	// NSPerMsg is the time per message, first send to last receipt;
	// MBPerSec the payload rate in 10^6 bytes per second.
	NSPerMsg, MBPerSec float64
	AllocsPerMsg       float64 // heap allocations per message, both ends
}

// Sizes are the message sizes SizeCost is run at: 64 B to 1 MiB, powers
// of 4.
var Sizes = []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}

// SizeCost sends msgs messages of size bytes (at least 8) from a push socket
// dialing in dialect to a pull socket listening on transport, checks that
// they all arrive in order with their size, and times it. A few warm-up
// messages go first, outside the timing.
func SizeCost(transport, dialect string, size, msgs int) (res SizeResult, err error) {
	size = max(size, 8)
	res = SizeResult{Transport: transport, Dialect: dialect, Size: size, Messages: msgs}
	a, err := newAddrs()
	if err != nil {
		return res, err
	}
	defer a.cleanup()
	rx, err := pull.New(socket.MaxRecvSize(0))
	if err != nil {
		return res, err
	}
	defer rx.Close()
	tx, err := push.New(dialOpts(dialect)...)
	if err != nil {
		return res, err
	}
	defer tx.Close()
	ln, err := rx.Listen(a.url(transport))
	if err != nil {
		return res, err
	}
	if _, err := tx.Dial(ln.URL()); err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()

	const warm = 16
	send := func(i int) error {
		m := socket.NewMessage(size)
		binary.BigEndian.PutUint64(m.Body, uint64(i))
		return tx.SendContext(ctx, m)
	}
	recv := func(i int) error {
		m, err := rx.RecvContext(ctx)
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		defer m.Free()
		if len(m.Body) != size || binary.BigEndian.Uint64(m.Body) != uint64(i) {
			return fmt.Errorf("message %d: %d bytes, number %d", i, len(m.Body), binary.BigEndian.Uint64(m.Body))
		}
		return nil
	}
	for i := range warm {
		if err := send(i); err != nil {
			return res, err
		}
		if err := recv(i); err != nil {
			return res, err
		}
	}

	sendErr := make(chan error, 1)
	m0 := mallocs()
	start := time.Now()
	go func() {
		for i := warm; i < warm+msgs; i++ {
			if err := send(i); err != nil {
				sendErr <- err
				cancel()
				return
			}
		}
		sendErr <- nil
	}()
	for i := warm; i < warm+msgs; i++ {
		if err := recv(i); err != nil {
			cancel()
			if e := <-sendErr; e != nil {
				return res, e
			}
			return res, err
		}
	}
	el := time.Since(start)
	if err := <-sendErr; err != nil {
		return res, err
	}
	res.AllocsPerMsg = float64(mallocs()-m0) / float64(msgs)
	res.NSPerMsg = float64(el.Nanoseconds()) / float64(msgs)
	res.MBPerSec = float64(size) * float64(msgs) / el.Seconds() / 1e6
	return res, nil
}

// SizeMessages picks how many messages to send at size: about budget bytes
// in all, at least 100 and at most maxMsgs.
func SizeMessages(size, budget, maxMsgs int) int {
	return min(max(budget/size, 100), maxMsgs)
}
