package core

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"maps"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/bridge"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
)

// NewSocket returns a socket of the protocol whose SP number is self, raw
// or cooked. The protocol packages call it.
func NewSocket(self uint16, raw bool) (mangos.Socket, error) {
	p := protocols[self]
	if p == nil {
		return nil, mangos.ErrBadProto
	}
	k := &sock{proto: p, raw: raw}
	newSocket := p.newCooked
	if raw {
		newSocket = p.newRaw
	}
	s, err := newSocket(socket.PipeHook(k.pipeHook))
	if err != nil {
		return nil, err
	}
	k.s = s
	k.vals = k.defaults()
	return k, nil
}

// sock is a mangos Socket on an mqwire socket.
type sock struct {
	proto *protocol
	raw   bool
	s     *socket.Socket

	mu sync.Mutex
	// vals are the options the socket has, with their values as set
	// (their defaults until then): an option not in vals is not the
	// socket's.
	vals map[string]interface{}
	hook mangos.PipeEventHook
	// pipes maps the pipes attached to theirs (*pipe), for the hook and
	// for RecvMsg, which looks up every message's without a lock.
	pipes sync.Map
	// peers counts the pipes attached (OptionFailNoPeers); bestEffort
	// and failNoPeers are those options' values.
	peers       atomic.Int32
	bestEffort  atomic.Bool
	failNoPeers atomic.Bool
	// withPeers ends, with errPeersGone, when the last peer goes: under
	// OptionFailNoPeers the calls waiting then fail with ErrNoPeers, as
	// mangos's do. A new one starts with the next peer. Under mu.
	withPeers    context.Context
	endWithPeers context.CancelCauseFunc
	// dialers and listeners, for pipes to name theirs.
	dialers   []*dialer
	listeners []*listener
}

// Native returns the mqwire socket underneath (mangos.Device uses it).
func (k *sock) Native() *socket.Socket { return k.s }

// defaults returns the options the socket has, with their defaults.
func (k *sock) defaults() map[string]interface{} {
	info := k.s.Info()
	v := map[string]interface{}{
		mangos.OptionRaw:              k.raw,
		mangos.OptionLinger:           socket.DefaultLinger,
		mangos.OptionMaxRecvSize:      int(socket.DefaultMaxRecvSize),
		mangos.OptionReconnectTime:    socket.DefaultReconnectInterval,
		mangos.OptionMaxReconnectTime: time.Duration(0),
		mangos.OptionDialAsynch:       false,
		mangos.OptionTLSConfig:        (*tls.Config)(nil),
		mangos.OptionKeepAlive:        true,
		mangos.OptionNoDelay:          true,
	}
	if info.CanSend {
		v[mangos.OptionSendDeadline] = time.Duration(0)
		v[mangos.OptionWriteQLen] = socket.DefaultHWM
	}
	if info.CanRecv {
		v[mangos.OptionRecvDeadline] = time.Duration(0)
		v[mangos.OptionReadQLen] = socket.DefaultHWM
	}
	if k.proto.bestEffort {
		v[mangos.OptionBestEffort] = false
	}
	if k.proto.failNoPeers {
		v[mangos.OptionFailNoPeers] = false
	}
	own := k.proto.cooked
	if k.raw {
		own = k.proto.raw
	}
	maps.Copy(v, own)
	return v
}

func (k *sock) Info() mangos.ProtocolInfo { return k.proto.info }

func (k *sock) Close() error {
	if err := k.s.Close(); err != nil {
		return mapErr(err, false)
	}
	return nil
}

func (k *sock) Send(b []byte) error { return k.sendBytes(b, k.s.SendContext) }

func (k *sock) Recv() ([]byte, error) { return k.recvBytes(k.s.RecvContext) }

func (k *sock) SendMsg(m *mangos.Message) error { return k.sendMsg(m, k.s.SendContext) }

func (k *sock) RecvMsg() (*mangos.Message, error) { return k.recvMsg(k.s.RecvContext) }

