package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
)

// versionText is what --version prints: the nngcat release mqcat follows.
const versionText = "1.5.2 (mqcat, mqwire)"

// drainWait is how long nngcat waits after its last send before it exits,
// to let queued messages leave.
const drainWait = 200 * time.Millisecond

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is mqcat with its arguments and standard streams; it returns the exit
// status: 0 when done, 1 on any error (after a message on stderr), and 1
// after --help, as nngcat does. When ctx ends, the socket is closed, which
// ends a run still waiting (with an error).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stdin)
	switch {
	case errors.Is(err, errHelp):
		io.WriteString(stdout, usage)
		return 1
	case errors.Is(err, errVersion):
		fmt.Fprintln(stdout, versionText)
		return 0
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 1
	}
	c := &cat{cfg: cfg, out: stdout}
	if err := c.run(ctx); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// cat runs one configured socket.
type cat struct {
	cfg *config
	out io.Writer
	s   *socket.Socket
	buf []byte
}

func (c *cat) run(ctx context.Context) error {
	s, err := openSocket(c.cfg)
	if err != nil {
		return fail("Unable to open socket: %s", errText(err, false))
	}
	c.s = s
	defer context.AfterFunc(ctx, func() { s.Close() })()
	err = c.serve()
	if err != nil {
		// nngcat exits at once on an error; drop whatever is queued.
		s.SetOption(socket.Linger(0))
	}
	s.Close()
	return err
}

func (c *cat) serve() error {
	for _, a := range c.cfg.addrs {
		if err := c.start(a); err != nil {
			return err
		}
	}
	if handled, err := c.serveZeroMQ(); handled {
		return err
	}
	switch c.cfg.proto {
	case optSub0, optPull0:
		return c.recvLoop()
	case optRep0, optRespondent0:
		if c.cfg.data == nil {
			return c.recvLoop()
		}
		return c.replyLoop()
	case optPush0, optPub0:
		return c.sendLoop()
	case optBus0, optPair0, optPair1: // with --data: serveZeroMQ's twoWayLoop
		return c.recvLoop()
	case optReq0, optSurveyor0:
		return c.exchangeLoop()
	}
	return fail("Protocol handling unimplemented.")
}

// openSocket makes the socket the command line asks for.
func openSocket(cfg *config) (*socket.Socket, error) {
	// nng's default is no receive limit; --recv-maxsz sets one.
	opts := []socket.Option{socket.MaxRecvSize(max(cfg.recvMaxSize, 0))}
	opts = append(opts, zmtpOptions(cfg)...)
	opts = append(opts, tlsOptions(cfg)...)
	switch cfg.proto {
	case optReq0:
		return req.New(opts...)
	case optRep0:
		return rep.New(opts...)
	case optPub0:
		return pub.New(opts...)
	case optSub0:
		for _, t := range cfg.topics {
			opts = append(opts, sub.Subscribe([]byte(t)))
		}
		return sub.New(opts...)
	case optPush0:
		return push.New(opts...)
	case optPull0:
		return pull.New(opts...)
	case optSurveyor0:
		return surveyor.New(opts...)
	case optRespondent0:
		return respondent.New(opts...)
	case optPair0:
		return pair.New(opts...)
	case optPair1:
		return pair1.New(opts...)
	case optBus0:
		return bus.New(opts...)
	}
	return openZeroMQ(cfg, opts)
}

// start dials or listens on one address. Like nngcat (without --async or
// --compat), a dial waits for the first connection attempt and fails the
// command if it fails.
func (c *cat) start(a address) error {
	kind := "dialer"
	if a.listen {
		kind = "listener"
	}
	url, bad := checkURL(a)
	if bad != "" {
		return fail("Unable to create %s for %s: %s", kind, a.url, bad)
	}
	verbose := c.cfg.verbose == optVerbose
	if a.listen {
		l, err := c.s.Listen(url)
		if errors.Is(err, socket.ErrBadURL) { // as nng's listener creation refuses it
			return fail("Unable to create %s for %s: %s", kind, a.url, errText(err, false))
		}
		if err != nil {
			return fail("Unable to listen on %s: %s", a.url, errText(err, false))
		}
		if verbose {
			fmt.Fprintf(c.out, "Listening at: %s\n", boundURL(a.url, l.URL()))
		}
		return nil
	}
	if c.cfg.async {
		if _, err := c.s.Dial(url); err != nil {
			return fail("Unable to create %s for %s: %s", kind, a.url, errText(err, true))
		}
	} else {
		ev := c.s.Events(16)
		d, err := c.s.Dial(url)
		if errors.Is(err, socket.ErrBadURL) {
			// An address nng's URL parser takes but its dial refuses (a
			// port above 65535, or not a number): nngcat fails the dial.
			return fail("Unable to dial on %s: %s", a.url, errText(err, true))
		}
		if err != nil {
			return fail("Unable to create %s for %s: %s", kind, a.url, errText(err, true))
		}
		if err := firstConnect(ev, url); err != nil {
			d.Close()
			return fail("Unable to dial on %s: %s", a.url, errText(err, true))
		}
	}
	if verbose {
		fmt.Fprintf(c.out, "Connected to: %s\n", a.url)
	}
	return nil
}

