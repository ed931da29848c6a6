package mangos_test

// The shim against the real mangos v3 module: code moved to the shim must
// still talk to the mangos programs it talked to before. Every pattern is
// run over tcp, ipc and ws with the shim listening and mangos dialing, then
// the reverse, and a shim Device relays a mangos client's requests to a
// mangos server. The shim's helpers (shim, attached, shimSend, shimRecv)
// are TestShim*'s, the mangos ones (peer, newPeer, mangosListen, mgSend,
// mgRecv) TestPatterns's.

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.nanomsg.org/mangos/v3"
	mbus "go.nanomsg.org/mangos/v3/protocol/bus"
	mpair "go.nanomsg.org/mangos/v3/protocol/pair"
	mpair1 "go.nanomsg.org/mangos/v3/protocol/pair1"
	mpub "go.nanomsg.org/mangos/v3/protocol/pub"
	mpull "go.nanomsg.org/mangos/v3/protocol/pull"
	mpush "go.nanomsg.org/mangos/v3/protocol/push"
	mrep "go.nanomsg.org/mangos/v3/protocol/rep"
	mreq "go.nanomsg.org/mangos/v3/protocol/req"
	mrespondent "go.nanomsg.org/mangos/v3/protocol/respondent"
	msub "go.nanomsg.org/mangos/v3/protocol/sub"
	msurveyor "go.nanomsg.org/mangos/v3/protocol/surveyor"

	mw "github.com/mqwire/mqwire/compat/mangos"
	mwbus "github.com/mqwire/mqwire/compat/mangos/protocol/bus"
	mwpair "github.com/mqwire/mqwire/compat/mangos/protocol/pair"
	mwpair1 "github.com/mqwire/mqwire/compat/mangos/protocol/pair1"
	mwpub "github.com/mqwire/mqwire/compat/mangos/protocol/pub"
	mwpull "github.com/mqwire/mqwire/compat/mangos/protocol/pull"
	mwpush "github.com/mqwire/mqwire/compat/mangos/protocol/push"
	mwrep "github.com/mqwire/mqwire/compat/mangos/protocol/rep"
	mwreq "github.com/mqwire/mqwire/compat/mangos/protocol/req"
	mwrespondent "github.com/mqwire/mqwire/compat/mangos/protocol/respondent"
	mwsub "github.com/mqwire/mqwire/compat/mangos/protocol/sub"
	mwsurveyor "github.com/mqwire/mqwire/compat/mangos/protocol/surveyor"
	mwxrep "github.com/mqwire/mqwire/compat/mangos/protocol/xrep"
	mwxreq "github.com/mqwire/mqwire/compat/mangos/protocol/xreq"
	"github.com/mqwire/mqwire/internal/testutil"
)

// surveyTime is the surveyors' OptionSurveyTime: below the receive
// deadline (timeout), so that a survey answered late fails on the survey
// time, not on the deadline.
const surveyTime = 2 * time.Second

// expireTime is the survey time of the survey left unanswered on purpose.
const expireTime = 100 * time.Millisecond

// side is one socket of a test, seen through sends and receives that fail
// the test on error.
type side struct {
	name string
	send func([]byte)
	recv func() []byte
}

func shimSide(t *testing.T, s mw.Socket) side {
	return side{"shim", func(b []byte) { shimSend(t, s, b) }, func() []byte { return shimRecv(t, s) }}
}

func mangosSide(t *testing.T, p *peer) side {
	return side{"mangos", func(b []byte) { mgSend(t, p, b) }, func() []byte { return mgRecv(t, p) }}
}

// roundTrips has a ask and b answer, messages times, checking every body.
func roundTrips(t *testing.T, a, b side) {
	t.Helper()
	for i := range messages {
		a.send(body("ask", i))
		same(t, b.name, b.recv(), body("ask", i))
		b.send(body("answer", i))
		same(t, a.name, a.recv(), body("answer", i))
	}
}

