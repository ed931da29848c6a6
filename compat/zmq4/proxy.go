package zmq4

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"sync"

	"github.com/mqwire/mqwire/pattern/device"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// Proxy passes messages between a frontend and a backend socket, both
// ways, copying each to capture if it is not nil (libzmq's zmq_proxy).
// It starts when made; Run waits for it to end.
type Proxy struct {
	// running ends when the proxy does (or its context), and with it
	// the commands waiting on the control pair.
	running context.Context
	stopped context.CancelFunc
	// control is this end of the control pair, a REQ to the proxy's REP:
	// each command is answered once the proxy has taken it, so that Pause
	// returns with the proxy paused, as zmq4's does (its commands go over
	// an unbuffered channel). ctlMu keeps one command at a time on it.
	ctlMu   sync.Mutex
	control *socket.Socket
	done    chan struct{}
	err     error // once done is closed
}

// proxyControl numbers the control pairs' inproc endpoints.
var proxyControl struct {
	mu sync.Mutex
	n  int
}

// NewProxy starts a proxy between front and back, sockets of this package
// (ROUTER and DEALER, XSUB and XPUB, PULL and PUSH, ...; REQ and REP keep
// the state of each request and cannot be proxied). The proxy ends when
// ctx does, when Kill is called, or when a socket closes; Run returns why.
func NewProxy(ctx context.Context, front, back, capture Socket) *Proxy {
	if ctx == nil {
		ctx = context.Background()
	}
	p := &Proxy{done: make(chan struct{})}
	p.running, p.stopped = context.WithCancel(ctx)
	fail := func(err error) *Proxy {
		p.err = err
		p.stopped()
		close(p.done)
		return p
	}
	f, b := Native(front), Native(back)
	if f == nil || b == nil || (capture != nil && Native(capture) == nil) {
		return fail(errors.New("zmq4: a proxy's sockets must be this package's"))
	}
	var c *socket.Socket
	if capture != nil {
		c = Native(capture)
	}
	proxyControl.mu.Lock()
	proxyControl.n++
	url := fmt.Sprintf("inproc://zmq4-proxy-control-%d", proxyControl.n)
	proxyControl.mu.Unlock()
	ctl, err := req.New()
	if err != nil {
		return fail(err)
	}
	theirs, err := rep.New()
	if err == nil {
		_, err = theirs.Listen(url)
	}
	if err == nil {
		_, err = ctl.Dial(url)
	}
	if err != nil {
		ctl.Close()
		theirs.Close()
		return fail(err)
	}
	p.control = ctl
	go func() {
		err := device.ProxySteerable(ctx, f, b, c, theirs)
		theirs.Close()
		ctl.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		p.err = err
		p.stopped()
		close(p.done)
	}()
	return p
}

// command sends a command to the running proxy and returns its answer
// once the proxy has taken it (nil when it has ended: it takes none).
func (p *Proxy) command(name string) *socket.Message {
	if p.control == nil {
		return nil
	}
	p.ctlMu.Lock()
	defer p.ctlMu.Unlock()
	if p.control.SendContext(p.running, socket.NewMessageBytes([]byte(name))) != nil {
		return nil
	}
	m, err := p.control.RecvContext(p.running)
	if err != nil {
		return nil
	}
	return m
}

// do sends a command whose answer says only that it was taken.
func (p *Proxy) do(name string) {
	if m := p.command(name); m != nil {
		m.Free()
	}
}

// Pause stops the passing of messages until Resume; they wait in the
// sockets' queues.
func (p *Proxy) Pause() { p.do("PAUSE") }

// Resume passes messages again after Pause.
func (p *Proxy) Resume() { p.do("RESUME") }

// Kill ends the proxy; Run then returns nil.
func (p *Proxy) Kill() { p.do("TERMINATE") }

// Stats logs the message parts and bytes each socket received and sent
// (zmq4's Stats is a placeholder that does nothing).
func (p *Proxy) Stats() {
	m := p.command("STATISTICS")
	if m == nil {
		return
	}
	defer m.Free()
	parts := append([][]byte{m.Body}, m.Frames...)
	if len(parts) != 8 {
		return
	}
	var n [8]uint64
	for i, f := range parts {
		if len(f) == 8 {
			n[i] = binary.LittleEndian.Uint64(f)
		}
	}
	log.Printf("zmq4: proxy: frontend received %d parts (%d B), sent %d (%d B); backend received %d (%d B), sent %d (%d B)",
		n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7])
}

// Run waits for the proxy to end: nil after Kill, the context's error
// when it ended, or what stopped it.
func (p *Proxy) Run() error {
	<-p.done
	return p.err
}
