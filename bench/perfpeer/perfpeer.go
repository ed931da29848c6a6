// Package perfpeer builds and runs the perf ends: commands that follow
// libzmq's perf tools (local_thr, remote_thr, local_lat, remote_lat,
// inproc_thr, inproc_lat) on top of different messaging libraries, so that
// their figures compare directly and any two ends of one dialect can be
// paired (mqwire's local end with libzmq's remote end, and so on).
//
// Every end takes the same command line:
//
//	<end> [flags] local_thr  <bind-url>    <size> <count>       # receiver (PULL by default), binds, prints throughput
//	<end> [flags] remote_thr <connect-url> <size> <count>       # sender (PUSH by default), connects
//	<end> [flags] local_lat  <bind-url>    <size> <roundtrips>  # REP, binds, echoes every message
//	<end> [flags] remote_lat <connect-url> <size> <roundtrips>  # REQ, connects, prints latency
//	<end> [flags] inproc_thr <size> <count>                     # both ends in one process (inproc)
//	<end> [flags] inproc_lat <size> <roundtrips>
//
// and prints libzmq's lines: "message size: %d [B]", "message count: %d",
// "mean throughput: %d [msg/s]", "mean throughput: %.3f [Mb/s]" for the
// throughput roles (a publisher may drop, so the receiving end of a pub run
// stops once nothing has come for a second after the first message, counts
// and times what it got, and adds "messages lost: %d of %d"), "message size: %d [B]", "roundtrip count: %d", "average
// latency: %.3f [us]" (one way: elapsed / (2 * roundtrips)) for the latency
// ones. remote_lat starts its clock once connected (libzmq's own starts it
// after an asynchronous connect; a connect that waits out a reconnect
// interval, the listener not up yet, would count in a short run). The flags every end shares are -pattern push|pair|pub (throughput)
// and -pattern reqrep|pair (latency); put them in the argv given to Run,
// after End.Argv. mqwire's and libzmq's ends also take -curve (CURVE, the
// binding end the server, with the same fixed keys in both). The ends:
//
//   - mqwire-sp, mqwire-zmtp: bench/cmd/mqperf, SP by default, -zmtp for
//     ZMTP. inproc, ipc, tcp, shm, tls+tcp; push, pair, pub; reqrep, pair.
//     mqwire-zmtp also curve+tcp (tcp with -curve on both ends).
//   - libzmq: bench/peers/zmqperf.c, C against libzmq (ZMTP), built with
//     gcc. inproc, ipc, tcp, curve+tcp; PUSH/PULL, PAIR, PUB/SUB; REQ/REP,
//     PAIR.
//   - nng: bench/peers/nngperf.c, C against nng (SP), built with gcc;
//     tls+tcp too, as mqwire's ends (each listener serves a fixed
//     published certificate, each dialer does not check it).
//     inproc, ipc, tcp; push0/pull0, pair0, pub0/sub0; req0/rep0, pair0.
//   - zmq4: bench/cmd/zmq4perf, github.com/go-zeromq/zmq4 (ZMTP). ipc, tcp
//     (its inproc fails); push, pair, pub (receiving side only: its PUB
//     cannot tell when its queue is sent); reqrep, pair.
//   - mangos: bench/cmd/mangosperf, go.nanomsg.org/mangos/v3 (SP). inproc,
//     ipc, tcp; push, pair, pub; reqrep, pair.
//   - plain-go: bench/cmd/plainperf, no messaging library: a bare stream
//     of length-prefixed records and a bare echo over Go's net, a Go
//     channel for inproc, and on Linux a bare shared-memory ring per
//     direction for shm. It speaks its own "plain" dialect, so it pairs
//     only with itself. inproc, ipc, tcp, shm; push; reqrep. It shows in
//     the same run what the machine allows a Go program at all.
//
// The ends' own doc comments say where a library needed help to meet the
// contract (nng and mangos have no linger, so their senders wait for the
// receiver to go; libzmq over ipc drops unread messages when a sender closes
// while its receive high-water mark is reached, so mqwire's, libzmq's, nng's
// and mangos' senders wait for the receiver to go before closing; zmq4 has
// no way to tell).
//
// Build compiles them (the Go ones with the go command, the C ones with gcc
// and pkg-config) from this module's source tree.
package perfpeer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// End is one perf end: a command and what it speaks.
type End struct {
	// Name is "mqwire-sp", "mqwire-zmtp", "libzmq", "nng", "zmq4",
	// "mangos" or "plain-go".
	Name string
	// Argv is the binary and any fixed flags (mqwire-zmtp's -zmtp); the
	// role and its arguments follow, after any -pattern flag.
	Argv []string
	// Dialect is "sp", "zmtp" or "plain": ends of one dialect can be
	// paired.
	Dialect string
	// Transports lists what the end supports of "inproc" (the inproc_*
	// roles), "ipc" and "tcp".
	Transports []string
	// Err, when not nil, says why the end could not be built; Argv is then
	// empty.
	Err error
}

