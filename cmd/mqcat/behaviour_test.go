package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
)

// timingCase is a command line run by nngcat and by mqcat in turn, against
// the same kind of peer, whose output, status and duration must agree.
type timingCase struct {
	name       string
	peer       []string // nngcat's listening peer, with %L for the address; nil for none
	args       []string // the command under test, with %D for the peer's address
	wantOut    string
	wantCode   int
	wantErr    string
	minT, maxT time.Duration
}

func expand(args []string, e endpoint) []string {
	out := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "%L", "tcp://127.0.0.1:"+itoa(e.port))
		out[i] = strings.ReplaceAll(a, "%D", e.url())
	}
	return out
}

// TestSemanticsMatchNngcat checks --count, --interval, --delay and the
// receive timeouts against nngcat's own behaviour, timing included.
func TestSemanticsMatchNngcat(t *testing.T) {
	nngcat := peer(t, "nngcat")
	bin := mqcat(t)
	cases := []timingCase{
		{name: "push interval count", peer: []string{"--pull0", "--listen", "%L", "-Q", "-C", "3"},
			args:    []string{"--push0", "--dial", "%D", "-D", "p", "-i", "1", "-C", "3"},
			wantOut: "", minT: 2 * time.Second, maxT: 3 * time.Second},
		{name: "push count back to back", peer: []string{"--pull0", "--listen", "%L", "-Q", "-C", "3"},
			args: []string{"--push0", "--dial", "%D", "-D", "p", "-C", "3"},
			minT: drainWait, maxT: time.Second},
		{name: "push delay", peer: []string{"--pull0", "--listen", "%L", "-Q", "-C", "1"},
			args: []string{"--push0", "--dial", "%D", "-D", "p", "-d", "1"},
			minT: time.Second + drainWait, maxT: 2 * time.Second},
		{name: "req interval count", peer: []string{"--rep0", "--listen", "%L", "-D", "r", "-C", "2"},
			args:    []string{"--req0", "--dial", "%D", "-D", "q", "-i", "1", "-C", "2", "-Q"},
			wantOut: "\"r\"\n\"r\"\n", minT: time.Second, maxT: 2 * time.Second},
		{name: "req interval recv timeout", peer: []string{"--rep0", "--listen", "%L", "-C", "2"},
			args: []string{"--req0", "--dial", "%D", "-D", "q", "-i", "2", "-C", "2", "--recv-timeout", "1"},
			minT: 3 * time.Second, maxT: 4 * time.Second},
		{name: "pair interval count", peer: []string{"--pair1", "--listen", "%L", "-D", "z", "-i", "1", "-C", "2"},
			args:    []string{"--pair1", "--dial", "%D", "-D", "a", "-i", "1", "-C", "2", "-A"},
			wantOut: "zz", minT: 2 * time.Second, maxT: 3 * time.Second},
		{name: "pull recv timeout",
			args: []string{"--pull0", "--listen", "%D", "--recv-timeout", "1", "-Q"},
			minT: time.Second, maxT: 2 * time.Second},
		{name: "rep recv timeout is an error",
			args:     []string{"--rep0", "--listen", "%D", "-D", "x", "--recv-timeout", "1"},
			wantCode: 1, wantErr: "Receive error: Timed out\n", minT: time.Second, maxT: 2 * time.Second},
		{name: "push send timeout",
			args:     []string{"--push0", "--listen", "%D", "-D", "x", "--send-timeout", "1"},
			wantCode: 1, wantErr: "Send error: Timed out\n", minT: time.Second, maxT: 2 * time.Second},
		{name: "pub never blocks",
			args: []string{"--pub0", "--listen", "%D", "-D", "x", "--send-timeout", "1", "-C", "2"},
			minT: drainWait, maxT: time.Second},
		{name: "surveyor alone ends with the survey",
			args: []string{"--surveyor0", "--listen", "%D", "-D", "s", "-Q"},
			minT: time.Second, maxT: 2 * time.Second},
		{name: "sub filters", peer: []string{"--pub0", "--listen", "%L", "-D", "zz", "-i", "1", "-C", "3"},
			args: []string{"--sub0", "--dial", "%D", "--subscribe", "a", "--recv-timeout", "2", "-Q"},
			minT: 2 * time.Second, maxT: 3 * time.Second},
		{name: "recv-maxsz drops", peer: []string{"--push0", "--listen", "%L", "-D", "0123456789abcdefghij", "-i", "1", "-C", "3"},
			args: []string{"--pull0", "--dial", "%D", "-Z", "10", "--recv-timeout", "2", "-Q"},
			minT: 2 * time.Second, maxT: 3 * time.Second},
		{name: "recv-maxsz takes", peer: []string{"--push0", "--listen", "%L", "-D", "0123456789abcdefghij", "-C", "1"},
			args:    []string{"--pull0", "--dial", "%D", "-Z", "20", "--recv-timeout", "1", "-C", "1", "-Q"},
			wantOut: "\"0123456789abcdefghij\"\n", maxT: time.Second},
	}
	type run struct {
		tc   timingCase
		impl string
	}
	var runs []run
	for _, tc := range cases {
		runs = append(runs, run{tc, "nngcat"}, run{tc, "mqcat"})
	}
	bins := map[string]string{"nngcat": nngcat, "mqcat": bin}
	runLimited(t, 8, runs, func(r run) string { return r.tc.name + "/" + r.impl }, func(t *testing.T, r run) {
		var e endpoint
		var pp *proc
		if r.tc.peer != nil {
			e, pp = startListener(t, "tcp", func(e endpoint) *proc {
				return startProc(t, nil, nngcat, expand(r.tc.peer, e)...)
			})
		} else {
			e = newEndpoint(t, "tcp")
		}
		p := runProc(t, 15*time.Second, nil, bins[r.impl], expand(r.tc.args, e)...)
		if pp != nil {
			pp.kill()
		}
		peerReport := "none"
		if pp != nil {
			peerReport = pp.report()
		}
		if p.stdout.String() != r.tc.wantOut || p.code != r.tc.wantCode || p.stderr.String() != r.tc.wantErr {
			t.Errorf("want exit %d, stdout %q, stderr %q: %s\npeer: %s", r.tc.wantCode, r.tc.wantOut, r.tc.wantErr, p.report(), peerReport)
		}
		// A busy machine may slow things down, never speed them up.
		if p.elapsed < r.tc.minT || p.elapsed > r.tc.maxT+1500*time.Millisecond {
			t.Errorf("took %v, want %v to %v: %s\npeer: %s", p.elapsed, r.tc.minT, r.tc.maxT, p.report(), peerReport)
		}
	})
}

