package mangos_test

import (
	"testing"

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

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
)

// pairing is one mqwire pattern against the mangos pattern it talks to.
type pairing struct {
	name string // "<mqwire role>-<mangos role>"
	mq   func() (*socket.Socket, error)
	mg   func() (mangos.Socket, error)
	run  func(t *testing.T, mq *socket.Socket, mg *peer)
}

// subPrefix is the subscription of every subscriber here; publishers send
// messages with and without it.
var subPrefix = []byte("a-")

var pairings = []pairing{
	{
		name: "req-rep",
		mq:   func() (*socket.Socket, error) { return req.New() },
		mg:   func() (mangos.Socket, error) { return mrep.NewSocket() },
		run: func(t *testing.T, mq *socket.Socket, mg *peer) {
			for i := range messages {
				mqSend(t, mq, body("req", i))
				same(t, "mangos rep", mgRecv(t, mg), body("req", i))
				mgSend(t, mg, body("rep", i))
				same(t, "mqwire req", mqRecv(t, mq), body("rep", i))
			}
		},
	},
	{
		name: "rep-req",
		mq:   func() (*socket.Socket, error) { return rep.New() },
		mg:   func() (mangos.Socket, error) { return mreq.NewSocket() },
		run: func(t *testing.T, mq *socket.Socket, mg *peer) {
			for i := range messages {
				mgSend(t, mg, body("req", i))
				same(t, "mqwire rep", mqRecv(t, mq), body("req", i))
				mqSend(t, mq, body("rep", i))
				same(t, "mangos req", mgRecv(t, mg), body("rep", i))
			}
		},
	},
	{
		name: "pub-sub",
		mq:   func() (*socket.Socket, error) { return pub.New() },
		mg: func() (mangos.Socket, error) {
			s, err := msub.NewSocket()
			if err == nil {
				err = s.SetOption(mangos.OptionSubscribe, subPrefix)
			}
			return s, err
		},
		run: func(t *testing.T, mq *socket.Socket, mg *peer) {
			publish(t, func(b []byte) { mqSend(t, mq, b) }, func() []byte { return mgRecv(t, mg) })
		},
	},
	{
		name: "sub-pub",
		mq:   func() (*socket.Socket, error) { return sub.New(sub.Subscribe(subPrefix)) },
		mg:   func() (mangos.Socket, error) { return mpub.NewSocket() },
		run: func(t *testing.T, mq *socket.Socket, mg *peer) {
			publish(t, func(b []byte) { mgSend(t, mg, b) }, func() []byte { return mqRecv(t, mq) })
		},
	},
	{
		name: "push-pull",
		mq:   func() (*socket.Socket, error) { return push.New() },
		mg:   func() (mangos.Socket, error) { return mpull.NewSocket() },
		run: func(t *testing.T, mq *socket.Socket, mg *peer) {
			oneWay(t, "mangos pull", func(b []byte) { mqSend(t, mq, b) }, func() []byte { return mgRecv(t, mg) })
		},
	},
	{
		name: "pull-push",
		mq:   func() (*socket.Socket, error) { return pull.New() },
		mg:   func() (mangos.Socket, error) { return mpush.NewSocket() },
		run: func(t *testing.T, mq *socket.Socket, mg *peer) {
			oneWay(t, "mqwire pull", func(b []byte) { mgSend(t, mg, b) }, func() []byte { return mqRecv(t, mq) })
		},
	},
	{
		name: "pair0-pair0",
		mq:   func() (*socket.Socket, error) { return pair.New() },
		mg:   func() (mangos.Socket, error) { return mpair.NewSocket() },
		run:  bothWays,
	},
	{
		name: "pair1-pair1",
		mq:   func() (*socket.Socket, error) { return pair1.New() },
		mg:   func() (mangos.Socket, error) { return mpair1.NewSocket() },
		run:  bothWays,
	},
	{
		name: "bus-bus",
		mq:   func() (*socket.Socket, error) { return bus.New() },
		mg:   func() (mangos.Socket, error) { return mbus.NewSocket() },
		run:  bothWays,
	},
	{
		name: "surveyor-respondent",
		mq:   func() (*socket.Socket, error) { return surveyor.New(surveyor.SurveyTime(timeout)) },
		mg:   func() (mangos.Socket, error) { return mrespondent.NewSocket() },
		run: func(t *testing.T, mq *socket.Socket, mg *peer) {
			for i := range messages {
				mqSend(t, mq, body("survey", i))
				same(t, "mangos respondent", mgRecv(t, mg), body("survey", i))
				mgSend(t, mg, body("answer", i))
				same(t, "mqwire surveyor", mqRecv(t, mq), body("answer", i))
			}
		},
	},
	{
		name: "respondent-surveyor",
		mq:   func() (*socket.Socket, error) { return respondent.New() },
		mg: func() (mangos.Socket, error) {
			s, err := msurveyor.NewSocket()
			if err == nil {
				err = s.SetOption(mangos.OptionSurveyTime, timeout)
			}
			return s, err
		},
		run: func(t *testing.T, mq *socket.Socket, mg *peer) {
			for i := range messages {
				mgSend(t, mg, body("survey", i))
				same(t, "mqwire respondent", mqRecv(t, mq), body("survey", i))
				mqSend(t, mq, body("answer", i))
				same(t, "mangos surveyor", mgRecv(t, mg), body("answer", i))
			}
		},
	},
}