// Supports reports whether e was built and supports transport.
func (e End) Supports(transport string) bool {
	if e.Err != nil {
		return false
	}
	for _, t := range e.Transports {
		if t == transport {
			return true
		}
	}
	return false
}

// Result is what an end printed.
type Result struct {
	Size, Count int     // message size in bytes; messages or round trips
	Lost        int     // pub runs: messages sent that never arrived
	MsgPerSec   float64 // throughput roles: messages per second
	MbPerSec    float64 // throughput roles: megabits per second
	LatencyUS   float64 // latency roles: one-way latency in microseconds
}

// spec describes how an end is built.
type spec struct {
	name       string
	bin        string   // binary name in the build directory
	pkg        string   // Go package (./bench/cmd/...) or ""
	csrc       string   // C source under bench/peers, or ""
	pkgconfig  string   // pkg-config name of the C library
	lib        string   // its linker flag when pkg-config does not know it
	flags      []string // fixed flags
	dialect    string
	transports []string
}

var specs = []spec{
	{name: "mqwire-sp", bin: "mqperf", pkg: "./bench/cmd/mqperf", dialect: "sp", transports: mqwireTransports},
	{name: "mqwire-zmtp", bin: "mqperf", pkg: "./bench/cmd/mqperf", flags: []string{"-zmtp"}, dialect: "zmtp", transports: append(mqwireTransports[:len(mqwireTransports):len(mqwireTransports)], "curve+tcp")},
	{name: "libzmq", bin: "zmqperf", csrc: "zmqperf.c", pkgconfig: "libzmq", lib: "-lzmq", dialect: "zmtp", transports: []string{"inproc", "ipc", "tcp", "curve+tcp"}},
	{name: "nng", bin: "nngperf", csrc: "nngperf.c", pkgconfig: "nng", lib: "-lnng", dialect: "sp", transports: []string{"inproc", "ipc", "tcp", "tls+tcp"}},
	{name: "zmq4", bin: "zmq4perf", pkg: "./bench/cmd/zmq4perf", dialect: "zmtp", transports: zmq4Transports},
	{name: "mangos", bin: "mangosperf", pkg: "./bench/cmd/mangosperf", dialect: "sp", transports: []string{"inproc", "ipc", "tcp"}},
	{name: "plain-go", bin: "plainperf", pkg: "./bench/cmd/plainperf", dialect: "plain", transports: plainTransports},
}

// mqwireTransports is what mqperf supports: shm only where the shm
// transport works (Linux).
var mqwireTransports = func() []string {
	if runtime.GOOS == "linux" {
		return []string{"inproc", "ipc", "tcp", "shm", "tls+tcp"}
	}
	return []string{"inproc", "ipc", "tcp", "tls+tcp"}
}()

