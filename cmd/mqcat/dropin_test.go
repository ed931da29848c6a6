package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
)

// role is one side of a pattern, as an nngcat command line and as nanocat's.
type role struct {
	proto string   // nngcat's protocol option, without the dashes
	args  []string // nngcat's other options (not the address)
	want  string   // what nngcat (and so mqcat) prints in this role

	nano      []string // nanocat's options (protocol included); nil: nanocat cannot play it
	nanoWant  string   // what nanocat prints
	nanoStays bool     // nanocat does not end by itself; the test stops it
}

// scenario is one pattern: two roles that talk to each other.
type scenario struct {
	name string
	a, b role
}

// scenarios are command lines that work between two nngcat processes; each
// side is then played by mqcat against nngcat and against nanocat.
var scenarios = []scenario{
	{"reqrep",
		role{proto: "rep0", args: []string{"--data", "pong", "-Q", "--count", "1"}, want: "\"ping\"\n",
			nano: []string{"--rep", "--data", "pong", "-Q"}, nanoWant: "\"ping\"\n", nanoStays: true},
		role{proto: "req0", args: []string{"--data", "ping", "-Q"}, want: "\"pong\"\n",
			nano: []string{"--req", "--data", "ping", "-Q"}, nanoWant: "\"pong\"\n"},
	},
	{"pushpull",
		role{proto: "pull0", args: []string{"-Q", "--count", "3"}, want: strings.Repeat("\"m\\x00\"\n", 3),
			nano: []string{"--pull", "-Q"}, nanoWant: strings.Repeat("\"m\\x00\"\n", 3), nanoStays: true},
		// nanocat has no --count: it pushes every 0.2 s until stopped.
		role{proto: "push0", args: []string{"-F", "-", "--count", "3"},
			nano: []string{"--push", "-F", "-", "-i", "0.2"}, nanoStays: true},
	},
	{"pubsub",
		role{proto: "sub0", args: []string{"-Q", "--count", "1", "--subscribe", "x", "--subscribe", "a"}, want: "\"ab\"\n",
			nano: []string{"--sub", "-Q", "--subscribe", "a"}, nanoWant: "\"ab\"\n", nanoStays: true},
		role{proto: "pub0", args: []string{"--data", "ab", "--delay", "1"},
			nano: []string{"--pub", "--data", "ab", "-d", "1"}},
	},
	{"survey",
		role{proto: "respondent0", args: []string{"--data", "yes", "-Q", "--count", "1"}, want: "\"sv\"\n",
			nano: []string{"--respondent", "--data", "yes", "-Q"}, nanoWant: "\"sv\"\n", nanoStays: true},
		role{proto: "surveyor0", args: []string{"--data", "sv", "-Q", "--delay", "1"}, want: "\"yes\"\n",
			nano: []string{"--surveyor", "--data", "sv", "-Q", "-d", "1"}, nanoWant: "\"yes\"\n"},
	},
	{"pair0",
		role{proto: "pair0", args: []string{"--data", "A1", "-Q", "--recv-timeout", "1"}, want: "\"B1\"\n",
			nano: []string{"--pair", "--data", "A1", "-Q", "--recv-timeout", "1"}, nanoWant: "\"B1\"\n"},
		role{proto: "pair0", args: []string{"--data", "B1", "-Q", "--recv-timeout", "1"}, want: "\"A1\"\n",
			nano: []string{"--pair", "--data", "B1", "-Q", "--recv-timeout", "1"}, nanoWant: "\"A1\"\n"},
	},
	{"pair1",
		role{proto: "pair1", args: []string{"--data", "A1", "-Q", "--recv-timeout", "1"}, want: "\"B1\"\n"},
		role{proto: "pair1", args: []string{"--data", "B1", "-Q", "--recv-timeout", "1"}, want: "\"A1\"\n"},
	},
	{"bus",
		role{proto: "bus0", args: []string{"--data", "A1", "-Q", "--delay", "1", "--recv-timeout", "2"}, want: "\"B1\"\n",
			nano: []string{"--bus", "--data", "A1", "-Q", "-d", "1", "--recv-timeout", "2"}, nanoWant: "\"B1\"\n"},
		role{proto: "bus0", args: []string{"--data", "B1", "-Q", "--delay", "1", "--recv-timeout", "2"}, want: "\"A1\"\n",
			nano: []string{"--bus", "--data", "B1", "-Q", "-d", "1", "--recv-timeout", "2"}, nanoWant: "\"A1\"\n"},
	},
}

// pushData is what push roles read from standard input (-F -): a NUL shows
// that --file carries binary data.
var pushData = []byte("m\x00")

// dropinCase is one run: who plays each role, who listens, over what.
type dropinCase struct {
	sc         scenario
	implA      string // "mqcat", "nngcat" or "nanocat"
	implB      string
	aListens   bool
	transport  string
	isBaseline bool // nngcat against nngcat: checks the scenario itself
}

