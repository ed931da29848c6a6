package interop_test

import (
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
)

// TestNanomsgDevice checks raw mode against nanomsg 1.1: nanomsg REQs
// through an mqwire device to a nanomsg REP, and mqwire REQ contexts through
// a nanomsg device to an mqwire REP.
func TestNanomsgDevice(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range transports {
		t.Run(tr+"/mqwire-device", func(t *testing.T) {
			t.Parallel()
			testMQDevice(t, nnPeer, tr)
		})
		t.Run(tr+"/nanomsg-device", func(t *testing.T) {
			t.Parallel()
			testPeerDevice(t, nnPeer, tr)
		})
	}
}

// TestNanomsgPeerMismatch: a nanomsg REQ meeting an mqwire PULL is refused.
func TestNanomsgPeerMismatch(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range transports {
		for _, dir := range directions {
			t.Run(tr+"/"+dir, func(t *testing.T) {
				t.Parallel()
				testMismatch(t, nnPeer, tr, dir)
			})
		}
	}
}

// nanocatCases: nanocat (nanomsg-utils 1.1.5) has pair0 only (--pair) and
// no pair1. It connects in the background, so what it sends once may go
// before the connection is up; cases that need it repeat with -i.
var nanocatCases = []cliCase{
	{"pull-push", "pull0", cliPushToMQ("--push", "--data", "msg-cli", "-i", "0.05")},
	{"push-pull", "push0", cliPullFromMQ("--pull")},
	{"req-rep", "req0", cliRepToMQ("--rep")},
	{"rep-req", "rep0", cliReqToMQ("--req")},
	{"sub-pub", "sub0", cliPubToMQ("--pub", "--data", "msg-cli", "-i", "0.05")},
	{"pub-sub", "pub0", cliSubFromMQ("--sub")},
	{"pair0-pair", "pair0", cliPairFromMQ("--pair")},
	{"pair1-pair", "pair1", cliMismatch("--pair", "--quoted")},
	{"bus-bus-in", "bus0", cliPushToMQ("--bus", "--data", "msg-cli", "-i", "0.05")},
	{"bus-bus-out", "bus0", cliBusFromMQ("--bus")},
	{"surveyor-respondent", "surveyor0", cliRespondentToMQ("--respondent")},
	{"respondent-surveyor", "respondent0", cliSurveyorToMQ("--surveyor", "-i", "0.3")},
}

// TestNanocat runs mqwire against the nanocat command.
func TestNanocat(t *testing.T) {
	runCLI(t, "nanocat", "--connect", "--bind", nanocatCases)
}

// TestNanomsgRecvLimit: mqwire's MaxRecvSize cuts off a nanomsg peer that
// goes over it.
func TestNanomsgRecvLimit(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			testRecvLimit(t, nnPeer, tr, "pull0", "push0")
		})
	}
}