// plainTransports is what plainperf supports: shm on Linux, as mqperf.
var plainTransports = func() []string {
	if runtime.GOOS == "linux" {
		return []string{"inproc", "ipc", "tcp", "shm"}
	}
	return []string{"inproc", "ipc", "tcp"}
}()

// curveTransport is tcp with CURVE: not a transport of its own but a cell
// of the matrix, the ZMTP ends (mqwire-zmtp, libzmq) run with -curve.
const curveTransport = "curve+tcp"

// zmq4Transports is what the zmq4 end supports (see bench/cmd/zmq4perf).
var zmq4Transports = []string{"ipc", "tcp"}

// Build compiles every end it can into dir and returns them all, in a fixed
// order: an end whose compiler, library or source is missing comes back
// with Err set. The error is for dir itself or a missing source tree.
func Build(ctx context.Context, dir string) ([]End, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	errs := make(map[string]error) // by binary
	var mu sync.Mutex
	var wg sync.WaitGroup
	var pkgs []string
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.bin] {
			continue
		}
		seen[s.bin] = true
		if s.pkg != "" {
			pkgs = append(pkgs, s.pkg)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := buildC(ctx, root, dir, s)
			mu.Lock()
			errs[s.bin] = err
			mu.Unlock()
		}()
	}
	goErrs := buildGo(ctx, root, dir, pkgs)
	wg.Wait()
	for p, err := range goErrs {
		errs[filepath.Base(p)] = err
	}
	ends := make([]End, len(specs))
	for i, s := range specs {
		e := End{Name: s.name, Dialect: s.dialect, Transports: s.transports, Err: errs[s.bin]}
		if e.Err == nil {
			e.Argv = append([]string{filepath.Join(dir, s.bin)}, s.flags...)
		}
		ends[i] = e
	}
	return ends, nil
}

// moduleRoot finds this module's source tree: from this file's location
// when it exists (go run, go test), else the go command's idea of the
// module from the working directory.
func moduleRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		if _, err := os.Stat(filepath.Join(root, "bench", "perfpeer", "perfpeer.go")); err == nil {
			return root, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("perfpeer: cannot find the module's source: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("perfpeer: cannot find the module's source (not run inside it)")
	}
	return filepath.Dir(gomod), nil
}

// buildGo builds the Go ends with one go command (the fast path), and each
// on its own when that fails, to tell which one is broken.
func buildGo(ctx context.Context, root, dir string, pkgs []string) map[string]error {
	errs := make(map[string]error)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		for _, p := range pkgs {
			errs[p] = err
		}
		return errs
	}
	build := func(pkgs ...string) error {
		cmd := exec.CommandContext(ctx, goCmd, append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, bytes.TrimSpace(out))
		}
		return nil
	}
	if build(pkgs...) == nil {
		for _, p := range pkgs {
			errs[p] = nil
		}
		return errs
	}
	for _, p := range pkgs {
		errs[p] = build(p)
	}
	return errs
}

