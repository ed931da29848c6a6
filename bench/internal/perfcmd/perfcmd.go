// Package perfcmd is the command line shared by the Go perf ends (mqperf,
// zmq4perf, mangosperf): libzmq's argument order, roles and output lines, so
// that every end reports figures in the same form (see bench/perfpeer for the
// contract all ends follow, the C ones included).
//
// An end supplies the four socket loops; perfcmd parses the arguments, runs
// both ends as goroutines for the inproc roles, and prints the results.
package perfcmd

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"time"
)

// Ends holds one library's four loops. Each opens its own socket, closes it
// before returning and returns any error. pattern is the -pattern value,
// already checked: "push", "pair" or "pub" for the throughput loops,
// "reqrep" or "pair" for the latency ones. ready, when not nil, must be
// called once the socket listens (the inproc roles start the other end then).
type Ends struct {
	// Name is the command's name, for usage and error messages.
	Name string
	// Transports, when not empty, lists the URL schemes the end accepts.
	Transports []string
	// LocalThr binds a receiver at url, receives count messages of size
	// bytes and returns how many it got (count, but for a pub run that
	// PubIdle ended) and the time from the first message's arrival to the
	// last's.
	LocalThr func(url, pattern string, size, count int, ready func()) (n int, d time.Duration, err error)
	// RemoteThr connects a sender to url (retrying until the receiver is
	// there) and sends count messages of size bytes, returning once all
	// are handed over.
	RemoteThr func(url, pattern string, size, count int) error
	// LocalLat binds at url and echoes count messages of size bytes.
	LocalLat func(url, pattern string, size, count int, ready func()) error
	// RemoteLat connects to url, makes count round trips of size bytes and
	// returns the time they took.
	RemoteLat func(url, pattern string, size, count int) (time.Duration, error)
}

// pattern, cpuProfile and execTrace hold the shared flags once
// RegisterFlags has run.
var pattern, cpuProfile, execTrace *string

// showCPU holds the -cpu flag once RegisterFlags has run.
var showCPU *bool

// RegisterFlags registers the flags every end shares (-pattern,
// -cpuprofile, -trace, -cpu).
func RegisterFlags() {
	if pattern == nil {
		pattern = flag.String("pattern", "", "pattern: push (default), pair or pub for the throughput roles; reqrep (default) or pair for the latency roles")
		cpuProfile = flag.String("cpuprofile", "", "write a CPU profile of the run to this file (for go tool pprof)")
		execTrace = flag.String("trace", "", "write an execution trace of the run to this file (for go tool trace)")
		showCPU = flag.Bool("cpu", false, "print the process's CPU time (user and system) to stderr at the end")
	}
}

