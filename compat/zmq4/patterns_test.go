package zmq4_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// zmtp makes an mqwire dialer speak ZMTP (patterns that also speak SP dial
// in SP by default).
var zmtp = socket.DialDialect(socket.DialectZMTP)

// pairing is one mqwire socket type against the zmq4 type it talks to.
type pairing struct {
	name string // "<mqwire type>-<zmq4 type>"
	mq   func() (*socket.Socket, error)
	z    func(opts ...zmq4.Option) zmq4.Socket
	run  func(t *testing.T, mq *socket.Socket, z *peer)

	// zmq4Leaks, when set, names a function of zmq4's whose goroutine
	// outlives zmq4's Close; the goroutine check then leaves goroutines
	// running it out of the count (see pubLeak).
	zmq4Leaks string
}

// subPrefix is the subscription of every subscriber here; publishers send
// messages with and without it.
var subPrefix = []byte("a-")

// pubLeak is the goroutine a zmq4 v0.17.0 PUB or XPUB leaves behind: its
// writer goroutine waits on a condition variable that only the writer's
// Close signals, and zmq4's socket Close never calls that, so the goroutine
// outlives the socket. testutil.CheckGoroutines counts every goroutine, so
// those pairings use checkGoroutinesExcept, which still checks that
// nothing of mqwire's (nor any other of zmq4's) is left.
const pubLeak = "zmq4.(*pubMWriter).run"

var pairings = []pairing{
	{
		name: "push-pull",
		mq:   func() (*socket.Socket, error) { return push.New(zmtp) },
		z:    zmqNew(zmq4.NewPull),
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			for i := range messages {
				mqSend(t, mq, parts("push", i, true)...)
			}
			for i := range messages {
				same(t, "zmq4 PULL", zRecv(t, z), parts("push", i, true))
			}
		},
	},
	{
		name: "pull-push",
		mq:   func() (*socket.Socket, error) { return pull.New(zmtp) },
		z:    zmqNew(zmq4.NewPush),
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			for i := range messages {
				zSend(t, z, parts("push", i, true)...)
			}
			for i := range messages {
				same(t, "mqwire pull", mqRecv(t, mq), parts("push", i, true))
			}
		},
	},
	{
		name: "pair-pair",
		mq:   func() (*socket.Socket, error) { return pair.New(zmtp) },
		z:    zmqNew(zmq4.NewPair),
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			for i := range messages {
				mqSend(t, mq, parts("ping", i, true)...)
				same(t, "zmq4 PAIR", zRecv(t, z), parts("ping", i, true))
				zSend(t, z, parts("pong", i, true)...)
				same(t, "mqwire pair", mqRecv(t, mq), parts("pong", i, true))
			}
		},
	},
	{
		name: "pub-sub",
		mq:   func() (*socket.Socket, error) { return pub.New(zmtp) },
		z:    zmqSub,
		run:  mqPublishes,
	},
	{
		name:      "sub-pub",
		mq:        func() (*socket.Socket, error) { return sub.New(sub.Subscribe(subPrefix), zmtp) },
		z:         zmqNew(zmq4.NewPub),
		run:       zmqPublishes,
		zmq4Leaks: pubLeak,
	},
	{
		name: "req-rep",
		mq:   func() (*socket.Socket, error) { return req.New(zmtp) },
		z:    zmqNew(zmq4.NewRep),
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			for i := range messages {
				// No empty frame in a request: zmq4's REP takes the last
				// empty frame of a message as the envelope delimiter.
				mqSend(t, mq, parts("req", i, false)...)
				same(t, "zmq4 REP", zRecv(t, z), parts("req", i, false))
				zSend(t, z, parts("rep", i, true)...)
				same(t, "mqwire req", mqRecv(t, mq), parts("rep", i, true))
			}
		},
	},
	{
		name: "rep-req",
		mq:   func() (*socket.Socket, error) { return rep.New(zmtp) },
		z:    zmqNew(zmq4.NewReq),
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			for i := range messages {
				zSend(t, z, parts("req", i, true)...)
				same(t, "mqwire rep", mqRecv(t, mq), parts("req", i, true))
				mqSend(t, mq, parts("rep", i, true)...)
				same(t, "zmq4 REQ", zRecv(t, z), parts("rep", i, true))
			}
		},
	},
	{
		name: "dealer-router",
		mq:   func() (*socket.Socket, error) { return dealer.New(socket.Identity([]byte("mq-dealer"))) },
		z:    zmqNew(zmq4.NewRouter),
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			id := []byte("mq-dealer")
			for i := range messages {
				mqSend(t, mq, parts("ask", i, true)...)
				got := zRecv(t, z)
				same(t, "zmq4 ROUTER", got, cat([][]byte{id}, parts("ask", i, true)...))
				zSend(t, z, cat([][]byte{got[0]}, parts("answer", i, true)...)...)
				same(t, "mqwire dealer", mqRecv(t, mq), parts("answer", i, true))
			}
		},
	},
	{
		name: "router-dealer",
		mq:   func() (*socket.Socket, error) { return router.New() },
		z: func(opts ...zmq4.Option) zmq4.Socket {
			return zmq4.NewDealer(context.Background(), append(opts, zmq4.WithID(zmq4.SocketIdentity("z-dealer")))...)
		},
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			id := []byte("z-dealer")
			for i := range messages {
				zSend(t, z, parts("ask", i, true)...)
				got := mqRecv(t, mq)
				same(t, "mqwire router", got, cat([][]byte{id}, parts("ask", i, true)...))
				mqSend(t, mq, cat([][]byte{got[0]}, parts("answer", i, true)...)...)
				same(t, "zmq4 DEALER", zRecv(t, z), parts("answer", i, true))
			}
		},
	},
	{
		name: "dealer-rep",
		mq:   func() (*socket.Socket, error) { return dealer.New() },
		z:    zmqNew(zmq4.NewRep),
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			for i := range messages {
				// The DEALER writes the empty delimiter itself; no other
				// empty frame (zmq4's REP splits at the last one).
				mqSend(t, mq, cat([][]byte{{}}, parts("ask", i, false)...)...)
				same(t, "zmq4 REP", zRecv(t, z), parts("ask", i, false))
				zSend(t, z, parts("answer", i, true)...)
				same(t, "mqwire dealer", mqRecv(t, mq), cat([][]byte{{}}, parts("answer", i, true)...))
			}
		},
	},
	{
		name: "router-req",
		mq:   func() (*socket.Socket, error) { return router.New() },
		z: func(opts ...zmq4.Option) zmq4.Socket {
			return zmq4.NewReq(context.Background(), append(opts, zmq4.WithID(zmq4.SocketIdentity("z-req")))...)
		},
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			id := []byte("z-req")
			for i := range messages {
				zSend(t, z, parts("ask", i, true)...)
				got := mqRecv(t, mq)
				same(t, "mqwire router", got, cat([][]byte{id, {}}, parts("ask", i, true)...))
				mqSend(t, mq, cat(got[:2], parts("answer", i, true)...)...)
				same(t, "zmq4 REQ", zRecv(t, z), parts("answer", i, true))
			}
		},
	},
	{
		name: "xpub-sub",
		mq:   func() (*socket.Socket, error) { return xpub.New() },
		z:    zmqSub,
		run: func(t *testing.T, mq *socket.Socket, z *peer) {
			// zmq4's 3.0-form subscription reaches the XPUB's reader as
			// libzmq's 1+topic message.
			same(t, "mqwire xpub", mqRecv(t, mq), [][]byte{append([]byte{1}, subPrefix...)})
			mqPublishes(t, mq, z)
		},
	},
	{
		name: "xsub-pub",
		mq: func() (*socket.Socket, error) {
			s, err := xsub.New()
			if err == nil {
				// Subscribed before connecting: sent when the pipe comes.
				err = s.SendBytes(append([]byte{1}, subPrefix...))
			}
			return s, err
		},
		z:         zmqNew(zmq4.NewPub),
		run:       zmqPublishes,
		zmq4Leaks: pubLeak,
	},
}