// firstConnect waits for the outcome of the first connection attempt to url.
// A peer of the wrong protocol, or one already paired, still counts as
// connected: nng only notices when the pipe starts, after the dial.
func firstConnect(ev <-chan socket.Event, url string) error {
	for e := range ev {
		if e.URL != url {
			continue
		}
		switch e.Type {
		case socket.EventConnected, socket.EventPipeRejected:
			return nil
		case socket.EventDialFailed:
			return e.Err
		case socket.EventHandshakeFailed:
			if errors.Is(e.Err, socket.ErrPeerMismatch) {
				return nil
			}
			return e.Err
		}
	}
	return socket.ErrClosed
}

// checkURL checks an address as nng does when it creates a dialer or a
// listener, and returns the URL to give mqwire, or nng's words for what is
// wrong with it.
func checkURL(a address) (url, bad string) {
	scheme, rest, ok := strings.Cut(a.url, "://")
	if !ok {
		return "", "Invalid argument"
	}
	switch scheme {
	case "tcp", "tcp4", "tcp6", "tls+tcp", "tls+tcp4", "tls+tcp6":
		host, port, err := net.SplitHostPort(rest)
		if err != nil && a.listen {
			// nng listens on a port of the system's choosing when the
			// URL names none.
			host, port, err = net.SplitHostPort(rest + ":0")
			rest += ":0"
		}
		if err != nil {
			return "", "Address invalid"
		}
		if port == "" {
			return "", "Invalid argument"
		}
		if !a.listen {
			if host == "" || host == "*" {
				return "", "Address invalid"
			}
			return a.url, ""
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return "", "Address invalid"
		}
		if host != "" && host != "*" && net.ParseIP(host) == nil {
			if _, err := net.LookupHost(host); err != nil {
				return "", "Address invalid"
			}
		}
		return scheme + "://" + rest, ""
	case "ipc", "abstract", "inproc", "shm", "ws", "ws4", "ws6", "wss", "wss4", "wss6":
		if rest == "" {
			return "", "Address invalid"
		}
		return a.url, ""
	}
	return "", "Not supported"
}

// boundURL is the URL a listener reports: the one given, with the port the
// system chose when it asked for port 0.
func boundURL(given, bound string) string {
	scheme, rest, _ := strings.Cut(given, "://")
	if !strings.HasPrefix(scheme, "tcp") {
		return given
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		host, port = rest, ""
	}
	if port != "" && port != "0" {
		return given
	}
	_, brest, _ := strings.Cut(bound, "://")
	_, bport, err := net.SplitHostPort(brest)
	if err != nil {
		return given
	}
	return scheme + "://" + net.JoinHostPort(host, bport)
}

// print writes a received message in the chosen format, in one write, so
// that each message reaches standard output as it arrives.
func (c *cat) print(m *socket.Message) {
	c.buf = appendFrames(c.buf[:0], m, c.cfg.format)
	m.Free()
	if len(c.buf) > 0 {
		c.out.Write(c.buf)
	}
}

// recvCtx bounds a receive by d; a negative d means no bound. A bound of
// zero still gives a message that is already there a moment to be taken.
func recvCtx(d time.Duration) (context.Context, context.CancelFunc) {
	if d < 0 {
		return context.Background(), func() {}
	}
	return context.WithTimeout(context.Background(), max(d, time.Millisecond))
}