// Main runs the command for e with os.Args and exits: status 0 on success,
// 1 on an error (written to stderr), 2 on bad usage.
func Main(e Ends) {
	RegisterFlags()
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [flags] local_thr|remote_thr|local_lat|remote_lat <url> <size> <count>\n"+
			"       %s [flags] inproc_thr|inproc_lat <size> <count>\n", e.Name, e.Name)
		flag.PrintDefaults()
	}
	flag.Parse()
	stop, err := startProfile(*cpuProfile, *execTrace)
	if err == nil {
		err = Run(e, *pattern, flag.Args(), os.Stdout)
		stop()
	}
	if *showCPU {
		if user, sys, ok := cpuTimes(); ok {
			fmt.Fprintf(os.Stderr, "cpu: user %.3f sys %.3f [s]\n", user.Seconds(), sys.Seconds())
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", e.Name, err)
		if _, ok := err.(usageError); ok {
			flag.Usage()
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// startProfile starts a CPU profile into cpuFile and an execution trace
// into traceFile (each only when named) and returns the function that ends
// them.
func startProfile(cpuFile, traceFile string) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, f := range stops {
			f()
		}
	}
	start := func(file string, begin func(io.Writer) error, end func()) error {
		if file == "" {
			return nil
		}
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		if err := begin(f); err != nil {
			f.Close()
			return err
		}
		stops = append(stops, func() { end(); f.Close() })
		return nil
	}
	if err := start(cpuFile, pprof.StartCPUProfile, pprof.StopCPUProfile); err != nil {
		return nil, err
	}
	if err := start(traceFile, trace.Start, trace.Stop); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

type usageError string

func (e usageError) Error() string { return string(e) }

// Run runs one role given by args (role, then url unless inproc, size and
// count) with the pattern pat ("" for the role's default), printing libzmq's
// output lines to out.
func Run(e Ends, pat string, args []string, out io.Writer) error {
	if len(args) < 1 {
		return usageError("no role")
	}
	role, rest := args[0], args[1:]
	var url string
	switch role {
	case "local_thr", "remote_thr", "local_lat", "remote_lat":
		if len(rest) != 3 {
			return usageError(role + " takes <url> <size> <count>")
		}
		url, rest = rest[0], rest[1:]
		if !schemeOK(e.Transports, url) {
			return fmt.Errorf("%s does not support the transport of %q (it has %v)", e.Name, url, e.Transports)
		}
	case "inproc_thr", "inproc_lat":
		if len(rest) != 2 {
			return usageError(role + " takes <size> <count>")
		}
		url = fmt.Sprintf("inproc://%s-%d", e.Name, os.Getpid())
		if !schemeOK(e.Transports, url) {
			return fmt.Errorf("%s does not support inproc (it has %v)", e.Name, e.Transports)
		}
	default:
		return usageError("unknown role " + strconv.Quote(role))
	}
	size, err1 := strconv.Atoi(rest[0])
	count, err2 := strconv.Atoi(rest[1])
	if err1 != nil || err2 != nil || size < 0 || count < 1 {
		return usageError("size must be a number >= 0 and count a number >= 1")
	}
	thr := role == "local_thr" || role == "remote_thr" || role == "inproc_thr"
	switch {
	case pat == "" && thr:
		pat = "push"
	case pat == "":
		pat = "reqrep"
	case thr && pat != "push" && pat != "pair" && pat != "pub":
		return usageError("-pattern for throughput is push, pair or pub, not " + strconv.Quote(pat))
	case !thr && pat != "reqrep" && pat != "pair":
		return usageError("-pattern for latency is reqrep or pair, not " + strconv.Quote(pat))
	}

	switch role {
	case "local_thr":
		n, d, err := e.LocalThr(url, pat, size, count, nil)
		if err != nil {
			return err
		}
		PrintThr(out, size, count, n, d)
	case "remote_thr":
		return e.RemoteThr(url, pat, size, count)
	case "local_lat":
		return e.LocalLat(url, pat, size, count, nil)
	case "remote_lat":
		d, err := e.RemoteLat(url, pat, size, count)
		if err != nil {
			return err
		}
		PrintLat(out, size, count, d)
	case "inproc_thr":
		ready := make(chan struct{})
		type res struct {
			n   int
			d   time.Duration
			err error
		}
		local := make(chan res, 1)
		go func() {
			n, d, err := e.LocalThr(url, pat, size, count, func() { close(ready) })
			local <- res{n, d, err}
		}()
		select {
		case <-ready:
		case r := <-local:
			if r.err != nil {
				return r.err
			}
			local <- r // it ended once ready (a fake end does): go on
		}
		errR := e.RemoteThr(url, pat, size, count)
		r := <-local
		if r.err != nil {
			return r.err
		}
		if errR != nil {
			return errR
		}
		PrintThr(out, size, count, r.n, r.d)
	case "inproc_lat":
		ready := make(chan struct{})
		local := make(chan error, 1)
		go func() { local <- e.LocalLat(url, pat, size, count, func() { close(ready) }) }()
		select {
		case <-ready:
		case err := <-local:
			if err != nil {
				return err
			}
			local <- nil // it ended once ready (a fake end does): go on
		}
		d, errR := e.RemoteLat(url, pat, size, count)
		if err := <-local; err != nil {
			return err
		}
		if errR != nil {
			return errR
		}
		PrintLat(out, size, count, d)
	}
	return nil
}

func schemeOK(transports []string, url string) bool {
	if len(transports) == 0 {
		return true
	}
	for _, t := range transports {
		if len(url) > len(t)+3 && url[:len(t)+3] == t+"://" {
			return true
		}
	}
	return false
}

// PrintThr prints libzmq local_thr's lines for n messages of size bytes
// received in d (first arrival to last), and a line more when n falls short
// of the count sent (a pub run that PubIdle ended).
func PrintThr(out io.Writer, size, count, n int, d time.Duration) {
	if d <= 0 {
		d = time.Microsecond
	}
	thr := float64(n) / d.Seconds()
	fmt.Fprintf(out, "message size: %d [B]\n", size)
	fmt.Fprintf(out, "message count: %d\n", n)
	fmt.Fprintf(out, "mean throughput: %d [msg/s]\n", int64(thr))
	fmt.Fprintf(out, "mean throughput: %.3f [Mb/s]\n", thr*float64(size)*8/1e6)
	if n < count {
		fmt.Fprintf(out, "messages lost: %d of %d\n", count-n, count)
	}
}

// PrintLat prints libzmq remote_lat's lines for count round trips of size
// bytes that took d: the latency is one way, d / (2 * count).
func PrintLat(out io.Writer, size, count int, d time.Duration) {
	fmt.Fprintf(out, "message size: %d [B]\n", size)
	fmt.Fprintf(out, "roundtrip count: %d\n", count)
	fmt.Fprintf(out, "average latency: %.3f [us]\n", d.Seconds()*1e6/float64(2*count))
}

// SizeError reports a message whose size is not the one asked for.
func SizeError(got, want int) error {
	return fmt.Errorf("message of %d bytes, want %d", got, want)
}

// Retry calls f until it succeeds or d has passed, waiting a little between
// tries, and returns f's last error; ends whose connect fails while the peer
// is not yet listening use it.
func Retry(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	wait := 5 * time.Millisecond
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}
