package interop_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

// pairing is one SP pattern pairing: mqwire runs mq, the peer runs peer.
type pairing struct {
	name     string // "<mqwire pattern>-<peer pattern>"
	mq, peer string // SP protocol names
	run      func(t *testing.T, s *socket.Socket, p *peer)
}

// pairings lists every SP pairing, each side of an asymmetric pattern once
// on mqwire's side and once on the peer's.
var pairings = []pairing{
	{"req-rep", "req0", "rep0", mqReqPeerRep},
	{"rep-req", "rep0", "req0", mqRepPeerReq},
	{"pub-sub", "pub0", "sub0", mqPubPeerSub},
	{"sub-pub", "sub0", "pub0", mqSubPeerPub},
	{"push-pull", "push0", "pull0", mqPushPeerPull},
	{"pull-push", "pull0", "push0", mqPullPeerPush},
	{"pair0-pair0", "pair0", "pair0", pairExchange},
	{"pair1-pair1", "pair1", "pair1", pairExchange},
	{"bus-bus", "bus0", "bus0", busExchange},
	{"surveyor-respondent", "surveyor0", "respondent0", mqSurveyorPeerRespondent},
	{"respondent-surveyor", "respondent0", "surveyor0", mqRespondentPeerSurveyor},
}

// TestPatterns runs every pairing against nng and nanomsg, in both
// directions, over tcp, ipc and ws: subtests are named
// <library>/<transport>/<who listens>/<mqwire pattern>-<peer pattern>.
// nanomsg has no pair1, so that pairing runs against nng only.
func TestPatterns(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, c := range []*cPeer{nngPeer, nnPeer} {
		for _, tr := range transports {
			for _, dir := range directions {
				for _, pr := range pairings {
					if c == nnPeer && pr.peer == "pair1" {
						continue
					}
					t.Run(fmt.Sprintf("%s/%s/%s/%s", c.lib, tr, dir, pr.name), func(t *testing.T) {
						t.Parallel()
						s := newSocket(t, pr.mq, false)
						p := connectPeer(t, c, tr, dir, s, pr.peer)
						pr.run(t, s, p)
					})
				}
			}
		}
	}
}

const rounds = 5

func mqReqPeerRep(t *testing.T, s *socket.Socket, p *peer) {
	for i := range rounds {
		mqSend(t, s, body("request", i))
		p.expect(body("request", i))
		p.send(body("reply", i))
		mqExpect(t, s, body("reply", i))
	}
}

func mqRepPeerReq(t *testing.T, s *socket.Socket, p *peer) {
	for i := range rounds {
		p.send(body("request", i))
		mqExpect(t, s, body("request", i))
		mqSend(t, s, body("reply", i))
		p.expect(body("reply", i))
	}
}

// mqPubPeerSub: the peer subscribes to "msg" (and the warm-ups) and must not
// see the rest. mqwire has the pipe before it publishes, and a subscriber
// reads nothing before it has attached its end, so nothing is lost.
func mqPubPeerSub(t *testing.T, s *socket.Socket, p *peer) {
	p.subscribe("msg")
	p.subscribe(warmPrefix)
	for i := range 10 {
		mqSend(t, s, body("other", i))
		mqSend(t, s, body("msg", i))
	}
	for i := range 10 {
		p.expect(body("msg", i))
	}
	p.expectNothing(50 * time.Millisecond)
}

// mqSubPeerPub: mqwire subscribes to "msg" (and the warm-ups). The peer
// publishes warm-ups until mqwire gets one: before it has attached its end
// of the pipe, what it publishes goes nowhere.
func mqSubPeerPub(t *testing.T, s *socket.Socket, p *peer) {
	warmToMQ(t, p, s)
	for i := range 10 {
		p.send(body("other", i))
		p.send(body("msg", i))
	}
	for i := range 10 {
		mqExpect(t, s, body("msg", i))
	}
	mqExpectNothing(t, s, 50*time.Millisecond)
}