// oneWay sends messages and checks that they all arrive, in order.
func oneWay(t *testing.T, who string, send func([]byte), recv func() []byte) {
	t.Helper()
	for i := range messages {
		send(body("msg", i))
	}
	for i := range messages {
		same(t, who, recv(), body("msg", i))
	}
}

// bothWays sends messages from mqwire to mangos, then from mangos to mqwire,
// then in alternation, checking each.
func bothWays(t *testing.T, mq *socket.Socket, mg *peer) {
	oneWay(t, "mangos", func(b []byte) { mqSend(t, mq, b) }, func() []byte { return mgRecv(t, mg) })
	oneWay(t, "mqwire", func(b []byte) { mgSend(t, mg, b) }, func() []byte { return mqRecv(t, mq) })
	for i := range messages {
		mqSend(t, mq, body("ping", i))
		same(t, "mangos", mgRecv(t, mg), body("ping", i))
		mgSend(t, mg, body("pong", i))
		same(t, "mqwire", mqRecv(t, mq), body("pong", i))
	}
}

// publish sends messages with the subscribed prefix and without, then an end
// marker with it: the subscriber must get exactly the prefixed ones, in
// order. Per-connection order makes the end marker proof that none of the
// others slipped through.
func publish(t *testing.T, send func([]byte), recv func() []byte) {
	t.Helper()
	for i := range messages {
		send(body("a", i))
		send(body("b", i))
	}
	end := append(append([]byte(nil), subPrefix...), "end"...)
	send(end)
	for i := range messages {
		same(t, "subscriber", recv(), body("a", i))
	}
	same(t, "subscriber", recv(), end)
}

// TestPatterns runs every pairing over tcp, ipc and ws, with mqwire listening
// and mangos dialing, then the reverse. Subtests are named
// transport/who-listens/mqwire-role-mangos-role, e.g. tcp/mqwire-listens/req-rep.
//
// The goroutine check is registered before the sockets are closed, so it
// measures after closing both: mangos v3.4.2 leaves nothing running once its
// socket is closed either, so the check covers both libraries.
func TestPatterns(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			for _, mqListens := range []bool{true, false} {
				dir := "mangos-listens"
				if mqListens {
					dir = "mqwire-listens"
				}
				t.Run(dir, func(t *testing.T) {
					for _, pc := range pairings {
						t.Run(pc.name, func(t *testing.T) {
							testutil.CheckGoroutines(t)
							mq := newMQ(t)(pc.mq())
							mg := newPeer(t)(pc.mg())
							closeBoth(t, mq, mg)
							connect(t, tr, mqListens, mq, mg)
							pc.run(t, mq, mg)
						})
					}
				})
			}
		})
	}
}