func buildC(ctx context.Context, root, dir string, s spec) error {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return err
	}
	src := filepath.Join(root, "bench", "peers", s.csrc)
	if _, err := os.Stat(src); err != nil {
		return err
	}
	flags := []string{s.lib}
	if pc, err := exec.LookPath("pkg-config"); err == nil {
		if out, err := exec.CommandContext(ctx, pc, "--cflags", "--libs", s.pkgconfig).Output(); err == nil {
			flags = strings.Fields(string(out))
		}
	}
	args := append([]string{"-O2", "-o", filepath.Join(dir, s.bin), src}, flags...)
	args = append(args, "-lpthread")
	cmd := exec.CommandContext(ctx, gcc, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gcc %s: %v\n%s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Run runs one end: argv (End.Argv, then any flags such as -pattern), the
// role, url (ignored by the inproc roles) and size and count. It returns
// what the end printed: nothing for remote_thr and local_lat, which print
// nothing. The printed size and count must be the ones asked for. Cancel
// ctx to stop the end.
func Run(ctx context.Context, argv []string, role, url string, size, count int) (Result, error) {
	if len(argv) == 0 {
		return Result{}, errors.New("perfpeer: empty argv")
	}
	args := append(append([]string(nil), argv[1:]...), role)
	if !strings.HasPrefix(role, "inproc_") {
		args = append(args, url)
	}
	args = append(args, strconv.Itoa(size), strconv.Itoa(count))
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	name := filepath.Base(argv[0]) + " " + strings.Join(args, " ")
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return Result{}, fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var want []string
	switch role {
	case "local_thr", "inproc_thr":
		want = []string{"size", "count", "msg/s", "Mb/s"}
	case "remote_lat", "inproc_lat":
		want = []string{"size", "roundtrips", "latency"}
	}
	r, got, err := parse(stdout.Bytes())
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	for _, w := range want {
		if !got[w] {
			return r, fmt.Errorf("%s: no %s line in its output %q", name, w, stdout.String())
		}
	}
	if len(want) > 0 && (r.Size != size || r.Count+r.Lost != count) {
		return r, fmt.Errorf("%s: printed size %d and count %d (%d lost), want %d and %d", name, r.Size, r.Count, r.Lost, size, count)
	}
	return r, nil
}

// Parse reads the lines a perf end prints (libzmq's formats) into a
// Result. Lines it does not know are ignored; a known line that does not
// parse is an error.
func Parse(out []byte) (Result, error) {
	r, _, err := parse(out)
	return r, err
}

func parse(out []byte) (Result, map[string]bool, error) {
	var r Result
	got := make(map[string]bool)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var err error
		switch {
		case strings.HasPrefix(line, "message size:"):
			_, err = fmt.Sscanf(line, "message size: %d [B]", &r.Size)
			got["size"] = true
		case strings.HasPrefix(line, "message count:"):
			_, err = fmt.Sscanf(line, "message count: %d", &r.Count)
			got["count"] = true
		case strings.HasPrefix(line, "messages lost:"):
			_, err = fmt.Sscanf(line, "messages lost: %d of", &r.Lost)
		case strings.HasPrefix(line, "roundtrip count:"):
			_, err = fmt.Sscanf(line, "roundtrip count: %d", &r.Count)
			got["roundtrips"] = true
		case strings.HasPrefix(line, "mean throughput:") && strings.HasSuffix(line, "[msg/s]"):
			_, err = fmt.Sscanf(line, "mean throughput: %g [msg/s]", &r.MsgPerSec)
			got["msg/s"] = true
		case strings.HasPrefix(line, "mean throughput:") && strings.HasSuffix(line, "[Mb/s]"):
			_, err = fmt.Sscanf(line, "mean throughput: %g [Mb/s]", &r.MbPerSec)
			got["Mb/s"] = true
		case strings.HasPrefix(line, "average latency:"):
			_, err = fmt.Sscanf(line, "average latency: %g [us]", &r.LatencyUS)
			got["latency"] = true
		default:
			continue
		}
		if err != nil {
			return r, got, fmt.Errorf("perfpeer: bad line %q: %v", line, err)
		}
	}
	return r, got, nil
}

