// Package device passes messages between two sockets. Forward joins two
// raw sockets of peer protocols (a raw rep0 and a raw req0, a raw sub0 and
// a raw pub0, ...), in both directions where the patterns allow, as
// nng_device does; with the same raw bus0 or pair1 socket given twice it
// reflects messages back out. Proxy is libzmq's zmq_proxy: a ROUTER and a
// DEALER, an XSUB and an XPUB, a PULL and a PUSH, with a capture socket;
// ProxySteerable is zmq_proxy_steerable, steered over a control socket.
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
	var pumps []func(context.Context) error
	if ai.CanRecv && bi.CanSend {
		pumps = append(pumps, func(ctx context.Context) error { return pump(ctx, a, b) })
	}
	if a != b && bi.CanRecv && ai.CanSend {
		pumps = append(pumps, func(ctx context.Context) error { return pump(ctx, b, a) })
	}
	if len(pumps) == 0 {
		return fmt.Errorf("%w: nothing to forward between %s and %s", socket.ErrNotSupported, ai.Name, bi.Name)
	}
	return runPumps(ctx, pumps)
}

// runPumps runs each pump on its own goroutine until one returns, then
// stops the others (their context ends) and returns the first one's error.
func runPumps(ctx context.Context, pumps []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(pumps))
	for _, p := range pumps {
		go func() {
			errs <- p(ctx)
			cancel()
		}()
	}
	err := <-errs
	for range len(pumps) - 1 {
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
