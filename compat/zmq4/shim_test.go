package zmq4

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"testing"
	"time"

	gozmq4 "github.com/go-zeromq/zmq4"
	zplain "github.com/go-zeromq/zmq4/security/plain"

	"github.com/mqwire/mqwire/internal/testutil"
)

// These tests are of the shim itself: its sockets with each other over
// inproc, ipc and tcp, and with the zmq4 module's own over tcp (the
// zmq4_test files beside them test mqwire's native sockets against zmq4).

var quiet = log.New(io.Discard, "", 0)

// endpoint returns a fresh endpoint (tcp's on port 0: see bound).
func endpoint(t *testing.T, transport string) string { return testutil.URL(t, transport) }

// bound returns the endpoint s listens on, its tcp port filled in.
func bound(t *testing.T, s Socket, transport, ep string) string {
	t.Helper()
	if transport != "tcp" {
		return ep
	}
	return "tcp://" + s.Addr().String()
}

// frames is message i of a test: three frames, the second empty and the
// third empty in every fifth. zmq4's REP takes the last empty frame of a
// request for the end of its envelope, so the tests with zmq4 send no
// empty frame.
func frames(tag string, i int) [][]byte {
	f := [][]byte{fmt.Appendf(nil, "%s-%d", tag, i), {}, bytes.Repeat([]byte{byte(i)}, i%5*100)}
	if strings.HasSuffix(tag, "zmq4") {
		f[1], f[2] = []byte("-"), append(f[2], '-')
	}
	return f
}

func sameFrames(t *testing.T, who string, got Msg, want [][]byte) {
	t.Helper()
	if len(got.Frames) != len(want) {
		t.Fatalf("%s: %v, want %d frames", who, got, len(want))
	}
	for i := range want {
		if !bytes.Equal(got.Frames[i], want[i]) {
			t.Fatalf("%s: frame %d is %q, want %q", who, i, got.Frames[i], want[i])
		}
	}
}

// pairings are the socket types that talk, one listening and one dialing.
var pairings = []struct {
	name              string
	listener, dialer  func(context.Context, ...Option) Socket
	zListen, zDial    func(context.Context, ...gozmq4.Option) gozmq4.Socket
	listenerSends     bool // else the dialer sends first
	reply, subscribes bool
}{
	{name: "push-pull", listener: NewPull, dialer: NewPush, zListen: gozmq4.NewPull, zDial: gozmq4.NewPush},
	{name: "pull-push", listener: NewPush, dialer: NewPull, zListen: gozmq4.NewPush, zDial: gozmq4.NewPull, listenerSends: true},
	{name: "rep-req", listener: NewRep, dialer: NewReq, zListen: gozmq4.NewRep, zDial: gozmq4.NewReq, reply: true},
	{name: "pub-sub", listener: NewPub, dialer: NewSub, zListen: gozmq4.NewPub, zDial: gozmq4.NewSub, listenerSends: true, subscribes: true},
	{name: "pair", listener: NewPair, dialer: NewPair, zListen: gozmq4.NewPair, zDial: gozmq4.NewPair},
	{name: "router-dealer", listener: NewRouter, dialer: NewDealer, zListen: gozmq4.NewRouter, zDial: gozmq4.NewDealer, reply: true},
}