// socketRecvTimeout is the receive timeout nngcat sets on its socket: only
// a positive --recv-timeout sets one.
func (c *cat) socketRecvTimeout() time.Duration {
	if c.cfg.recvTimeout > 0 {
		return c.cfg.recvTimeout
	}
	return -1
}

func (c *cat) recv(d time.Duration) (*socket.Message, error) {
	ctx, cancel := recvCtx(d)
	defer cancel()
	return c.s.RecvContext(ctx)
}

// send sends the --data message, bounded by a positive --send-timeout.
func (c *cat) send() error {
	ctx := context.Background()
	if c.cfg.sendTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.sendTimeout)
		defer cancel()
	}
	m := socket.NewMessageBytes(c.cfg.data)
	if err := c.s.SendContext(ctx, m); err != nil {
		m.Free()
		return fail("Send error: %s", errText(err, false))
	}
	return nil
}

// endOfReplies reports whether a receive error only means that no more
// messages will come now: a timeout, the end of a survey, or a req socket
// with no request outstanding.
func endOfReplies(err error) bool {
	return errors.Is(err, socket.ErrTimeout) || errors.Is(err, socket.ErrBadState)
}

// recvLoop prints what arrives until --count messages, a receive timeout or
// the end of a survey.
func (c *cat) recvLoop() error {
	for n := 0; c.cfg.count == 0 || n < c.cfg.count; n++ {
		m, err := c.recv(c.socketRecvTimeout())
		if endOfReplies(err) {
			return nil
		}
		if err != nil {
			return fail("Receive error: %s", errText(err, false))
		}
		c.print(m)
	}
	return nil
}

// replyLoop answers every request (or survey) with the --data message and
// prints the requests. A receive timeout is an error here, as in nngcat.
func (c *cat) replyLoop() error {
	for n := 0; ; {
		m, err := c.recv(c.socketRecvTimeout())
		if err != nil {
			return fail("Receive error: %s", errText(err, false))
		}
		c.print(m)
		if err := c.send(); err != nil {
			return err
		}
		n++
		if c.cfg.count > 0 && n >= c.cfg.count {
			break
		}
	}
	time.Sleep(drainWait)
	return nil
}

// sleepRest waits out what is left of the interval that began at start.
func (c *cat) sleepRest(start time.Time) {
	if c.cfg.interval < 0 {
		return
	}
	if d := time.Since(start); d >= 0 && d < c.cfg.interval {
		time.Sleep(c.cfg.interval - d)
	}
}

// sendLoop sends the --data message once, or --count times, or every
// --interval, for push and pub.
func (c *cat) sendLoop() error {
	if c.cfg.delay > 0 {
		time.Sleep(c.cfg.delay)
	}
	for n := 0; ; {
		start := time.Now()
		if err := c.send(); err != nil {
			return err
		}
		n++
		if (c.cfg.interval < 0 && c.cfg.count == 0) || (c.cfg.count > 0 && n >= c.cfg.count) {
			break
		}
		c.sleepRest(start)
	}
	time.Sleep(drainWait)
	return nil
}

// exchangeLoop sends the --data message and prints the replies, for req
// and surveyor. With neither --interval nor --count it sends once and
// receives until the replies end (req: the reply came; surveyor: the
// survey time is over). Otherwise each round receives until the next send
// is due, bounded by --recv-timeout.
func (c *cat) exchangeLoop() error {
	if c.cfg.delay > 0 {
		time.Sleep(c.cfg.delay)
	}
	for n := 0; ; {
		start := time.Now()
		if err := c.send(); err != nil {
			return err
		}
		if c.cfg.interval < 0 && c.cfg.count == 0 {
			return c.recvLoop()
		}
		for {
			wait := time.Duration(-1) // no interval: no bound but the timeout
			if c.cfg.interval >= 0 {
				wait = max(c.cfg.interval-time.Since(start), 0)
			}
			if rt := c.cfg.recvTimeout; rt >= 0 && (wait < 0 || wait > rt) {
				wait = rt
			}
			m, err := c.recv(wait)
			if endOfReplies(err) {
				break
			}
			if err != nil {
				return fail("Cannot receive: %s", errText(err, false))
			}
			c.print(m)
		}
		n++
		if c.cfg.count > 0 && n >= c.cfg.count {
			return nil
		}
		c.sleepRest(start)
	}
}