// streams sends messages from a to b, then from b to a, in order; then
// round trips.
func streams(t *testing.T, a, b side) {
	t.Helper()
	oneWay(t, b.name, a.send, b.recv)
	oneWay(t, a.name, b.send, a.recv)
	roundTrips(t, a, b)
}

// subscribed are the prefixes every subscriber here takes, the first as a
// string and the second as []byte (mangos takes both); body("b", i) starts
// with neither.
var subscribed = []any{"a-", []byte("c-")}

// filtered publishes messages of both subscribed topics and of one not
// subscribed, then an end marker: the subscriber must get exactly the
// subscribed ones, in order. As a connection keeps order, the end marker
// arriving next proves that no "b-" message got through.
func filtered(t *testing.T, pub, sub side) {
	t.Helper()
	for i := range messages {
		for _, topic := range []string{"a", "b", "c"} {
			pub.send(body(topic, i))
		}
	}
	pub.send([]byte("c-end"))
	for i := range messages {
		same(t, sub.name+" sub", sub.recv(), body("a", i))
		same(t, sub.name+" sub", sub.recv(), body("c", i))
	}
	same(t, sub.name+" sub", sub.recv(), []byte("c-end"))
}

// shimPeering is one shim protocol against the real mangos one it talks to.
type shimPeering struct {
	name   string // "<shim role>-<mangos role>"
	ours   func() (mw.Socket, error)
	theirs func() (mangos.Socket, error)
	run    func(t *testing.T, s mw.Socket, p *peer)
}

