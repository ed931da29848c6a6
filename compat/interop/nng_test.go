package interop_test

import (
	"runtime"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
)

// TestNNGDevice checks raw mode against nng 1.5: nng REQs through an mqwire
// device to an nng REP, and mqwire REQ contexts through an nng device to an
// mqwire REP.
func TestNNGDevice(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range transports {
		t.Run(tr+"/mqwire-device", func(t *testing.T) {
			t.Parallel()
			testMQDevice(t, nngPeer, tr)
		})
		t.Run(tr+"/nng-device", func(t *testing.T) {
			t.Parallel()
			testPeerDevice(t, nngPeer, tr)
		})
	}
}

// TestNNGPeerMismatch: an nng REQ meeting an mqwire PULL is refused.
func TestNNGPeerMismatch(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range transports {
		for _, dir := range directions {
			t.Run(tr+"/"+dir, func(t *testing.T) {
				t.Parallel()
				testMismatch(t, nngPeer, tr, dir)
			})
		}
	}
}

// nngcatCases: nngcat (nng-utils 1.5.2) has no bus. Its --pair alone exits
// with "No protocol specified", so the cases say --pair0 or --pair1. Its
// --interval takes whole seconds. With --req0 and --count above 1 it fails
// after the first reply ("Cannot set recv timeout"), so the REQ case runs it
// once per request.
var nngcatCases = []cliCase{
	{"pull-push", "pull0", cliPushToMQ("--push0", "--data", "msg-cli", "--count", "3")},
	{"push-pull", "push0", cliPullFromMQ("--pull0")},
	{"req-rep", "req0", cliRepToMQ("--rep0")},
	{"rep-req", "rep0", cliReqToMQ("--req0")},
	// When nngcat listens, its first message goes out before mqwire has
	// dialed, and is lost; the next one comes a second later.
	{"sub-pub", "sub0", cliPubToMQ("--pub0", "--data", "msg-cli", "--interval", "1")},
	{"pub-sub", "pub0", cliSubFromMQ("--sub0")},
	{"pair0-pair0", "pair0", cliPairFromMQ("--pair0")},
	{"pair1-pair1", "pair1", cliPairFromMQ("--pair1")},
	{"pair0-pair1", "pair0", cliMismatch("--pair1", "--quoted")},
	{"surveyor-respondent", "surveyor0", cliRespondentToMQ("--respondent0")},
	{"respondent-surveyor", "respondent0", cliSurveyorToMQ("--surveyor0", "--interval", "1")},
}

// TestNNGCat runs mqwire against the nngcat command.
func TestNNGCat(t *testing.T) {
	runCLI(t, "nngcat", "--dial", "--listen", nngcatCases)
}

// nngcat and mqwire meet in Linux's abstract namespace, named as nng
// names it (abstract://name).
func TestNNGCatAbstract(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the abstract namespace is Linux's")
	}
	runCLIOver(t, []string{"abstract"}, "nngcat", "--dial", "--listen", nngcatCases[:2])
}

// TestNNGRecvLimit: nng 1.5 has no receive limit of its own; mqwire's
// MaxRecvSize must cut off an nng peer that goes over it. The peer is a
// pair0: nng 1.5.2's push0 can crash when its pipe closes and it reconnects
// (nng issue 1653, fixed in a later release).
func TestNNGRecvLimit(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			testRecvLimit(t, nngPeer, tr, "pair0", "pair0")
		})
	}
}