// sendFunc and recvFunc are the socket's or a context's send and receive.
type (
	sendFunc func(context.Context, *socket.Message) error
	recvFunc func(context.Context) (*socket.Message, error)
)

// errPeersGone ends withPeers.
var errPeersGone = errors.New("the last peer has gone")

// callContext returns the context of a send or receive: under
// OptionFailNoPeers one that ends when the last peer goes, and ok false
// when there is no peer now; else the background.
func (k *sock) callContext() (ctx context.Context, ok bool) {
	if !k.failNoPeers.Load() {
		return context.Background(), true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.peers.Load() == 0 {
		return nil, false
	}
	return k.withPeers, true
}

// peersGone reports whether a call on ctx failed because the last peer
// went.
func peersGone(ctx context.Context, err error) bool {
	return err != nil && context.Cause(ctx) == errPeersGone
}

// sendBytes sends a copy of b through send (the socket's or a context's).
func (k *sock) sendBytes(b []byte, send sendFunc) error {
	m := socket.NewMessageBytes(b)
	if dropped, err := k.send(m, send); err != nil || dropped {
		m.Free()
		return err
	}
	return nil
}

// recvBytes receives through recv (the socket's or a context's) and
// returns the body.
func (k *sock) recvBytes(recv recvFunc) ([]byte, error) {
	m, err := k.recv(recv)
	if err != nil {
		return nil, err
	}
	return body(m), nil
}

// recvMsg receives through recv as a mangos message.
func (k *sock) recvMsg(recv recvFunc) (*mangos.Message, error) {
	m, err := k.recv(recv)
	if err != nil {
		return nil, err
	}
	return bridge.Wrap(m, k.raw, k.pipeOf(m.Pipe)).(*mangos.Message), nil
}

// sendMsg sends m through send (the socket's or a context's), which takes
// it unless it fails.
func (k *sock) sendMsg(m *mangos.Message, send sendFunc) error {
	n, reused := bridge.Native(m, k.raw)
	dropped, err := k.send(n, send)
	if err != nil {
		if !reused {
			n.Free()
		}
		return err
	}
	if dropped {
		if !reused {
			n.Free()
		}
		m.Free() // a dropped message is taken too, as a sent one is
		return nil
	}
	bridge.Sent(m, reused)
	return nil
}

// send sends n through send with mangos's OptionFailNoPeers (no peer: fail
// at once) and OptionBestEffort (no room: drop, reporting dropped, rather
// than wait; the socket's send timeout is then zero).
func (k *sock) send(n *socket.Message, send sendFunc) (dropped bool, err error) {
	ctx, ok := k.callContext()
	if !ok {
		return false, mangos.ErrNoPeers
	}
	err = send(ctx, n)
	switch {
	case peersGone(ctx, err):
		return false, mangos.ErrNoPeers
	case err != nil && k.bestEffort.Load() && isTimeout(err):
		return true, nil
	}
	return false, mapErr(err, true)
}

// recv receives through recv, failing under OptionFailNoPeers when the
// socket has no peer, or when its last peer goes while recv waits.
func (k *sock) recv(recv recvFunc) (*socket.Message, error) {
	ctx, ok := k.callContext()
	if !ok {
		return nil, mangos.ErrNoPeers
	}
	m, err := recv(ctx)
	if peersGone(ctx, err) {
		return nil, mangos.ErrNoPeers
	}
	return m, mapErr(err, false)
}

// copyOutMax is the largest body Recv copies out, giving the message back
// to the pool: below it, one small allocation (as mangos's Recv makes)
// costs less than a pooled message's worth left to the collector; above
// it, handing the body over saves the copy.
const copyOutMax = 16 << 10

// body returns m's body for the caller to keep, taking m: a small body is
// copied out and m freed; a large one is the caller's, m left unfreed, a
// body loaned from shared memory copied out first.
func body(m *socket.Message) []byte {
	if len(m.Body) <= copyOutMax {
		b := bytes.Clone(m.Body)
		m.Free()
		return b
	}
	if m.Loaned() {
		m.Detach()
	}
	return m.Body
}

func (k *sock) OpenContext() (mangos.Context, error) {
	if k.proto.openContext == nil || k.raw {
		return nil, mangos.ErrProtoOp
	}
	nc, err := k.proto.openContext(k.s)
	if err != nil {
		return nil, mapErr(err, false)
	}
	c := &sockContext{k: k, nc: nc, vals: map[string]interface{}{}}
	k.mu.Lock()
	for _, name := range contextOptions {
		if v, ok := k.vals[name]; ok {
			c.vals[name] = v
		}
	}
	k.mu.Unlock()
	return c, nil
}

func (k *sock) SetPipeEventHook(h mangos.PipeEventHook) mangos.PipeEventHook {
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.hook
	k.hook = h
	return old
}

// pipeHook follows the socket's pipes (socket.PipeHook) and calls the
// application's hook.
func (k *sock) pipeHook(ev socket.PipeHookEvent, p *socket.Pipe) {
	k.mu.Lock()
	var w *pipe
	if x, ok := k.pipes.Load(p.ID()); ok {
		w = x.(*pipe)
	} else {
		w = &pipe{k: k, p: p, id: p.ID()}
		w.d, w.l = k.endpointOf(p)
		k.pipes.Store(p.ID(), w)
	}
	switch ev {
	case socket.PipeAdded:
		w.added = true
		if k.peers.Add(1) == 1 {
			k.withPeers, k.endWithPeers = context.WithCancelCause(context.Background())
		}
	case socket.PipeRemoved:
		if w.added && k.peers.Add(-1) == 0 {
			k.endWithPeers(errPeersGone)
		}
	}
	h := k.hook
	k.mu.Unlock()
	if h != nil {
		switch ev {
		case socket.PipeAdding:
			h(mangos.PipeEventAttaching, w)
		case socket.PipeAdded:
			h(mangos.PipeEventAttached, w)
		case socket.PipeRemoved:
			h(mangos.PipeEventDetached, w)
		}
	}
	if ev == socket.PipeRemoved {
		k.pipes.Delete(p.ID())
	}
}

// pipeOf returns the pipe a message came on: nil for none, and a pipe
// that only knows its id when the pipe has gone meanwhile.
func (k *sock) pipeOf(id socket.PipeID) mangos.Pipe {
	if id == 0 {
		return nil
	}
	if w, ok := k.pipes.Load(id); ok {
		return w.(*pipe)
	}
	return &pipe{k: k, id: id}
}

// endpointOf finds the dialer or listener that made p. Under k.mu.
func (k *sock) endpointOf(p *socket.Pipe) (*dialer, *listener) {
	if p.Dialed() {
		for _, d := range k.dialers {
			if d.addr == p.URL() {
				return d, nil
			}
		}
		return nil, nil
	}
	for _, l := range k.listeners {
		if l.Address() == p.URL() {
			return nil, l
		}
	}
	return nil, nil
}

// mapErr returns mangos's error for an mqwire error; sending says which
// timeout a timeout is.
func mapErr(err error, sending bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, surveyor.ErrSurveyOver):
		return mangos.ErrProtoState // mangos's surveyor, when its survey is over
	case isTimeout(err):
		if sending {
			return mangos.ErrSendTimeout
		}
		return mangos.ErrRecvTimeout
	}
	for _, e := range errorMap {
		if errors.Is(err, e.native) {
			return e.mangos
		}
	}
	return err
}