// exchange sends n messages from the sending side to the receiving one,
// and for a request-reply pairing a reply to each.
func exchange(t *testing.T, name string, l, d Socket, listenerSends, reply bool, n int) {
	t.Helper()
	from, to := d, l
	if listenerSends {
		from, to = l, d
	}
	for i := range n {
		want := frames(name, i)
		if err := from.Send(NewMsgFrom(want...)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		got, err := to.Recv()
		if err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		if to.Type() == Router {
			// The routing id comes first; the reply goes back by it.
			id := got.Frames[0]
			sameFrames(t, "router", Msg{Frames: got.Frames[1:]}, want)
			if err := to.Send(NewMsgFrom(append([][]byte{id}, want...)...)); err != nil {
				t.Fatal(err)
			}
		} else {
			sameFrames(t, "receiver", got, want)
			if reply {
				if err := to.Send(got); err != nil {
					t.Fatal(err)
				}
			}
		}
		if reply {
			back, err := from.Recv()
			if err != nil {
				t.Fatalf("reply %d: %v", i, err)
			}
			sameFrames(t, "reply", back, want)
		}
	}
}

// ask sends request i of a test from req and checks that the reply
// echoes it.
func ask(t *testing.T, req Socket, tag string, i int) {
	t.Helper()
	want := frames(tag, i)
	if err := req.Send(NewMsgFrom(want...)); err != nil {
		t.Fatal(err)
	}
	got, err := req.Recv()
	if err != nil {
		t.Fatal(err)
	}
	sameFrames(t, "reply", got, want)
}

// settle waits for a subscriber's subscription to reach its publisher: a
// message on the topic until one arrives.
func settle(t *testing.T, pub, sub Socket) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		m, err := sub.Recv()
		if err == nil && string(m.Frames[0]) != "hello" {
			err = fmt.Errorf("got %v before hello", m)
		}
		got <- err
	}()
	for {
		if err := pub.Send(NewMsgString("hello")); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestShimPairings(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, p := range pairings {
		for _, tr := range []string{"inproc", "ipc", "tcp"} {
			t.Run(p.name+"/"+tr, func(t *testing.T) {
				ctx := context.Background()
				l := p.listener(ctx, WithLogger(quiet))
				defer l.Close()
				d := p.dialer(ctx, WithLogger(quiet))
				defer d.Close()
				ep := endpoint(t, tr)
				if err := l.Listen(ep); err != nil {
					t.Fatal(err)
				}
				if err := d.Dial(bound(t, l, tr, ep)); err != nil {
					t.Fatal(err)
				}
				if p.subscribes {
					if err := d.SetOption(OptionSubscribe, ""); err != nil {
						t.Fatal(err)
					}
					settle(t, l, d)
				}
				exchange(t, p.name, l, d, p.listenerSends, p.reply, 30)
			})
		}
	}
}

// TestShimWithZmq4: the shim's sockets with zmq4's own, each listening in
// turn, over tcp.
func TestShimWithZmq4(t *testing.T) {
	for _, p := range pairings {
		for _, shimListens := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/shim-listens=%v", p.name, shimListens), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var l, d Socket
				var zl, zd gozmq4.Socket
				if shimListens {
					l = p.listener(ctx, WithLogger(quiet))
					defer l.Close()
					if err := l.Listen("tcp://127.0.0.1:0"); err != nil {
						t.Fatal(err)
					}
					zd = p.zDial(ctx, gozmq4.WithLogger(quiet))
					defer zd.Close()
					if err := zd.Dial("tcp://" + l.Addr().String()); err != nil {
						t.Fatal(err)
					}
					d = zmq4Socket{zd}
				} else {
					zl = p.zListen(ctx, gozmq4.WithLogger(quiet))
					defer zl.Close()
					if err := zl.Listen("tcp://127.0.0.1:0"); err != nil {
						t.Fatal(err)
					}
					l = zmq4Socket{zl}
					d = p.dialer(ctx, WithLogger(quiet))
					defer d.Close()
					if err := d.Dial("tcp://" + zl.Addr().String()); err != nil {
						t.Fatal(err)
					}
				}
				if p.subscribes {
					if err := d.SetOption(OptionSubscribe, ""); err != nil {
						t.Fatal(err)
					}
					settle(t, l, d)
				}
				exchange(t, p.name+"-zmq4", l, d, p.listenerSends, p.reply, 20)
			})
		}
	}
}

// zmq4Socket is a zmq4 socket seen through this package's Socket.
type zmq4Socket struct{ z gozmq4.Socket }

func (s zmq4Socket) Close() error                            { return s.z.Close() }
func (s zmq4Socket) Send(m Msg) error                        { return s.z.Send(gozmq4.NewMsgFrom(m.Frames...)) }
func (s zmq4Socket) SendMulti(m Msg) error                   { return s.z.SendMulti(gozmq4.NewMsgFrom(m.Frames...)) }
func (s zmq4Socket) Listen(ep string) error                  { return s.z.Listen(ep) }
func (s zmq4Socket) Dial(ep string) error                    { return s.z.Dial(ep) }
func (s zmq4Socket) Type() SocketType                        { return SocketType(s.z.Type()) }
func (s zmq4Socket) Addr() net.Addr                          { return s.z.Addr() }
func (s zmq4Socket) GetOption(n string) (interface{}, error) { return s.z.GetOption(n) }
func (s zmq4Socket) SetOption(n string, v interface{}) error { return s.z.SetOption(n, v) }
func (s zmq4Socket) Recv() (Msg, error) {
	m, err := s.z.Recv()
	return Msg{Frames: m.Frames}, err
}