// zmqNew adapts a zmq4 constructor to a pairing's z field.
func zmqNew(f func(context.Context, ...zmq4.Option) zmq4.Socket) func(...zmq4.Option) zmq4.Socket {
	return func(opts ...zmq4.Option) zmq4.Socket { return f(context.Background(), opts...) }
}

// zmqSub is a zmq4 SUB subscribed to subPrefix before it connects (zmq4
// sends its subscriptions to each new connection).
func zmqSub(opts ...zmq4.Option) zmq4.Socket {
	s := zmq4.NewSub(context.Background(), opts...)
	if err := s.SetOption(zmq4.OptionSubscribe, string(subPrefix)); err != nil {
		panic(err) // zmq4 fails only for an unknown option name
	}
	return s
}

// mqPublishes: an mqwire publisher (PUB or XPUB) sends to a zmq4 SUB that
// subscribed to subPrefix. The subscription comes after the connection, so
// the publisher first repeats a warm-up message until one arrives; then it
// sends messages with and without the prefix, and an end marker with it.
// The SUB must get exactly the prefixed ones, in order, and the publisher's
// pipe must have written only those: the filtering is the publisher's, done
// with zmq4's 3.0-form subscription.
func mqPublishes(t *testing.T, mq *socket.Socket, z *peer) {
	warm := append(append([]byte(nil), subPrefix...), "warm"...)
	got := make(chan [][]byte, 1)
	go func() {
		m, err := z.Recv()
		if err == nil {
			got <- m.Frames
		}
	}()
	deadline := time.After(timeout)
warmup:
	for {
		mqSend(t, mq, warm)
		select {
		case f := <-got:
			same(t, "zmq4 SUB", f, [][]byte{warm})
			break warmup
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			t.Fatal("zmq4 SUB got no message: its subscription never reached the publisher")
		}
	}
	// Warm-ups still queued when the first arrived are written after it;
	// wait until the pipe has written every one sent so far.
	before := pipeOut(t, mq)
	for i := range messages {
		mqSend(t, mq, parts("b", i, true)...) // not subscribed
		mqSend(t, mq, cat([][]byte{append(slices.Clone(subPrefix), body("x", i)...)}, parts("a", i, true)[1:]...)...)
	}
	end := append(slices.Clone(subPrefix), "end"...)
	mqSend(t, mq, end)
	for i := range messages {
		f := zRecv(t, z)
		for string(f[0]) == string(warm) {
			f = zRecv(t, z)
		}
		same(t, "zmq4 SUB", f, cat([][]byte{append(slices.Clone(subPrefix), body("x", i)...)}, parts("a", i, true)[1:]...))
	}
	same(t, "zmq4 SUB", zRecv(t, z), [][]byte{end})
	if out := pipeOut(t, mq) - before; out > messages+1 {
		t.Fatalf("the publisher's pipe wrote %d messages after the warm-up, want %d (only the subscribed ones)", out, messages+1)
	}
}