// TestVerbose checks the lines -v prints, against nngcat's.
func TestVerbose(t *testing.T) {
	nngcat := peer(t, "nngcat")
	bin := mqcat(t)
	for _, b := range []string{nngcat, bin} {
		p := runProc(t, 10*time.Second, nil, b, "--pull0", "-v", "--listen", "tcp://127.0.0.1:0", "--recv-timeout", "1")
		if !regexp.MustCompile(`^Listening at: tcp://127\.0\.0\.1:[1-9][0-9]*\n$`).MatchString(p.stdout.String()) || p.code != 0 {
			t.Errorf("listen -v: %s", p.report())
		}
		dir := testutil.ShortTempDir(t)
		p = runProc(t, 10*time.Second, nil, b, "--pull0", "--verbose", "-X", dir+"/v.sock", "--recv-timeout", "1")
		if want := "Listening at: ipc:///" + dir + "/v.sock\n"; p.stdout.String() != want || p.code != 0 {
			t.Errorf("ipc listen -v: want %q: %s", want, p.report())
		}
		e, _ := startListener(t, "tcp", func(e endpoint) *proc {
			return startProc(t, nil, nngcat, "--push0", "-L", itoa(e.port), "-D", "x")
		})
		p = runProc(t, 10*time.Second, nil, b, "--pull0", "-v", "-l", itoa(e.port), "-C", "1", "-Q")
		if want := "Connected to: " + e.url() + "\n\"x\"\n"; p.stdout.String() != want || p.code != 0 {
			t.Errorf("dial -v: want %q: %s", want, p.report())
		}
		p = runProc(t, 10*time.Second, nil, b, "--pull0", "-q", "--listen", "tcp://127.0.0.1:0", "--recv-timeout", "1")
		if p.stdout.String() != "" || p.code != 0 {
			t.Errorf("-q: %s", p.report())
		}
	}
}