// timeouts converts a mangos deadline (0 none, negative do not wait) to an
// mqwire timeout (negative none, 0 do not wait).
func timeout(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return -1
	case d < 0:
		return 0
	}
	return d
}

// nativeOption returns the mqwire option that sets the socket option name
// to v, which is of the right type already; none when the shim keeps the
// value itself. Under k.mu.
func (k *sock) nativeOption(name string, v interface{}) ([]socket.Option, error) {
	switch name {
	case mangos.OptionRecvDeadline:
		return []socket.Option{socket.RecvTimeout(timeout(v.(time.Duration)))}, nil
	case mangos.OptionSendDeadline:
		if k.bestEffort.Load() {
			return nil, nil // the timeout stays zero until best effort ends
		}
		return []socket.Option{socket.SendTimeout(timeout(v.(time.Duration)))}, nil
	case mangos.OptionBestEffort:
		d := k.vals[mangos.OptionSendDeadline].(time.Duration)
		if v.(bool) {
			return []socket.Option{socket.SendTimeout(0)}, nil
		}
		return []socket.Option{socket.SendTimeout(timeout(d))}, nil
	case mangos.OptionLinger:
		return []socket.Option{socket.Linger(v.(time.Duration))}, nil
	case mangos.OptionMaxRecvSize:
		return []socket.Option{socket.MaxRecvSize(int64(v.(int)))}, nil
	case mangos.OptionReconnectTime:
		return []socket.Option{socket.ReconnectInterval(v.(time.Duration))}, nil
	case mangos.OptionMaxReconnectTime:
		return []socket.Option{socket.ReconnectIntervalMax(v.(time.Duration))}, nil
	case mangos.OptionWriteQLen:
		return []socket.Option{socket.SendHWM(v.(int))}, nil
	case mangos.OptionReadQLen:
		return []socket.Option{socket.RecvHWM(v.(int))}, nil
	case mangos.OptionTLSConfig:
		return []socket.Option{socket.TLSConfig(v.(*tls.Config))}, nil
	case mangos.OptionKeepAlive:
		return []socket.Option{socket.TCPKeepAlive(net.KeepAliveConfig{Enable: v.(bool)})}, nil
	case mangos.OptionKeepAliveTime:
		d := v.(time.Duration)
		return []socket.Option{socket.TCPKeepAlive(net.KeepAliveConfig{Enable: true, Idle: d, Interval: d})}, nil
	case mangos.OptionRetryTime:
		return []socket.Option{req.ResendInterval(v.(time.Duration))}, nil
	case mangos.OptionSurveyTime:
		d := v.(time.Duration)
		if d == 0 {
			d = forever
		}
		return []socket.Option{surveyor.SurveyTime(d)}, nil
	case mangos.OptionTTL:
		return []socket.Option{k.proto.ttl(v.(int))}, nil
	case mangos.OptionSubscribe:
		return []socket.Option{sub.Subscribe(v.([]byte))}, nil
	case mangos.OptionUnsubscribe:
		return []socket.Option{sub.Unsubscribe(v.([]byte))}, nil
	}
	return nil, nil // kept by the shim (OptionDialAsynch, OptionFailNoPeers, OptionNoDelay)
}