var shimPeerings = []shimPeering{
	{
		name: "req-rep", ours: mwreq.NewSocket, theirs: mrep.NewSocket,
		run: func(t *testing.T, s mw.Socket, p *peer) { roundTrips(t, shimSide(t, s), mangosSide(t, p)) },
	},
	{
		name: "rep-req", ours: mwrep.NewSocket, theirs: mreq.NewSocket,
		run: func(t *testing.T, s mw.Socket, p *peer) { roundTrips(t, mangosSide(t, p), shimSide(t, s)) },
	},
	{
		name: "pub-sub", ours: mwpub.NewSocket,
		theirs: func() (mangos.Socket, error) {
			s, err := msub.NewSocket()
			for _, topic := range subscribed {
				if err == nil {
					err = s.SetOption(mangos.OptionSubscribe, topic)
				}
			}
			return s, err
		},
		run: func(t *testing.T, s mw.Socket, p *peer) { filtered(t, shimSide(t, s), mangosSide(t, p)) },
	},
	{
		name: "sub-pub", theirs: mpub.NewSocket,
		ours: func() (mw.Socket, error) {
			s, err := mwsub.NewSocket()
			for _, topic := range subscribed {
				if err == nil {
					err = s.SetOption(mw.OptionSubscribe, topic)
				}
			}
			return s, err
		},
		run: func(t *testing.T, s mw.Socket, p *peer) {
			filtered(t, mangosSide(t, p), shimSide(t, s))
			// And nothing else is queued: a receive that does not wait
			// (a negative deadline) finds nothing.
			if err := s.SetOption(mw.OptionRecvDeadline, -time.Second); err != nil {
				t.Fatal(err)
			}
			if b, err := s.Recv(); err != mw.ErrRecvTimeout {
				t.Errorf("shim sub after the end marker: %.12q, %v; want ErrRecvTimeout", b, err)
			}
		},
	},
	{
		name: "push-pull", ours: mwpush.NewSocket, theirs: mpull.NewSocket,
		run: func(t *testing.T, s mw.Socket, p *peer) {
			oneWay(t, "mangos pull", shimSide(t, s).send, mangosSide(t, p).recv)
		},
	},
	{
		name: "pull-push", ours: mwpull.NewSocket, theirs: mpush.NewSocket,
		run: func(t *testing.T, s mw.Socket, p *peer) {
			oneWay(t, "shim pull", mangosSide(t, p).send, shimSide(t, s).recv)
		},
	},
	{
		name: "pair-pair", ours: mwpair.NewSocket, theirs: mpair.NewSocket,
		run: func(t *testing.T, s mw.Socket, p *peer) { streams(t, shimSide(t, s), mangosSide(t, p)) },
	},
	{
		name: "pair1-pair1", ours: mwpair1.NewSocket, theirs: mpair1.NewSocket,
		run: func(t *testing.T, s mw.Socket, p *peer) { streams(t, shimSide(t, s), mangosSide(t, p)) },
	},
	{
		name: "bus-bus", ours: mwbus.NewSocket, theirs: mbus.NewSocket,
		run: func(t *testing.T, s mw.Socket, p *peer) { streams(t, shimSide(t, s), mangosSide(t, p)) },
	},
	{
		name: "surveyor-respondent", ours: mwsurveyor.NewSocket, theirs: mrespondent.NewSocket,
		run: func(t *testing.T, s mw.Socket, p *peer) {
			setOption(t, s.SetOption, mw.OptionSurveyTime, surveyTime)
			roundTrips(t, shimSide(t, s), mangosSide(t, p))
			// A survey left unanswered ends after its survey time with
			// mangos's error (see respondent-surveyor for mangos's own).
			setOption(t, s.SetOption, mw.OptionSurveyTime, expireTime)
			shimSend(t, s, []byte("unanswered"))
			same(t, "mangos respondent", mgRecv(t, p), []byte("unanswered"))
			if b, err := s.Recv(); err != mw.ErrProtoState {
				t.Errorf("shim surveyor recv after the survey time: %.12q, %v; want ErrProtoState (as mangos)", b, err)
			}
		},
	},
	{
		name: "respondent-surveyor", ours: mwrespondent.NewSocket, theirs: msurveyor.NewSocket,
		run: func(t *testing.T, s mw.Socket, p *peer) {
			setOption(t, p.SetOption, mangos.OptionSurveyTime, surveyTime)
			roundTrips(t, mangosSide(t, p), shimSide(t, s))
			// mangos's surveyor ends an unanswered survey with
			// ErrProtoState: the reference for the shim's.
			setOption(t, p.SetOption, mangos.OptionSurveyTime, expireTime)
			mgSend(t, p, []byte("unanswered"))
			same(t, "shim respondent", shimRecv(t, s), []byte("unanswered"))
			if b, err := p.Recv(); err != mangos.ErrProtoState {
				t.Errorf("mangos surveyor recv after the survey time: %.12q, %v; want ErrProtoState", b, err)
			}
		},
	},
}

func setOption(t *testing.T, set func(string, any) error, name string, v any) {
	t.Helper()
	if err := set(name, v); err != nil {
		t.Fatalf("SetOption(%s, %v): %v", name, v, err)
	}
}

// mangosPeer is newPeer (deadlines, pipe count) that also closes the
// socket when the test ends. Use it as mangosPeer(t)(rep.NewSocket()).
func mangosPeer(t *testing.T) func(mangos.Socket, error) *peer {
	return func(s mangos.Socket, err error) *peer {
		t.Helper()
		p := newPeer(t)(s, err)
		t.Cleanup(func() {
			if err := p.Close(); err != nil && err != mangos.ErrClosed {
				t.Errorf("mangos close: %v", err)
			}
		})
		return p
	}
}

// shimListen listens on a fresh address of transport and returns the
// address bound (tcp and ws port 0 resolved).
func shimListen(t *testing.T, s mw.Socket, transport string) string {
	t.Helper()
	l, err := s.NewListener(testutil.URL(t, transport), nil)
	if err != nil {
		t.Fatalf("shim listener: %v", err)
	}
	if err := l.Listen(); err != nil {
		t.Fatalf("shim listen %s: %v", l.Address(), err)
	}
	return l.Address()
}

