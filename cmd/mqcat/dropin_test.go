package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
)

// role is one side of a pattern, as an nngcat command line and as nanocat's.
// What a side prints is matched against a regular expression: where a
// message is sent every second until a count, the number of copies that
// arrive depends on how fast the other side came up.
type role struct {
	proto string   // nngcat's protocol option, without the dashes
	args  []string // nngcat's other options (not the address)
	want  string   // what nngcat (and so mqcat) prints in this role: a regexp

	nano      []string // nanocat's options (protocol included); nil: nanocat cannot play it
	nanoWant  string   // what nanocat prints: a regexp
	nanoStays bool     // nanocat does not end by itself; the test stops it
}

// lit matches s exactly.
func lit(s string) string { return regexp.QuoteMeta(s) }

// copies matches from 1 to n quoted lines of s.
func copies(s string, n int) string { return fmt.Sprintf("(?:%s){1,%d}", lit(`"`+s+`"`+"\n"), n) }

// scenario is one pattern: two roles that talk to each other.
type scenario struct {
	name string
	a, b role
}

// scenarios are command lines that work between two nngcat processes; each
// side is then played by mqcat against nngcat and against nanocat. Senders
// whose messages are lost while no peer is connected (pub, surveyor, bus)
// send every second, three times, so that a slow start costs nothing.
var scenarios = []scenario{
	{"reqrep",
		role{proto: "rep0", args: []string{"--data", "pong", "-Q", "--count", "1"}, want: lit("\"ping\"\n"),
			nano: []string{"--rep", "--data", "pong", "-Q"}, nanoWant: lit("\"ping\"\n"), nanoStays: true},
		role{proto: "req0", args: []string{"--data", "ping", "-Q"}, want: lit("\"pong\"\n"),
			nano: []string{"--req", "--data", "ping", "-Q"}, nanoWant: lit("\"pong\"\n")},
	},
	{"pushpull",
		role{proto: "pull0", args: []string{"-Q", "--count", "3"}, want: lit(strings.Repeat("\"m\\x00\"\n", 3)),
			nano: []string{"--pull", "-Q"}, nanoWant: lit(strings.Repeat("\"m\\x00\"\n", 3)), nanoStays: true},
		// nanocat has no --count: it pushes every 0.2 s until stopped.
		role{proto: "push0", args: []string{"-F", "-", "--count", "3"},
			nano: []string{"--push", "-F", "-", "-i", "0.2"}, nanoStays: true},
	},
	{"pubsub",
		role{proto: "sub0", args: []string{"-Q", "--count", "1", "--subscribe", "x", "--subscribe", "a"}, want: lit("\"ab\"\n"),
			nano: []string{"--sub", "-Q", "--subscribe", "a"}, nanoWant: copies("ab", 3), nanoStays: true},
		role{proto: "pub0", args: []string{"--data", "ab", "--interval", "1", "--count", "3"},
			nano: []string{"--pub", "--data", "ab", "-i", "1"}, nanoStays: true},
	},
	{"survey",
		role{proto: "respondent0", args: []string{"--data", "yes", "-Q", "--count", "1"}, want: lit("\"sv\"\n"),
			nano: []string{"--respondent", "--data", "yes", "-Q"}, nanoWant: copies("sv", 3), nanoStays: true},
		role{proto: "surveyor0", args: []string{"--data", "sv", "-Q", "-i", "1", "-C", "3"}, want: copies("yes", 3),
			nano: []string{"--surveyor", "--data", "sv", "-Q", "-i", "1"}, nanoWant: copies("yes", 1), nanoStays: true},
	},
	{"pair0",
		role{proto: "pair0", args: []string{"--data", "A1", "-Q", "--recv-timeout", "2"}, want: lit("\"B1\"\n"),
			nano: []string{"--pair", "--data", "A1", "-Q", "--recv-timeout", "2"}, nanoWant: lit("\"B1\"\n")},
		role{proto: "pair0", args: []string{"--data", "B1", "-Q", "--recv-timeout", "2"}, want: lit("\"A1\"\n"),
			nano: []string{"--pair", "--data", "B1", "-Q", "--recv-timeout", "2"}, nanoWant: lit("\"A1\"\n")},
	},
	{"pair1",
		role{proto: "pair1", args: []string{"--data", "A1", "-Q", "--recv-timeout", "2"}, want: lit("\"B1\"\n")},
		role{proto: "pair1", args: []string{"--data", "B1", "-Q", "--recv-timeout", "2"}, want: lit("\"A1\"\n")},
	},
	{"bus",
		role{proto: "bus0", args: []string{"--data", "A1", "-Q", "-i", "1", "-C", "3"}, want: copies("B1", 4),
			nano: []string{"--bus", "--data", "A1", "-Q", "-i", "1"}, nanoWant: copies("B1", 4), nanoStays: true},
		role{proto: "bus0", args: []string{"--data", "B1", "-Q", "-i", "1", "-C", "3"}, want: copies("A1", 4),
			nano: []string{"--bus", "--data", "B1", "-Q", "-i", "1"}, nanoWant: copies("A1", 4), nanoStays: true},
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

// nngcatTimeoutFlake is what nngcat 1.5.2 prints when, on a loaded machine,
// the rest of its --interval is already over when it sets its receive
// timeout (a negative value): its own failure, whoever the peer is.
const nngcatTimeoutFlake = "Cannot set recv timeout"

// playScenario plays c, again (up to three times) when nngcat fails in
// its own timing.
func playScenario(t *testing.T, bins map[string]string, c dropinCase) {
	for attempt := 1; ; attempt++ {
		problems, nngcatFlaked := playOnce(t, bins, c)
		if len(problems) == 0 {
			return
		}
		if nngcatFlaked && attempt < 3 {
			t.Logf("attempt %d: nngcat failed in its own timing, or nothing crossed; again. What went wrong:", attempt)
			for _, p := range problems {
				t.Log(p)
			}
			continue
		}
		for _, p := range problems {
			t.Error(p)
		}
		return
	}
}

// playOnce plays c once and says what went wrong, and whether nngcat
// failed in its own timing.
func playOnce(t *testing.T, bins map[string]string, c dropinCase) (problems []string, nngcatFlaked bool) {
	implL, rl, implD, rd := c.implA, c.sc.a, c.implB, c.sc.b
	if !c.aListens {
		implL, rl, implD, rd = c.implB, c.sc.b, c.implA, c.sc.a
	}
	var l *side
	e, _ := startListener(t, c.transport, func(e endpoint) *proc {
		l = startSide(t, bins, implL, rl, e, true)
		return l.p
	})
	d := startSide(t, bins, implD, rd, e, false)
	sides := []*side{l, d}

	// Sides that end by themselves get 15 s; then those that stay get
	// until their output is complete (or 5 s) before they are stopped.
	deadline := time.Now().Add(15 * time.Second)
	stuck := 0
	for _, s := range sides {
		if s.impl == "nanocat" && s.r.nanoStays {
			continue
		}
		if !s.p.wait(time.Until(deadline)) {
			s.p.kill()
			stuck++
			problems = append(problems, fmt.Sprintf("%s did not end: %s", s.impl, s.p.report()))
		}
	}
	for _, s := range sides {
		if s.impl == "nanocat" && s.r.nanoStays {
			waitOutput(s.p, whole(s.r.nanoWant), 5*time.Second)
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
		if !whole(want).MatchString(s.p.stdout.String()) || s.p.code != wantCode || (s.impl != "nanocat" && s.p.stderr.String() != "") {
			problems = append(problems, fmt.Sprintf("%s printed or ended wrong (want exit %d, stdout matching %s):\n%s\nother side:\n%s",
				s.impl, wantCode, want, s.p.report(), other(sides, s).p.report()))
		}
		if s.impl == "nngcat" && strings.Contains(s.p.stderr.String(), nngcatTimeoutFlake) {
			nngcatFlaked = true
		}
	}
	// nngcat 1.5.2 as a surveyor, under load, now and then never ends (seen
	// in full CI runs, against mqcat and against nngcat itself; once stuck
	// before any survey reached its peer, which then waited too). With
	// --count and --interval it must end within seconds whatever its peer
	// does: its sends never wait and its receives have a timeout. So its
	// not ending is its own hang, and the case is played again.
	for _, s := range sides {
		if s.impl == "nngcat" && s.r.proto == "surveyor0" && s.p.code == -1 {
			nngcatFlaked = true
		}
	}
	// With nngcat on both sides, mqwire plays no part: whatever went wrong
	// is nngcat's own (seen once under load: a respondent that never got
	// any of the three surveys).
	if l.impl == "nngcat" && d.impl == "nngcat" {
		nngcatFlaked = true
	}
	// Seen once in a full CI run under -race (reqrep, mqcat's rep dialing
	// nngcat's req): neither side ended and nothing crossed, the rep still
	// waiting for the request after 15 s; not reproduced since (over
	// 1,600 runs of the reqrep cases under -race, many beside CPU load).
	// Played again, with the reports logged above, rather than failed at
	// once.
	if stuck == len(sides) && l.p.stdout.String() == "" && d.p.stdout.String() == "" {
		nngcatFlaked = true
	}
	return problems, nngcatFlaked
}

// whole compiles re to match a whole string.
func whole(re string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + re + `)$`) }

func other(sides []*side, s *side) *side {
	if sides[0] == s {
		return sides[1]
	}
	return sides[0]
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
