package interop_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

// cliCase is a test against a CLI peer (nngcat, nanocat).
type cliCase struct {
	name string // "<mqwire pattern>-<CLI pattern>"
	mq   string // mqwire's protocol
	run  func(e *cliEnv)
}

// cliEnv is what a cliCase works with: mqwire's socket, already listening
// or dialing, and the address flags the CLI needs to meet it.
type cliEnv struct {
	t    *testing.T
	s    *socket.Socket
	tool string
	lib  string // the library the CLI runs: "nng", "nanomsg"
	addr []string
	// When the CLI listens on tcp or ws: the flag that says so, and
	// mqwire's dialer of its address (replaced when the port has to
	// change).
	listenFlag string
	dialer     *socket.Dialer
}

// start runs the CLI with args and the address flags. A CLI that listens
// on tcp (or ws) gets a port picked in advance, which another process may
// take, if only for a moment, before the CLI binds it: start waits until the
// CLI listens, and when it has ended with an error instead, starts it again
// on another port (mqwire's dialer, which may have reached that process,
// goes with the port). A CLI that ended well listened, did its part and
// ended between two looks.
func (e *cliEnv) start(args ...string) *proc {
	e.t.Helper()
	for try := 0; ; try++ {
		p := startProc(e.t, true, e.tool, append(args, e.addr...)...)
		if e.dialer == nil || cliListens(e.t, p, e.addr[1]) {
			return p
		}
		err := p.wait()
		if err == nil {
			return p
		}
		p.stop()
		if try == 3 {
			e.t.Fatalf("%s: every port tried failed, the last: %v", p.name, err)
		}
		e.t.Logf("%s ended before it listened (%v); trying another port", p.name, err)
		e.dialer.Close()
		tr, _, _ := strings.Cut(e.addr[1], "://")
		e.dial(freeURL(e.t, tr))
	}
}

// dial has mqwire dial url, where the CLI is to listen.
func (e *cliEnv) dial(url string) {
	e.t.Helper()
	d, err := e.s.Dial(url)
	if err != nil {
		e.t.Fatal(err)
	}
	e.addr = []string{e.listenFlag, listenAddr(e.lib, url)}
	if testutil.IsTCP(url) || strings.HasPrefix(url, "ws://") {
		e.dialer = d
	}
}

// cliListens waits until p listens at url and reports true, or reports
// false once p has ended. Where the kernel's socket tables cannot be read
// it reports true at once (the test then fails as it would have).
func cliListens(t *testing.T, p *proc, url string) bool {
	addr := hostPort(url)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ready, known := testutil.ListeningIn(p.cmd.Process.Pid, "tcp", addr)
		if ready || !known {
			return true
		}
		select {
		case <-p.read: // standard output ended: the CLI has exited
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("%s does not listen at %s", p.name, url)
	return false
}

// expectLines reads the CLI's output (one "quoted" message a line) and
// checks it prints want, in order, skipping lines that print skip.
func (e *cliEnv) expectLines(p *proc, skip string, want ...string) {
	e.t.Helper()
	for _, w := range want {
		for {
			l, ok := p.line(timeout)
			if !ok {
				e.t.Fatalf("%s printed nothing, want %q", p.name, w)
			}
			if skip != "" && l == quote(skip) {
				continue
			}
			if l != quote(w) {
				e.t.Fatalf("%s printed %s, want %s", p.name, l, quote(w))
			}
			break
		}
	}
}

// warm sends msg on mqwire's socket until the CLI prints it: a broadcast
// sent before the CLI has attached its pipe is lost.
func (e *cliEnv) warm(p *proc, msg string) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		mqSend(e.t, e.s, []byte(msg))
		if l, ok := p.line(20 * time.Millisecond); ok {
			if l != quote(msg) {
				e.t.Fatalf("%s printed %s, want %s", p.name, l, quote(msg))
			}
			return
		}
	}
	e.t.Fatalf("%s printed none of the warm-up messages", p.name)
}