// shimConnect links s and p over a fresh address of transport, the shim
// listening when shimListens and mangos otherwise, and waits until both
// have attached the pipe: pub, bus and surveyor drop what they send before.
func shimConnect(t *testing.T, transport string, shimListens bool, s mw.Socket, p *peer) {
	t.Helper()
	n := attached(s)
	if shimListens {
		url := shimListen(t, s, transport)
		if err := p.Dial(url); err != nil {
			t.Fatalf("mangos dial %s: %v", url, err)
		}
	} else {
		url := mangosListen(t, p, transport)
		if err := s.Dial(url); err != nil { // the first attempt is made before Dial returns
			t.Fatalf("shim dial %s: %v", url, err)
		}
	}
	waitFor(t, "both sides attached", func() bool { return n.Load() >= 1 && p.attached.Load() >= 1 })
}

// TestShimMangosPatterns runs every shim protocol against the real mangos
// protocol it pairs with, over tcp, ipc and ws, the shim listening and
// mangos dialing and the reverse. Subtests are named
// transport/who-listens/shim-role-mangos-role.
func TestShimMangosPatterns(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			for _, shimListens := range []bool{true, false} {
				dir := "mangos-listens"
				if shimListens {
					dir = "shim-listens"
				}
				t.Run(dir, func(t *testing.T) {
					for _, pc := range shimPeerings {
						t.Run(pc.name, func(t *testing.T) {
							s := shim(t, pc.ours)
							p := mangosPeer(t)(pc.theirs())
							shimConnect(t, tr, shimListens, s, p)
							pc.run(t, s, p)
						})
					}
				})
			}
		})
	}
}

// TestShimMangosDevice puts a shim Device between mangos req clients and
// a mangos rep server, as mangos's broker does: the shim's raw xrep takes
// the clients' connections, its raw xreq dials the server, and every reply
// must reach the client that asked, for the request it answers.
func TestShimMangosDevice(t *testing.T) {
	testutil.CheckGoroutines(t)
	const clients = 3
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			front, back := shim(t, mwxrep.NewSocket), shim(t, mwxreq.NewSocket)
			nFront, nBack := attached(front), attached(back)
			frontURL := shimListen(t, front, tr)
			server := mangosPeer(t)(mrep.NewSocket())
			if err := back.Dial(mangosListen(t, server, tr)); err != nil {
				t.Fatalf("shim back dial: %v", err)
			}
			if err := mw.Device(front, back); err != nil {
				t.Fatalf("device: %v", err)
			}
			var cs []*peer
			for range clients {
				c := mangosPeer(t)(mreq.NewSocket())
				if err := c.Dial(frontURL); err != nil {
					t.Fatalf("mangos client dial %s: %v", frontURL, err)
				}
				cs = append(cs, c)
			}
			waitFor(t, "every pipe attached", func() bool {
				ok := nFront.Load() == clients && nBack.Load() == 1 && server.attached.Load() == 1
				for _, c := range cs {
					ok = ok && c.attached.Load() == 1
				}
				return ok
			})

			// Errors, not Fatal, off the test's goroutine; every call is
			// bounded by the deadlines newPeer set.
			var wg sync.WaitGroup
			wg.Go(func() {
				for range clients * messages {
					q, err := server.Recv()
					if err != nil {
						t.Errorf("mangos rep recv: %v", err)
						return
					}
					if err := server.Send(append([]byte("re: "), q...)); err != nil {
						t.Errorf("mangos rep send: %v", err)
						return
					}
				}
			})
			for i, c := range cs {
				wg.Go(func() {
					for j := range messages {
						q := body(fmt.Sprintf("client%d", i), j)
						if err := c.Send(q); err != nil {
							t.Errorf("client %d send: %v", i, err)
							return
						}
						a, err := c.Recv()
						if want := append([]byte("re: "), q...); err != nil || string(a) != string(want) {
							t.Errorf("client %d got %.24q, %v; want %.24q", i, a, err, want)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