// TestShimDial: Dial waits for its connection, trying again every
// WithDialerRetry, and fails after WithDialerMaxRetries more attempts.
func TestShimDial(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx := context.Background()
	ep := "ipc://" + testutil.ShortTempDir(t) + "/late.sock"

	d := NewPush(ctx, WithLogger(quiet), WithDialerRetry(5*time.Millisecond), WithDialerMaxRetries(3))
	defer d.Close()
	start := time.Now()
	err := d.Dial(ep)
	if err == nil {
		t.Fatal("Dial to nothing succeeded")
	}
	if time.Since(start) < 10*time.Millisecond { // 3 more attempts, about 5 ms apart
		t.Errorf("Dial gave up after %v, before trying again", time.Since(start))
	}

	l := NewPull(ctx, WithLogger(quiet))
	defer l.Close()
	go func() {
		time.Sleep(50 * time.Millisecond)
		l.Listen(ep)
	}()
	d2 := NewPush(ctx, WithLogger(quiet), WithDialerRetry(5*time.Millisecond), WithDialerMaxRetries(-1))
	defer d2.Close()
	if err := d2.Dial(ep); err != nil {
		t.Fatalf("Dial to a listener that comes late: %v", err)
	}
	if err := d2.Send(NewMsgString("late")); err != nil {
		t.Fatal(err)
	}
	if m, err := l.Recv(); err != nil || string(m.Bytes()) != "late" {
		t.Fatalf("got %v, %v", m, err)
	}
}

// TestShimReconnect: a connection lost stays lost unless
// WithAutomaticReconnect(true), as in zmq4.
func TestShimReconnect(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, auto := range []bool{false, true} {
		t.Run(fmt.Sprintf("auto=%v", auto), func(t *testing.T) {
			ctx := context.Background()
			ep := "ipc://" + testutil.ShortTempDir(t) + "/r.sock"
			l := NewPull(ctx, WithLogger(quiet))
			if err := l.Listen(ep); err != nil {
				t.Fatal(err)
			}
			d := NewPush(ctx, WithLogger(quiet), WithDialerRetry(5*time.Millisecond), WithAutomaticReconnect(auto))
			defer d.Close()
			if err := d.Dial(ep); err != nil {
				t.Fatal(err)
			}
			l.Close()
			l = NewPull(ctx, WithLogger(quiet))
			defer l.Close()
			if err := l.Listen(ep); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // 20 retry intervals
			pipes := len(Native(d).PipeStats())
			if auto && pipes != 1 || !auto && pipes != 0 {
				t.Fatalf("%d connections after the listener came back", pipes)
			}
		})
	}
}

// TestShimOptions: options are checked when set.
func TestShimOptions(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx := context.Background()
	s := NewSub(ctx, WithLogger(quiet))
	defer s.Close()
	if err := s.SetOption(OptionSubscribe, []byte("x")); !errors.Is(err, ErrBadProperty) {
		t.Errorf("a []byte subscription: %v", err)
	}
	if err := s.SetOption(OptionHWM, 10); !errors.Is(err, ErrBadProperty) {
		t.Errorf("HWM on a SUB: %v", err)
	}
	if err := s.SetOption(OptionSubscribe, "x"); err != nil {
		t.Error(err)
	}
	if err := s.SetOption(OptionUnsubscribe, "x"); err != nil {
		t.Error(err)
	}
	p := NewPub(ctx, WithLogger(quiet))
	defer p.Close()
	if _, err := p.GetOption(OptionHWM); !errors.Is(err, ErrBadProperty) {
		t.Errorf("HWM never set: %v", err)
	}
	if err := p.SetOption(OptionHWM, 10); err != nil {
		t.Error(err)
	}
	if v, err := p.GetOption(OptionHWM); err != nil || v != 10 {
		t.Errorf("HWM: %v, %v", v, err)
	}
	if err := p.SetOption(OptionHWM, "10"); !errors.Is(err, ErrBadProperty) {
		t.Errorf("a string HWM: %v", err)
	}
	withID := NewPub(ctx, WithLogger(quiet), WithID(SocketIdentity("me")))
	defer withID.Close()
	if err := withID.Listen("inproc://shim-options"); err == nil {
		t.Error("a PUB with a routing id listened")
	}
	if err := p.Listen("udp://127.0.0.1:5555"); !errors.As(err, new(UnknownTransportError)) {
		t.Errorf("udp: %v", err)
	}
}