// pipeOut is the MessagesOut of mq's only pipe, once it has stopped
// growing for a moment (writes are asynchronous).
func pipeOut(t *testing.T, mq *socket.Socket) uint64 {
	t.Helper()
	last, stable := uint64(0), 0
	deadline := time.Now().Add(timeout)
	for stable < 20 {
		ps := mq.PipeStats()
		if len(ps) != 1 {
			t.Fatalf("publisher has %d pipes, want 1", len(ps))
		}
		if n := ps[0].MessagesOut; n != last {
			last, stable = n, 0
		} else {
			stable++
		}
		if time.Now().After(deadline) {
			t.Fatal("the publisher's pipe never stopped writing")
		}
		time.Sleep(time.Millisecond)
	}
	return last
}

// zmqPublishes: a zmq4 PUB sends to an mqwire subscriber (SUB or XSUB)
// subscribed to subPrefix. A zmq4 PUB sends a connection nothing until it
// has a subscription from it, and keeps the topics per connection: seeing
// subPrefix among its topics proves mqwire sent the subscription in the 3.0
// form zmq4 understands (zmq4 would pass a SUBSCRIBE command to its reader
// queue instead). Then the subscriber must get exactly the prefixed
// messages, in order.
func zmqPublishes(t *testing.T, mq *socket.Socket, z *peer) {
	topics := z.Socket.(zmq4.Topics)
	waitFor(t, "the zmq4 PUB to know the subscription", func() bool {
		return slices.Contains(topics.Topics(), string(subPrefix))
	})
	if got := topics.Topics(); len(got) != 1 {
		t.Fatalf("zmq4 PUB topics %q, want only %q", got, subPrefix)
	}
	for i := range messages {
		zSend(t, z, parts("b", i, true)...)
		zSend(t, z, cat([][]byte{append(slices.Clone(subPrefix), body("x", i)...)}, parts("a", i, true)[1:]...)...)
	}
	for i := range messages {
		same(t, "mqwire subscriber", mqRecv(t, mq), cat([][]byte{append(slices.Clone(subPrefix), body("x", i)...)}, parts("a", i, true)[1:]...))
	}
}

// TestPatterns runs every pairing over tcp and ipc, with mqwire listening
// and zmq4 dialing, then the reverse. Subtests are named
// transport/who-listens/mqwire-type-zmq4-type, e.g.
// tcp/mqwire-listens/req-rep.
//
// The goroutine check is registered before the sockets are closed, so it
// measures after closing both and covers zmq4 too: zmq4 v0.17.0 stops its
// readers, accept loop and reaper on Close; only its publishers leave a
// goroutine behind (zmq4Leaks), which the check then does not count.
func TestPatterns(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			for _, mqListens := range []bool{true, false} {
				dir := "zmq4-listens"
				if mqListens {
					dir = "mqwire-listens"
				}
				t.Run(dir, func(t *testing.T) {
					for _, pc := range pairings {
						t.Run(pc.name, func(t *testing.T) {
							if pc.zmq4Leaks == "" {
								testutil.CheckGoroutines(t)
							} else {
								checkGoroutinesExcept(t, pc.zmq4Leaks)
							}
							lb := &logBuf{}
							mq := newMQ(t)(pc.mq())
							z := &peer{Socket: pc.z(zmqOpts(lb)...), log: lb}
							closeBoth(t, mq, z)
							connect(t, tr, mqListens, mq, z)
							pc.run(t, mq, z)
						})
					}
				})
			}
		})
	}
}
