// Package device passes messages between two sockets. Forward joins two
// raw sockets of peer protocols (a raw rep0 and a raw req0, a raw sub0 and
// a raw pub0, ...), in both directions where the patterns allow, as
// nng_device does; with the same raw bus0 or pair1 socket given twice it
// reflects messages back out. Proxy is libzmq's zmq_proxy: a ROUTER and a
// DEALER, an XSUB and an XPUB, a PULL and a PUSH, with a capture socket.
package device

import (
	"context"
	"errors"
	"fmt"

	"github.com/mqwire/mqwire/socket"
)

// ErrNotRaw means a socket given to Forward is cooked.
var ErrNotRaw = errors.New("device: sockets must be raw")

// Forward moves messages from a to b and from b to a until ctx ends or a
// socket closes, and returns why it stopped.
func Forward(ctx context.Context, a, b *socket.Socket) error {
	ai, bi := a.Info(), b.Info()
	if !ai.Raw || !bi.Raw {
		return ErrNotRaw
	}
	if ai.Self != bi.Peer || ai.Peer != bi.Self {
		return fmt.Errorf("%w: %s and %s are not peers", socket.ErrPeerMismatch, ai.Name, bi.Name)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	n := 0
	run := func(from, to *socket.Socket) {
		n++
		go func() {
			errs <- pump(ctx, from, to)
			cancel()
		}()
	}
	if ai.CanRecv && bi.CanSend {
		run(a, b)
	}
	if a != b && bi.CanRecv && ai.CanSend {
		run(b, a)
	}
	if n == 0 {
		return fmt.Errorf("%w: nothing to forward between %s and %s", socket.ErrNotSupported, ai.Name, bi.Name)
	}
	err := <-errs
	for i := 1; i < n; i++ {
		<-errs
	}
	return err
}

func pump(ctx context.Context, from, to *socket.Socket) error {
	for {
		m, err := from.RecvContext(ctx)
		if err != nil {
			return err
		}
		if err := to.SendContext(ctx, m); err != nil {
			m.Free()
			return err
		}
	}
}