// TestShimPlain: PLAIN with the same credentials on both sides, over the
// shim and with zmq4; a client with a wrong password is refused.
func TestShimPlain(t *testing.T) {
	ctx := context.Background()
	l := NewRep(ctx, WithLogger(quiet), WithSecurity(NewPlainSecurity("u", "p")))
	defer l.Close()
	if err := l.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ep := "tcp://" + l.Addr().String()
	good := NewReq(ctx, WithLogger(quiet), WithSecurity(NewPlainSecurity("u", "p")))
	defer good.Close()
	if err := good.Dial(ep); err != nil {
		t.Fatal(err)
	}
	exchange(t, "plain", l, good, false, true, 3)
	if err := good.Listen("tcp://127.0.0.1:0"); !errors.Is(err, errRole) {
		t.Errorf("a PLAIN client listening: %v", err)
	}

	bad := NewReq(ctx, WithLogger(quiet), WithSecurity(NewPlainSecurity("u", "wrong")), WithDialerMaxRetries(0))
	defer bad.Close()
	if err := bad.Dial(ep); err == nil {
		t.Error("a wrong password connected")
	}

	z := gozmq4.NewReq(ctx, gozmq4.WithLogger(quiet), gozmq4.WithSecurity(zplain.Security("u", "p")))
	defer z.Close()
	if err := z.Dial(ep); err != nil {
		t.Fatal(err)
	}
	exchange(t, "plain-zmq4", l, zmq4Socket{z}, false, true, 3)
}

// ExampleNewPush: code written for zmq4 runs on mqwire with the import
// path changed.
func ExampleNewPush() {
	ctx := context.Background()
	pull := NewPull(ctx)
	defer pull.Close()
	if err := pull.Listen("inproc://example-push"); err != nil {
		log.Fatal(err)
	}
	push := NewPush(ctx)
	defer push.Close()
	if err := push.Dial("inproc://example-push"); err != nil {
		log.Fatal(err)
	}
	if err := push.Send(NewMsgFrom([]byte("hello"), []byte("world"))); err != nil {
		log.Fatal(err)
	}
	m, err := pull.Recv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m)
	// Output: Msg{Frames:{"hello", "world"}}
}

// TestShimProxy: a ROUTER-DEALER proxy between REQs and a REP, paused,
// resumed, and killed; Run returns nil after Kill.
func TestShimProxy(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx := context.Background()
	front, back := NewRouter(ctx, WithLogger(quiet)), NewDealer(ctx, WithLogger(quiet))
	defer front.Close()
	defer back.Close()
	if err := front.Listen("inproc://shim-proxy-front"); err != nil {
		t.Fatal(err)
	}
	if err := back.Listen("inproc://shim-proxy-back"); err != nil {
		t.Fatal(err)
	}
	p := NewProxy(ctx, front, back, nil)
	rep := NewRep(ctx, WithLogger(quiet))
	defer rep.Close()
	if err := rep.Dial("inproc://shim-proxy-back"); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			m, err := rep.Recv()
			if err != nil {
				return
			}
			if rep.Send(m) != nil {
				return
			}
		}
	}()
	req := NewReq(ctx, WithLogger(quiet))
	defer req.Close()
	if err := req.Dial("inproc://shim-proxy-front"); err != nil {
		t.Fatal(err)
	}
	ask(t, req, "proxy", 0)
	p.Pause()
	if err := req.Send(NewMsgString("paused")); err != nil {
		t.Fatal(err)
	}
	got := make(chan Msg, 1)
	go func() {
		m, _ := req.Recv()
		got <- m
	}()
	select {
	case m := <-got:
		t.Fatalf("a reply through a paused proxy: %v", m)
	case <-time.After(50 * time.Millisecond):
	}
	p.Resume()
	if m := <-got; string(m.Bytes()) != "paused" {
		t.Fatalf("after Resume: %v", m)
	}
	ask(t, req, "proxy", 1)
	p.Stats()
	p.Kill()
	if err := p.Run(); err != nil {
		t.Fatalf("Run after Kill: %v", err)
	}
}

// TestShimContext: a socket ends with its context: Recv returns the
// context's error and every goroutine ends.
func TestShimContext(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := NewPull(ctx, WithLogger(quiet))
	if err := s.Listen("inproc://shim-context"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Recv()
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Recv returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv still waits after its context ended")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after the context ended: %v", err)
	}
	if err := s.Close(); err == nil {
		t.Error("a second Close said nothing")
	}
}