func (c dropinCase) name() string {
	who := func(impl string, r role, listens bool) string {
		dir := "dials"
		if listens {
			dir = "listens"
		}
		return fmt.Sprintf("%s-%s-%s", impl, strings.TrimSuffix(r.proto, "0"), dir)
	}
	return fmt.Sprintf("%s/%s/%s_%s", c.sc.name, c.transport, who(c.implA, c.sc.a, c.aListens), who(c.implB, c.sc.b, !c.aListens))
}

// TestDropIn plays every scenario with mqcat in place of nngcat on one side,
// the other side being nngcat or nanocat, with mqcat listening and dialing,
// over tcp and ipc. Runs of nngcat against nngcat check the scenarios.
func TestDropIn(t *testing.T) {
	bins := map[string]string{"mqcat": mqcat(t), "nngcat": peer(t, "nngcat"), "nanocat": peer(t, "nanocat")}
	var cases []dropinCase
	for _, sc := range scenarios {
		for _, tr := range []string{"tcp", "ipc"} {
			for _, aListens := range []bool{true, false} {
				add := func(a, b string) {
					if (a == "nanocat" && sc.a.nano == nil) || (b == "nanocat" && sc.b.nano == nil) {
						return
					}
					cases = append(cases, dropinCase{sc: sc, implA: a, implB: b, aListens: aListens, transport: tr,
						isBaseline: a == "nngcat" && b == "nngcat"})
				}
				add("nngcat", "nngcat")
				add("mqcat", "nngcat")
				add("nngcat", "mqcat")
				add("mqcat", "nanocat")
				add("nanocat", "mqcat")
			}
		}
	}
	runLimited(t, 10, cases, dropinCase.name, func(t *testing.T, c dropinCase) {
		playScenario(t, bins, c)
	})
}

// side is one running role.
type side struct {
	impl string
	r    role
	p    *proc
}

func startSide(t *testing.T, bins map[string]string, impl string, r role, e endpoint, listens bool) *side {
	var args []string
	if impl == "nanocat" {
		args = append(append(args, r.nano...), e.nanoArgs(listens)...)
	} else {
		args = append(append([]string{"--" + r.proto}, e.ngArgs(listens)...), r.args...)
	}
	if impl == "in-process" {
		return &side{impl: impl, r: r, p: startInProcess(t, pushData, args...)}
	}
	return &side{impl: impl, r: r, p: startProc(t, pushData, bins[impl], args...)}
}

func playScenario(t *testing.T, bins map[string]string, c dropinCase) {
	e := newEndpoint(t, c.transport)
	implL, rl, implD, rd := c.implA, c.sc.a, c.implB, c.sc.b
	if !c.aListens {
		implL, rl, implD, rd = c.implB, c.sc.b, c.implA, c.sc.a
	}
	l := startSide(t, bins, implL, rl, e, true)
	waitListening(t, e, l.p)
	d := startSide(t, bins, implD, rd, e, false)
	sides := []*side{l, d}

	// Sides that end by themselves get 15 s; then those that stay get
	// until their output is complete (or 5 s) before they are stopped.
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range sides {
		if s.impl == "nanocat" && s.r.nanoStays {
			continue
		}
		if !s.p.wait(time.Until(deadline)) {
			s.p.kill()
			t.Errorf("%s did not end: %s", s.impl, s.p.report())
		}
	}
	for _, s := range sides {
		if s.impl == "nanocat" && s.r.nanoStays {
			waitOutput(s.p, s.r.nanoWant, 5*time.Second)
			s.p.kill()
		}
	}
	for _, s := range sides {
		want, wantCode := s.r.want, 0
		if s.impl == "nanocat" {
			want = s.r.nanoWant
			if s.r.nanoStays {
				wantCode = s.p.code // stopped by the test: any status
			}
		}
		if s.p.stdout.String() != want || s.p.code != wantCode || (s.impl != "nanocat" && s.p.stderr.String() != "") {
			t.Errorf("%s printed or ended wrong (want exit %d, stdout %q): %s", s.impl, wantCode, want, s.p.report())
		}
	}
}

// TestRunInProcess plays every scenario with mqcat's run function in this
// process against nngcat, so that go test -race checks mqcat's own code and
// no goroutine outlives a run.
func TestRunInProcess(t *testing.T) {
	testutil.CheckGoroutines(t)
	bins := map[string]string{"nngcat": peer(t, "nngcat")}
	var cases []dropinCase
	for _, sc := range scenarios {
		for _, aListens := range []bool{true, false} {
			cases = append(cases,
				dropinCase{sc: sc, implA: "in-process", implB: "nngcat", aListens: aListens, transport: "tcp"},
				dropinCase{sc: sc, implA: "nngcat", implB: "in-process", aListens: aListens, transport: "tcp"})
		}
	}
	runLimited(t, 10, cases, dropinCase.name, func(t *testing.T, c dropinCase) {
		playScenario(t, bins, c)
	})
}