func quote(s string) string { return `"` + s + `"` }

// runCLI runs cases against the CLI tool over tcp, ipc and ws, with mqwire
// listening and the tool dialing (dialFlag) and the reverse (listenFlag).
func runCLI(t *testing.T, tool, dialFlag, listenFlag string, cases []cliCase) {
	runCLIOver(t, transports, tool, dialFlag, listenFlag, cases)
}

// cliLibs names the library each CLI runs.
var cliLibs = map[string]string{"nngcat": "nng", "nanocat": "nanomsg"}

// runCLIOver is runCLI over the transports trs.
func runCLIOver(t *testing.T, trs []string, tool, dialFlag, listenFlag string, cases []cliCase) {
	testutil.CheckGoroutines(t)
	path := needTool(t, tool)
	for _, tr := range trs {
		for _, dir := range directions {
			for _, c := range cases {
				t.Run(fmt.Sprintf("%s/%s/%s", tr, dir, c.name), func(t *testing.T) {
					t.Parallel()
					e := &cliEnv{t: t, s: newSocket(t, c.mq, false), tool: path, lib: cliLibs[tool]}
					switch dir {
					case mqListens:
						ln, err := e.s.Listen(listenURL(t, tr))
						if err != nil {
							t.Fatal(err)
						}
						e.addr = []string{dialFlag, ln.URL()}
					case peerListens:
						e.listenFlag = listenFlag
						e.dial(freeURL(t, tr))
					}
					c.run(e)
				})
			}
		}
	}
}

// Cases that nngcat and nanocat share, given each tool's protocol flags.

func cliPushToMQ(pushArgs ...string) func(e *cliEnv) {
	return func(e *cliEnv) {
		e.start(pushArgs...)
		for range 3 {
			mqExpect(e.t, e.s, []byte("msg-cli"))
		}
	}
}

func cliPullFromMQ(pullFlag string) func(e *cliEnv) {
	return func(e *cliEnv) {
		p := e.start(pullFlag, "--quoted")
		var want []string
		for i := range 5 {
			want = append(want, fmt.Sprintf("msg-%d", i))
			mqSend(e.t, e.s, []byte(want[i]))
		}
		e.expectLines(p, "", want...)
	}
}

func cliRepToMQ(repFlag string) func(e *cliEnv) {
	return func(e *cliEnv) {
		p := e.start(repFlag, "--data", "pong", "--quoted")
		for i := range 3 {
			q := fmt.Sprintf("ping-%d", i)
			mqSend(e.t, e.s, []byte(q))
			mqExpect(e.t, e.s, []byte("pong"))
			e.expectLines(p, "", q)
		}
	}
}

// cliReqToMQ runs the one-shot CLI REQ three times: each asks once, prints
// the reply and exits, so mqwire also sees the peer go and come back.
func cliReqToMQ(reqFlag string) func(e *cliEnv) {
	return func(e *cliEnv) {
		for i := range 3 {
			q := fmt.Sprintf("ping-%d", i)
			p := e.start(reqFlag, "--data", q, "--quoted")
			mqExpect(e.t, e.s, []byte(q))
			mqSend(e.t, e.s, fmt.Appendf(nil, "pong-%d", i))
			e.expectLines(p, "", fmt.Sprintf("pong-%d", i))
			p.stop()
		}
	}
}

func cliPubToMQ(pubArgs ...string) func(e *cliEnv) {
	return func(e *cliEnv) {
		e.start(pubArgs...)
		mqExpect(e.t, e.s, []byte("msg-cli"))
	}
}