// TestShimXPubXSub: an XSUB subscribes by sending, its XPUB receives the
// subscription, and what the XPUB publishes on the topic arrives.
func TestShimXPubXSub(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx := context.Background()
	xp, xs := NewXPub(ctx, WithLogger(quiet)), NewXSub(ctx, WithLogger(quiet))
	defer xp.Close()
	defer xs.Close()
	if err := xp.Listen("inproc://shim-xpub"); err != nil {
		t.Fatal(err)
	}
	if err := xs.Dial("inproc://shim-xpub"); err != nil {
		t.Fatal(err)
	}
	if err := xs.Send(NewMsg([]byte("\x01news"))); err != nil {
		t.Fatal(err)
	}
	m, err := xp.Recv()
	if err != nil || string(m.Bytes()) != "\x01news" {
		t.Fatalf("the XPUB got %v, %v", m, err)
	}
	if err := xp.Send(NewMsgString("sport: none")); err != nil {
		t.Fatal(err)
	}
	if err := xp.Send(NewMsgFrom([]byte("news"), []byte("today"))); err != nil {
		t.Fatal(err)
	}
	m, err = xs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	sameFrames(t, "xsub", m, [][]byte{[]byte("news"), []byte("today")})
}

// TestShimTopics: a SUB lists its topics, sorted, as zmq4's does.
func TestShimTopics(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := NewSub(context.Background(), WithLogger(quiet))
	defer s.Close()
	for _, tp := range []string{"b", "a", "c"} {
		if err := s.SetOption(OptionSubscribe, tp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetOption(OptionUnsubscribe, "c"); err != nil {
		t.Fatal(err)
	}
	if got := s.(Topics).Topics(); strings.Join(got, ",") != "a,b" {
		t.Fatalf("topics %q", got)
	}
	if Native(s) == nil {
		t.Fatal("no native socket under a SUB")
	}
}

// TestPublisherTopicsAsZmq4: a PUB and an XPUB list their subscribers'
// topics as zmq4's do, step by step, each with two SUBs of its own kind
// over tcp: sorted, each once, a cancelled topic gone only when no
// subscriber keeps it, a subscriber's topics gone with it.
func TestPublisherTopicsAsZmq4(t *testing.T) {
	type kit struct {
		pub, xpub, sub func(context.Context) Topics
	}
	kits := map[string]kit{
		"shim": {
			pub:  func(ctx context.Context) Topics { return NewPub(ctx, WithLogger(quiet)).(Topics) },
			xpub: func(ctx context.Context) Topics { return NewXPub(ctx, WithLogger(quiet)).(Topics) },
			sub:  func(ctx context.Context) Topics { return NewSub(ctx, WithLogger(quiet)).(Topics) },
		},
		"zmq4": {
			pub:  func(ctx context.Context) Topics { return gozmq4.NewPub(ctx, gozmq4.WithLogger(quiet)).(Topics) },
			xpub: func(ctx context.Context) Topics { return gozmq4.NewXPub(ctx, gozmq4.WithLogger(quiet)).(Topics) },
			sub:  func(ctx context.Context) Topics { return gozmq4.NewSub(ctx, gozmq4.WithLogger(quiet)).(Topics) },
		},
	}
	type socketLike interface {
		Topics
		Listen(string) error
		Dial(string) error
		Addr() net.Addr
		SetOption(string, interface{}) error
		Close() error
	}
	for name, k := range kits {
		for kind, newPub := range map[string]func(context.Context) Topics{"pub": k.pub, "xpub": k.xpub} {
			t.Run(name+"/"+kind, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				p := newPub(ctx).(socketLike)
				defer p.Close()
				if err := p.Listen("tcp://127.0.0.1:0"); err != nil {
					t.Fatal(err)
				}
				subscriber := func(topics ...string) socketLike {
					s := k.sub(ctx).(socketLike)
					t.Cleanup(func() { s.Close() })
					if err := s.Dial("tcp://" + p.Addr().String()); err != nil {
						t.Fatal(err)
					}
					for _, tp := range topics {
						if err := s.SetOption(OptionSubscribe, tp); err != nil {
							t.Fatal(err)
						}
					}
					return s
				}
				wait := func(want ...string) {
					t.Helper()
					testutil.WaitStrings(t, 5*time.Second, func() ([]string, error) { return p.Topics(), nil }, want...)
				}
				one := subscriber("b", "a")
				two := subscriber("a", "")
				wait("", "a", "b")
				if err := one.SetOption(OptionUnsubscribe, "a"); err != nil {
					t.Fatal(err)
				}
				if err := two.SetOption(OptionUnsubscribe, ""); err != nil {
					t.Fatal(err)
				}
				wait("a", "b")
				two.Close()
				wait("b")
			})
		}
	}
}