// forever stands for mangos's "no limit" where mqwire wants a duration.
const forever = 100 * 365 * 24 * time.Hour

func (k *sock) SetOption(name string, value interface{}) error {
	v, err := k.checkValue(name, value)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	opt, err := k.nativeOption(name, v)
	if err != nil {
		return err
	}
	if len(opt) > 0 {
		if err := k.s.SetOption(opt...); err != nil {
			return optionErr(err)
		}
	}
	switch name {
	case mangos.OptionSubscribe, mangos.OptionUnsubscribe:
		return nil // not kept
	case mangos.OptionBestEffort:
		k.bestEffort.Store(v.(bool))
	case mangos.OptionFailNoPeers:
		k.failNoPeers.Store(v.(bool))
	}
	k.vals[name] = v
	return nil
}

// checkValue checks that the socket has the option and that value has its
// type, and returns the value as the option keeps it.
func (k *sock) checkValue(name string, value interface{}) (interface{}, error) {
	k.mu.Lock()
	_, ok := k.vals[name]
	k.mu.Unlock()
	if !ok || readOnly(name) {
		return nil, mangos.ErrBadOption
	}
	return checkType(name, value)
}

func (k *sock) GetOption(name string) (interface{}, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.vals[name]
	if !ok || name == mangos.OptionSubscribe || name == mangos.OptionUnsubscribe {
		return nil, mangos.ErrBadOption
	}
	return v, nil
}
