package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, args ...string) *config {
	t.Helper()
	c, err := parseArgs(args, strings.NewReader("from stdin"))
	if err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return c
}

func TestParseProtocols(t *testing.T) {
	cases := map[string]optID{
		"--req0": optReq0, "--req": optReq0,
		"--rep0": optRep0, "--rep": optRep0,
		"--pub0": optPub0, "--pub": optPub0,
		"--sub0": optSub0, "--sub": optSub0,
		"--push0": optPush0, "--push": optPush0,
		"--pull0": optPull0, "--pull": optPull0,
		"--surveyor0": optSurveyor0, "--surveyor": optSurveyor0, "--surv": optSurveyor0,
		"--respondent0": optRespondent0, "--respondent": optRespondent0,
		"--pair0": optPair0, "--pair1": optPair1, "--pair": optPair1,
		"--bus0": optBus0, "--bus": optBus0,
	}
	for opt, want := range cases {
		args := []string{opt, "--dial", "tcp://127.0.0.1:1"}
		switch want {
		case optReq0, optSurveyor0, optPush0, optPub0:
			args = append(args, "-D", "x")
		}
		if got := parse(t, args...).proto; got != want {
			t.Errorf("%s: protocol %d, want %d", opt, got, want)
		}
	}
	// --compat makes --pair mean pair0.
	if got := parse(t, "--pair", "--compat", "-l", "5").proto; got != optPair0 {
		t.Errorf("--pair --compat: protocol %d, want pair0", got)
	}
}

func TestParseValueForms(t *testing.T) {
	want := []address{
		{listen: false, url: "tcp://a:1"},
		{listen: false, url: "tcp://b:2"},
		{listen: false, url: "tcp://c:3"},
		{listen: true, url: "tcp://d:4"},
		{listen: true, url: "tcp://e:5"},
		{listen: true, url: "tcp://127.0.0.1:5555"},
		{listen: true, url: "tcp://127.0.0.1:6666"},
		{listen: false, url: "tcp://127.0.0.1:7"},
		{listen: false, url: "tcp://127.0.0.1:8"},
		{listen: true, url: "ipc:////run/x"},
		{listen: true, url: "ipc:///rel"},
		{listen: false, url: "ipc:////run/y"},
		{listen: false, url: "ipc:////run/z"},
	}
	c := parse(t, "--pull",
		"--dial", "tcp://a:1", "--dial=tcp://b:2", "--connect:tcp://c:3",
		"--listen", "tcp://d:4", "--bind=tcp://e:5",
		"-L5555", "--bind-local", "6666", "-l", "007", "--connect-local=8",
		"-X", "/run/x", "--bind-ipc=rel", "-x/run/y", "--connect-ipc", "/run/z",
	)
	if !slices.Equal(want, c.addrs) {
		t.Errorf("addresses\n got %+v\nwant %+v", c.addrs, want)
	}
}

func TestParseOptions(t *testing.T) {
	c := parse(t, "--sub", "-l", "1", "--subscribe", "a", "--subscribe=", "--subs:b",
		"-Q", "-v", "-q", "-C", "5", "--recv-timeout=3", "-Z", "0", "--socket-name", "x",
		"-k", "--zt-home", "/z")
	if want := []string{"a", "", "b"}; !slices.Equal(want, c.topics) {
		t.Errorf("topics %q, want %q", c.topics, want)
	}
	if c.format != formatQuoted || c.verbose != optSilent || c.count != 5 ||
		c.recvTimeout != 3*time.Second || c.recvMaxSize != 0x7fffffff || !c.insecure {
		t.Errorf("config %+v", c)
	}
	c = parse(t, "--req", "-l1", "-D", "-data-", "-d", "2", "-i0.25", "--send-timeout", "1.5", "--format", "msgpack")
	if string(c.data) != "-data-" || c.delay != 2*time.Second || c.interval != 250*time.Millisecond ||
		c.sendTimeout != 1500*time.Millisecond || c.format != formatMsgpack {
		t.Errorf("config %+v", c)
	}
	// Defaults: nothing set, sub subscribes to everything.
	c = parse(t, "--sub", "-l", "1")
	if c.delay >= 0 || c.interval >= 0 || c.recvTimeout >= 0 || c.sendTimeout >= 0 ||
		c.recvMaxSize != -1 || c.count != 0 || c.format != formatUnset || c.data != nil {
		t.Errorf("defaults %+v", c)
	}
	if want := []string{""}; !slices.Equal(want, c.topics) {
		t.Errorf("default topics %q, want %q", c.topics, want)
	}
	// An empty --data is data.
	if c := parse(t, "--push", "-l1", "--data="); c.data == nil || len(c.data) != 0 {
		t.Errorf("--data= gives %q (nil %v)", c.data, c.data == nil)
	}
	// Options end at the first other argument; the rest is ignored.
	if c := parse(t, "--pull", "-l1", "extra", "--bogus"); c.proto != optPull0 {
		t.Errorf("extra arguments: %+v", c)
	}
}

func TestParseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	body := []byte("a\x00b\n")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if c := parse(t, "--push", "-l1", "-F", path); string(c.data) != string(body) {
		t.Errorf("--file: %q", c.data)
	}
	if c := parse(t, "--push", "-l1", "--file", "-"); string(c.data) != "from stdin" {
		t.Errorf("--file -: %q", c.data)
	}
}

func TestSeconds(t *testing.T) {
	good := map[string]time.Duration{
		"0": 0, "7": 7 * time.Second, "86400": 86400 * time.Second, "0.5": 500 * time.Millisecond,
		".25": 250 * time.Millisecond, "1.": time.Second, "1.0019": 1001 * time.Millisecond,
	}
	for s, want := range good {
		if got, err := secondsArg(s); err != nil || got != want {
			t.Errorf("secondsArg(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	bad := map[string]string{
		"": "Empty integer argument.", "x": "Integer argument expected.", "-1": "Integer argument expected.",
		"86401": "Integer argument too large.", "86400.5": "Integer argument too large.",
		".": "Integer argument expected.", "1.x": "Integer argument expected.", "1e3": "Integer argument expected.",
	}
	for s, want := range bad {
		if _, err := secondsArg(s); err == nil || err.Error() != want {
			t.Errorf("secondsArg(%q) error %v, want %q", s, err, want)
		}
	}
}

// usageCases are command lines with a mistake and nngcat 1.5.2's message.
var usageCases = []struct {
	args []string
	want string
}{
	{[]string{"--req0"}, "No address specified."},
	{[]string{"--bogus"}, "Option --bogus is invalid."},
	{[]string{"--re", "--dial", "x"}, "Option --re is ambiguous (specify in full)."},
	{[]string{"--ver"}, "Option --ver is ambiguous (specify in full)."},
	{[]string{"--"}, "Option -- is ambiguous (specify in full)."},
	{[]string{"-vq"}, "Option -vq is invalid."},
	{[]string{"-z"}, "Option -z is invalid."},
	{[]string{"--req0=x"}, "Option --req0=x is invalid."},
	{[]string{"--dial"}, "Option --dial requires argument."},
	{[]string{"-C"}, "Option -C requires argument."},
	{[]string{"-", "--req0"}, "No address specified."},
	{[]string{"--req0", "foo", "--dial", "tcp://x:1"}, "No address specified."},
	{[]string{"--dial", "tcp://x:1"}, "No protocol specified."},
	{[]string{"--req0", "--dial", "x"}, "Protocol requires either --file or --data."},
	{[]string{"--push", "--dial", "x"}, "Protocol requires either --file or --data."},
	{[]string{"--push", "--dial", "x", "-D", "d", "-A"}, "Protocol does not support --format options."},
	{[]string{"--pub", "--dial", "x", "-D", "d", "--format", "no"}, "Protocol does not support --format options."},
	{[]string{"--sub", "--dial", "x", "-D", "d"}, "Protocol does not support --file or --data."},
	{[]string{"--pull", "--dial", "x", "-i", "1"}, "Protocol does not support --interval."},
	{[]string{"--rep", "--dial", "x", "-i", "1"}, "Protocol does not support --interval."},
	{[]string{"--bus", "--dial", "x", "-i", "1"}, "Option --interval requires either --file or --data."},
	{[]string{"--req", "--dial", "x", "--subscribe", "a"}, "Protocol does not support --subscribe."},
	{[]string{"--req", "--rep", "--dial", "x"}, "Only one protocol may be specified."},
	{[]string{"--pub", "--dial", "x", "-D", "d", "--format", "bogus"}, "Invalid format specified."},
	{[]string{"--sub", "--dial", "x", "--hex", "--raw"}, "Format may be specified only once."},
	{[]string{"--push", "--dial", "x", "-D", "d", "--data", "e"}, "Data (--file, --data) may be specified only once."},
	{[]string{"--push", "--dial", "x", "-D", "d", "-F", "/nonexistent"}, "Data (--file, --data) may be specified only once."},
	{[]string{"--push", "--dial", "x", "-F", "/nonexistent/file"}, "Cannot open file /nonexistent/file: No such file or directory"},
	{[]string{"--req", "-L", "65537"}, "Integer argument too large."},
	{[]string{"--req", "-L", "12a"}, "Integer argument expected."},
	{[]string{"--req", "-L", ""}, "Empty integer argument."},
	{[]string{"--req", "-l1", "-C", "-1"}, "Integer argument expected."},
	{[]string{"--req", "-l1", "--recv-timeout", "86401"}, "Integer argument too large."},
	{[]string{"--req", "-l1", "-Z", "1k"}, "Integer argument expected."},
	{[]string{"--pair1", "--compat", "-l1"}, "Protocol does not support --compat."},
	{[]string{"--req", "--compat", "-C", "2", "-l1"}, "Options --count and --compat are incompatible."},
	{[]string{"--req", "--async", "--compat", "-l1"}, "Options --async and --compat are incompatible."},
	{[]string{"--cacert", "/nonexistent"}, "Cannot open file /nonexistent: No such file or directory"},
	{[]string{"--key", "/dev/null", "--key", "/dev/null"}, "Key (--key) may be specified only once."},
	{[]string{"-E", "/dev/null", "--cert", "/dev/null"}, "Cert (--cert) may be specified only once."},
	{[]string{"--cacert", "/dev/null", "--cacert", "/dev/null"}, "CA Certificate (--cacert) may be specified only once."},
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range usageCases {
		_, err := parseArgs(tc.args, strings.NewReader(""))
		var ue usageError
		if !errors.As(err, &ue) || err.Error() != tc.want {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.want)
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"--hel"}, {"--req", "--help", "--bogus"}} {
		if _, err := parseArgs(args, nil); !errors.Is(err, errHelp) {
			t.Errorf("%q: %v, want help", args, err)
		}
	}
	for _, args := range [][]string{{"-V"}, {"--version"}, {"--vers"}} {
		if _, err := parseArgs(args, nil); !errors.Is(err, errVersion) {
			t.Errorf("%q: %v, want version", args, err)
		}
	}
}

// TestUsageErrorsMatchNngcat runs nngcat and mqcat on the same mistaken
// command lines (and a few that fail when they connect) and expects the same
// exit status and the same message.
func TestUsageErrorsMatchNngcat(t *testing.T) {
	nngcat := peer(t, "nngcat")
	bin := mqcat(t)
	cases := make([][]string, 0, len(usageCases)+20)
	for _, tc := range usageCases {
		cases = append(cases, tc.args)
	}
	refused := "tcp://127.0.0.1:" + itoa(freePort(t))
	cases = append(cases,
		[]string{"--req0", "--dial", refused, "--data", "x"},
		[]string{"--push", "-l", itoa(freePort(t)), "-D", "x"},
		[]string{"--bus", "--dial=" + refused, "-D", "x"},
		[]string{"--req0", "--dial", "foo://bar", "--data", "x"},
		[]string{"--req0", "--dial", "tcp://127.0.0.1:99999", "--data", "x"},
		[]string{"--req0", "-x", "/nonexistent/x", "--data", "x"},
		[]string{"--push0", "--dial", "tcp://foo", "-D", "x"},
		[]string{"--push0", "--dial", "tcp://127.0.0.1:", "-D", "x"},
		[]string{"--push0", "--dial", "tcp://:5", "-D", "x"},
		[]string{"--push0", "--dial", "ipc://", "-D", "x"},
		[]string{"--push0", "--dial", "notaurl", "-D", "x"},
		[]string{"--push0", "--dial", "tcp://*:5", "-D", "x"},
		[]string{"--push0", "--dial", "tcp://127.0.0.1:abc", "-D", "x"},
		[]string{"--pull0", "--listen", "tcp://127.0.0.1:abc"},
		[]string{"--pull0", "--listen", "ws://127.0.0.1:99999/x"},
		[]string{"--push0", "--dial", "ws://127.0.0.1:99999/x", "-D", "x"},
		[]string{"--pull0", "--listen", "tcp://256.1.1.1:1"},
		[]string{"--pull0", "--listen", "tcp://127.0.0.1:"},
		[]string{"--pull0", "--listen", "ipc:///nonexistent/dir/s"},
		[]string{"--req", "--dial", refused, "--file", "/"},
		[]string{"-h"},
	)
	runLimited(t, 8, cases, func(a []string) string { return strings.Join(a, " ") }, func(t *testing.T, args []string) {
		n := runProc(t, 10*time.Second, nil, nngcat, args...)
		m := runProc(t, 10*time.Second, nil, bin, args...)
		if n.code != m.code || n.stderr.String() != m.stderr.String() {
			t.Errorf("nngcat and mqcat differ:\n%s\n%s", n.report(), m.report())
		}
	})
}