// Pair runs local's local end and remote's remote end against each other:
// kind "thr" (local_thr and remote_thr) or "lat" (local_lat and remote_lat)
// over transport "tcp" (tcp://127.0.0.1 on a free port) or "ipc" (a socket
// in a fresh short temporary directory). It starts local, then remote, and
// returns local's result for "thr" and remote's for "lat". Transport
// "inproc" runs local's inproc_thr or inproc_lat (local and remote must be
// the same end). To pass flags such as -pattern, append them to the Argv of
// both ends.
func Pair(ctx context.Context, local, remote End, kind, transport string, size, count int) (Result, error) {
	for _, e := range []End{local, remote} {
		if e.Err != nil {
			return Result{}, fmt.Errorf("perfpeer: %s was not built: %w", e.Name, e.Err)
		}
		if !e.Supports(transport) {
			return Result{}, fmt.Errorf("perfpeer: %s does not support %s (only %v)", e.Name, transport, e.Transports)
		}
	}
	if kind != "thr" && kind != "lat" {
		return Result{}, fmt.Errorf("perfpeer: kind %q is neither thr nor lat", kind)
	}
	if local.Dialect != remote.Dialect {
		return Result{}, fmt.Errorf("perfpeer: %s speaks %s and %s %s", local.Name, local.Dialect, remote.Name, remote.Dialect)
	}
	if transport == "inproc" {
		if local.Name != remote.Name {
			return Result{}, fmt.Errorf("perfpeer: inproc runs one end (%s), not %s with %s", local.Name, local.Name, remote.Name)
		}
		return Run(ctx, local.Argv, "inproc_"+kind, "", size, count)
	}
	url, cleanup, err := freeURL(transport)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	if transport == curveTransport {
		// tcp with CURVE: both ends' -curve (fixed published keys).
		local.Argv = append(local.Argv[:len(local.Argv):len(local.Argv)], "-curve")
		remote.Argv = append(remote.Argv[:len(remote.Argv):len(remote.Argv)], "-curve")
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type res struct {
		r   Result
		err error
	}
	lc := make(chan res, 1)
	go func() {
		r, err := Run(ctx, local.Argv, "local_"+kind, url, size, count)
		if err != nil {
			cancel() // stop the other end too
		}
		lc <- res{r, err}
	}()
	rr, rerr := Run(ctx, remote.Argv, "remote_"+kind, url, size, count)
	if rerr != nil {
		cancel()
	}
	lr := <-lc
	// Report the first failure, not the cancellation it caused.
	switch {
	case lr.err != nil && rerr != nil && errors.Is(lr.err, context.Canceled):
		return Result{}, rerr
	case lr.err != nil:
		return Result{}, lr.err
	case rerr != nil:
		return Result{}, rerr
	}
	if kind == "thr" {
		return lr.r, nil
	}
	return rr, nil
}

var usedPorts sync.Map // int -> true: tcp ports freeURL has handed out

// freeURL returns a fresh address of transport and what removes it. A tcp
// port is picked below the system's ephemeral range, so that no port-0
// listener or outgoing connection can take it between the check and the
// bind, and never twice in a process.
func freeURL(transport string) (string, func(), error) {
	switch transport {
	case "ipc", "shm":
		dir, err := os.MkdirTemp("", "pp")
		if err != nil {
			return "", nil, err
		}
		return transport + "://" + filepath.Join(dir, "p."+transport), func() { os.RemoveAll(dir) }, nil
	case "tls+tcp":
		url, done, err := freeURL("tcp")
		return "tls+" + url, done, err
	case curveTransport:
		return freeURL("tcp")
	case "tcp":
		lo := ephemeralLow()
		for range 1000 {
			// The lower half of the 10,000 ports under the ephemeral range;
			// compat/interop's tests, which may run beside these, take the
			// upper half.
			port := lo - 10000 + rand.IntN(5000)
			if _, taken := usedPorts.LoadOrStore(port, true); taken {
				continue
			}
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			l, err := net.Listen("tcp", addr)
			if err != nil {
				continue
			}
			l.Close()
			return "tcp://" + addr, func() {}, nil
		}
		return "", nil, errors.New("perfpeer: no free tcp port")
	}
	return "", nil, fmt.Errorf("perfpeer: unknown transport %q", transport)
}

// ephemeralLow returns the lowest port the system hands out for port 0 (on
// Linux, from /proc; elsewhere the IANA range's start).
func ephemeralLow() int {
	lo := 49152
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if n, _ := fmt.Sscan(string(b), &lo); n < 1 {
			lo = 49152
		}
	}
	return max(lo, 11024)
}