// sizes are the bodies push and pull exchange: empty, small, and large
// enough to take several reads.
var sizes = []int{0, 1, 100, 4096, 70000, 300000}

func sized(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed)
	}
	return b
}

func mqPushPeerPull(t *testing.T, s *socket.Socket, p *peer) {
	for i, n := range sizes {
		mqSend(t, s, sized(n, i))
	}
	for i := range 10 {
		mqSend(t, s, body("msg", i))
	}
	for i, n := range sizes {
		if got, ok := p.recv(timeout); !ok || !bytes.Equal(got, sized(n, i)) {
			t.Fatalf("peer received %d bytes (ok %v), want %d", len(got), ok, n)
		}
	}
	for i := range 10 {
		p.expect(body("msg", i))
	}
}

func mqPullPeerPush(t *testing.T, s *socket.Socket, p *peer) {
	for i, n := range sizes {
		p.send(sized(n, i))
	}
	for i := range 10 {
		p.send(body("msg", i))
	}
	for i, n := range sizes {
		got, err := mqRecv(s, timeout)
		if err != nil || !bytes.Equal(got, sized(n, i)) {
			t.Fatalf("mqwire received %d bytes (%v), want %d", len(got), err, n)
		}
	}
	for i := range 10 {
		mqExpect(t, s, body("msg", i))
	}
}

// pairExchange: messages both ways, interleaved and in bursts.
func pairExchange(t *testing.T, s *socket.Socket, p *peer) {
	for i := range rounds {
		mqSend(t, s, body("to-peer", i))
		p.expect(body("to-peer", i))
		p.send(body("to-mqwire", i))
		mqExpect(t, s, body("to-mqwire", i))
	}
	for i := range 10 {
		mqSend(t, s, body("burst-to-peer", i))
		p.send(body("burst-to-mqwire", i))
	}
	for i := range 10 {
		p.expect(body("burst-to-peer", i))
		mqExpect(t, s, body("burst-to-mqwire", i))
	}
}

// busExchange: messages both ways. Bus broadcasts, so the peer sends
// warm-ups first (see mqSubPeerPub). Neither side hears its own messages.
func busExchange(t *testing.T, s *socket.Socket, p *peer) {
	for i := range 10 {
		mqSend(t, s, body("to-peer", i))
	}
	for i := range 10 {
		p.expect(body("to-peer", i))
	}
	warmToMQ(t, p, s)
	for i := range 10 {
		p.send(body("to-mqwire", i))
	}
	for i := range 10 {
		mqExpect(t, s, body("to-mqwire", i))
	}
	mqExpectNothing(t, s, 50*time.Millisecond)
	p.expectNothing(50 * time.Millisecond)
}

// mqSurveyorPeerRespondent: several surveys, each answered.
func mqSurveyorPeerRespondent(t *testing.T, s *socket.Socket, p *peer) {
	for i := range rounds {
		mqSend(t, s, body("survey", i))
		p.expect(body("survey", i))
		p.send(body("answer", i))
		mqExpect(t, s, body("answer", i))
	}
}

// mqRespondentPeerSurveyor: the peer surveys (warm-ups first, as a survey
// is a broadcast), mqwire answers each survey.
func mqRespondentPeerSurveyor(t *testing.T, s *socket.Socket, p *peer) {
	deadline := time.Now().Add(timeout)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("mqwire respondent received none of the warm-up surveys")
		}
		p.send(fmt.Appendf(nil, "%s-%d", warmPrefix, i))
		if _, err := mqRecv(s, 20*time.Millisecond); err == nil {
			break
		} else if !errors.Is(err, socket.ErrTimeout) {
			t.Fatal(err)
		}
	}
	for i := range rounds {
		p.send(body("survey", i))
		mqExpect(t, s, body("survey", i))
		mqSend(t, s, body("answer", i))
		p.expect(body("answer", i))
	}
}