// cliSubFromMQ: the CLI subscribes to "msg"; "other" must not reach it.
func cliSubFromMQ(subFlag string) func(e *cliEnv) {
	return func(e *cliEnv) {
		p := e.start(subFlag, "--subscribe", "msg", "--quoted")
		e.warm(p, "msg-warm")
		mqSend(e.t, e.s, []byte("other-0"))
		var want []string
		for i := range 3 {
			want = append(want, fmt.Sprintf("msg-%d", i))
			mqSend(e.t, e.s, []byte(want[i]))
		}
		e.expectLines(p, "msg-warm", want...)
	}
}

// cliBusFromMQ: mqwire's bus broadcasts to the CLI's.
func cliBusFromMQ(busFlag string) func(e *cliEnv) {
	return func(e *cliEnv) {
		p := e.start(busFlag, "--quoted")
		e.warm(p, "msg-warm")
		var want []string
		for i := range 3 {
			want = append(want, fmt.Sprintf("msg-%d", i))
			mqSend(e.t, e.s, []byte(want[i]))
		}
		e.expectLines(p, "msg-warm", want...)
	}
}

// cliPairFromMQ: mqwire sends to a CLI pair of the same version.
func cliPairFromMQ(pairFlag string) func(e *cliEnv) {
	return func(e *cliEnv) {
		p := e.start(pairFlag, "--quoted")
		var want []string
		for i := range 3 {
			want = append(want, fmt.Sprintf("msg-%d", i))
			mqSend(e.t, e.s, []byte(want[i]))
		}
		e.expectLines(p, "", want...)
	}
}

func cliRespondentToMQ(respondentFlag string) func(e *cliEnv) {
	return func(e *cliEnv) {
		p := e.start(respondentFlag, "--data", "answer-cli", "--quoted")
		socktest.WaitPipes(e.t, e.s, 1)
		for i := range 3 {
			q := fmt.Sprintf("survey-%d", i)
			mqSend(e.t, e.s, []byte(q))
			mqExpect(e.t, e.s, []byte("answer-cli"))
			e.expectLines(p, "", q)
		}
	}
}

// cliSurveyorToMQ: the CLI surveys again and again (an early survey may
// find no pipe); mqwire answers until the CLI prints an answer. nngcat
// 1.5.2 as a surveyor now and then stops surveying under load (seen
// against mqwire and against nngcat itself, cmd/mqcat's drop-in tests): a
// CLI that sent nothing in the whole wait is started once more.
func cliSurveyorToMQ(surveyorArgs ...string) func(e *cliEnv) {
	return func(e *cliEnv) {
		for attempt := 1; ; attempt++ {
			p := e.start(append(surveyorArgs, "--data", "survey-cli", "--quoted")...)
			deadline := time.Now().Add(timeout)
			restart := false
			for !restart && time.Now().Before(deadline) {
				got, err := mqRecv(e.s, time.Until(deadline))
				switch {
				case err != nil && attempt == 1 && p.state() == p.name+" runs":
					e.t.Logf("%s sent no survey in %v (%d pipes): starting it again", p.name, timeout, e.s.Stats().Pipes)
					p.stop()
					restart = true
					continue
				case err != nil:
					e.t.Fatalf("mqwire received no survey (%d pipes, %s): %v", e.s.Stats().Pipes, p.state(), err)
				case string(got) != "survey-cli":
					e.t.Fatalf("mqwire received %q, want survey-cli", got)
				}
				mqSend(e.t, e.s, []byte("answer-mq"))
				if l, ok := p.line(300 * time.Millisecond); ok {
					if l != quote("answer-mq") {
						e.t.Fatalf("%s printed %s, want %s", p.name, l, quote("answer-mq"))
					}
					return
				}
			}
			if !restart {
				e.t.Fatalf("%s printed no answer", p.name)
			}
		}
	}
}

// cliMismatch: the CLI speaks a protocol mqwire's socket cannot talk to.
func cliMismatch(args ...string) func(e *cliEnv) {
	return func(e *cliEnv) {
		events := e.s.Events(256)
		e.start(args...)
		expectMismatch(e.t, e.s, events)
	}
}