// TestPairAlias checks that mqcat's --pair is pair1, and pair0 with
// --compat, by talking to nngcat's --pair1 and --pair0. (nngcat 1.5.2 itself
// rejects --pair with "No protocol specified.")
func TestPairAlias(t *testing.T) {
	nngcat := peer(t, "nngcat")
	bin := mqcat(t)
	for _, tc := range []struct{ peerProto, extra, stop, n string }{
		{"--pair1", "--async", "-C", "1"},
		{"--pair0", "--compat", "--recv-timeout", "1"}, // --compat excludes --count
	} {
		e, l := startListener(t, "tcp", func(e endpoint) *proc {
			return startProc(t, nil, nngcat, tc.peerProto, "-L", itoa(e.port), "-D", "hi")
		})
		p := runProc(t, 10*time.Second, nil, bin, "--pair", tc.extra, "-l", itoa(e.port), "-Q", tc.stop, tc.n)
		if p.stdout.String() != "\"hi\"\n" || p.code != 0 {
			t.Errorf("--pair %s against nngcat %s: %s", tc.extra, tc.peerProto, p.report())
		}
		l.kill()
	}
}

// TestAsyncDial checks that --async and --compat dial in the background: the
// peer may come up later, where a plain dial fails at once.
func TestAsyncDial(t *testing.T) {
	nngcat := peer(t, "nngcat")
	bin := mqcat(t)
	for _, flag := range []string{"--async", "--compat"} {
		e := newEndpoint(t, "ipc")
		p := startProc(t, nil, bin, "--push0", flag, "--dial", e.url(), "-D", "late")
		time.Sleep(300 * time.Millisecond)
		if p.exited() {
			t.Fatalf("%s: mqcat ended before its peer came: %s", flag, p.report())
		}
		l := runProc(t, 10*time.Second, nil, nngcat, "--pull0", "--listen", e.url(), "-C", "1", "-Q")
		if !p.wait(10*time.Second) || p.code != 0 || l.stdout.String() != "\"late\"\n" {
			t.Errorf("%s:\n%s\n%s", flag, p.report(), l.report())
		}
	}
}

// TestSharedMemory runs mqcat over shm:// between two processes, both
// dialects: the URL is taken as ipc's is.
func TestSharedMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shm:// is Linux only")
	}
	bin := mqcat(t)
	for _, zmtp := range []bool{false, true} {
		url := "shm://" + filepath.Join(testutil.ShortTempDir(t), "m")
		l := startProc(t, nil, bin, "--pull0", "--listen", url, "-C", "2", "-Q")
		args := []string{"--push0", "--async", "--dial", url, "-D", "over shm", "-C", "2"}
		if zmtp {
			args = append([]string{"--zmtp"}, args...)
		}
		p := runProc(t, 10*time.Second, nil, bin, args...)
		if !l.wait(10*time.Second) || l.code != 0 || l.stdout.String() != strings.Repeat("\"over shm\"\n", 2) || p.code != 0 {
			t.Errorf("zmtp %v:\n%s\n%s", zmtp, l.report(), p.report())
		}
	}
}

// TestWebSocket runs mqcat over ws:// and wss:// against nngcat, each side
// listening once; over wss the listener serves the test's certificate and
// the dialer checks it against the test's authority.
func TestWebSocket(t *testing.T) {
	bin, nngcat := mqcat(t), peer(t, "nngcat")
	certs := testutil.NewTLSCerts(t)
	for _, scheme := range []string{"ws", "wss"} {
		for _, mqListens := range []bool{true, false} {
			url := fmt.Sprintf("%s://127.0.0.1:%d/cat", scheme, freePort(t))
			lbin, dbin := nngcat, bin
			if mqListens {
				lbin, dbin = bin, nngcat
			}
			largs := []string{"--pull0", "--listen", url, "-C", "2", "-Q"}
			dargs := []string{"--push0", "--dial", url, "-D", "over ws", "-C", "2", "-i", "1"}
			if scheme == "wss" {
				largs = append(largs, "--cert", certs.ServerCertFile, "--key", certs.ServerKeyFile)
				dargs = append(dargs, "--cacert", certs.CAFile)
			}
			l := startProc(t, nil, lbin, largs...)
			time.Sleep(200 * time.Millisecond) // nngcat does not retry a refused dial
			p := runProc(t, 10*time.Second, nil, dbin, dargs...)
			if !l.wait(10*time.Second) || l.code != 0 || l.stdout.String() != strings.Repeat("\"over ws\"\n", 2) || p.code != 0 {
				t.Errorf("%s, mqcat listens %v:\n%s\n%s", scheme, mqListens, l.report(), p.report())
			}
		}
	}
}
