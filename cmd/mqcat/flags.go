package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// optID names one command-line option.
type optID int

const (
	optHelp optID = iota + 1
	optVerbose
	optSilent
	optReq0
	optRep0
	optPush0
	optPull0
	optPub0
	optSub0
	optSurveyor0
	optRespondent0
	optPair
	optPair0
	optPair1
	optBus0
	optDial
	optListen
	optData
	optFile
	optSubscribe
	optFormat
	optASCII
	optQuoted
	optRaw
	optHex
	optMsgpack
	optCompat
	optAsync
	optRecvMaxSize
	optCount
	optDelay
	optInterval
	optRecvTimeout
	optSendTimeout
	optSocketName
	optListenIPC
	optDialIPC
	optListenLocal
	optDialLocal
	optInsecure
	optCACert
	optKey
	optCert
	optZTHome
	optVersion

	// mqcat's own options, for ZeroMQ peers (zmtp.go).
	optZMTP
	optDealer
	optRouter
	optXPub
	optXSub
	optPlainUser
	optPlainPassword
	optCurveServer
	optCurveServerKey
	optCurveSecretKey
)

// optSpec is one entry of the option table. Long names may be abbreviated
// to any prefix that names one option only; an exact name always wins.
type optSpec struct {
	name  string
	short byte
	id    optID
	arg   bool
	// ext marks an option nngcat does not have: a prefix names it only
	// when it names no nngcat option, so that nngcat's abbreviations keep
	// their meaning (--de is still --delay, --z still --zt-home).
	ext bool
}

// options is the set nngcat 1.5.2 accepts, so that abbreviations are
// ambiguous exactly where they are for nngcat (--re, --s, --ver, ...).
// Aliases such as --req or --bus work as unique prefixes of --req0 and
// --bus0; --sub needs its own entry because it is also a prefix of
// --subscribe.
var options = []optSpec{
	{name: "help", short: 'h', id: optHelp},
	{name: "verbose", short: 'v', id: optVerbose},
	{name: "silent", short: 'q', id: optSilent},
	{name: "req0", id: optReq0},
	{name: "rep0", id: optRep0},
	{name: "push0", id: optPush0},
	{name: "pull0", id: optPull0},
	{name: "pub0", id: optPub0},
	{name: "sub", id: optSub0},
	{name: "sub0", id: optSub0},
	{name: "surveyor0", id: optSurveyor0},
	{name: "respondent0", id: optRespondent0},
	{name: "pair", id: optPair},
	{name: "pair0", id: optPair0},
	{name: "pair1", id: optPair1},
	{name: "bus0", id: optBus0},
	{name: "dial", id: optDial, arg: true},
	{name: "listen", id: optListen, arg: true},
	{name: "data", short: 'D', id: optData, arg: true},
	{name: "file", short: 'F', id: optFile, arg: true},
	{name: "subscribe", id: optSubscribe, arg: true},
	{name: "format", id: optFormat, arg: true},
	{name: "ascii", short: 'A', id: optASCII},
	{name: "quoted", short: 'Q', id: optQuoted},
	{name: "raw", id: optRaw},
	{name: "hex", id: optHex},
	{name: "compat", id: optCompat},
	{name: "async", id: optAsync},
	{name: "msgpack", id: optMsgpack},
	{name: "recv-maxsz", short: 'Z', id: optRecvMaxSize, arg: true},
	{name: "count", short: 'C', id: optCount, arg: true},
	{name: "delay", short: 'd', id: optDelay, arg: true},
	{name: "interval", short: 'i', id: optInterval, arg: true},
	{name: "recv-timeout", id: optRecvTimeout, arg: true},
	{name: "send-timeout", id: optSendTimeout, arg: true},
	{name: "socket-name", id: optSocketName, arg: true},
	{name: "bind", id: optListen, arg: true},
	{name: "connect", id: optDial, arg: true},
	{name: "bind-ipc", short: 'X', id: optListenIPC, arg: true},
	{name: "connect-ipc", short: 'x', id: optDialIPC, arg: true},
	{name: "bind-local", short: 'L', id: optListenLocal, arg: true},
	{name: "connect-local", short: 'l', id: optDialLocal, arg: true},
	{name: "insecure", short: 'k', id: optInsecure},
	{name: "cacert", id: optCACert, arg: true},
	{name: "key", id: optKey, arg: true},
	{name: "cert", short: 'E', id: optCert, arg: true},
	{name: "zt-home", id: optZTHome, arg: true},
	{name: "version", short: 'V', id: optVersion},
	{name: "zmtp", id: optZMTP, ext: true},
	{name: "dealer", id: optDealer, ext: true},
	{name: "router", id: optRouter, ext: true},
	{name: "xpub", id: optXPub, ext: true},
	{name: "xsub", id: optXSub, ext: true},
	{name: "plain-user", id: optPlainUser, arg: true, ext: true},
	{name: "plain-password", id: optPlainPassword, arg: true, ext: true},
	{name: "curve-server", id: optCurveServer, arg: true, ext: true},
	{name: "curve-serverkey", id: optCurveServerKey, arg: true, ext: true},
	{name: "curve-secretkey", id: optCurveSecretKey, arg: true, ext: true},
}

// address is one --dial or --listen.
type address struct {
	listen bool
	url    string
}

// config is what the command line asks for.
type config struct {
	proto   optID // optReq0 ... optBus0; 0 until chosen
	addrs   []address
	format  format
	topics  []string // sub only; nil means "everything"
	verbose optID    // 0, optVerbose or optSilent (the last one given)
	count   int      // 0: no limit

	// Durations set on the command line; a negative value means unset.
	delay       time.Duration
	interval    time.Duration
	sendTimeout time.Duration
	recvTimeout time.Duration

	recvMaxSize int64  // -1: unset
	data        []byte // nil: none (an empty --data is a non-nil empty slice)
	compat      bool
	async       bool

	// TLS and ZeroTier settings are accepted as nngcat accepts them; they
	// apply only to transports mqwire does not have.
	insecure           bool
	cacert, cert, key  []byte
	tls                *tls.Config // from the four above (tls.go)
	ztHome, socketName string

	zmtp zmtpConfig // --zmtp and PLAIN (zmtp.go)
}

// usageError is a command-line mistake; the message is printed as is.
type usageError string

func (e usageError) Error() string { return string(e) }

func fail(format string, args ...any) error { return usageError(fmt.Sprintf(format, args...)) }

// errHelp and errVersion stop parsing: print the usage or the version.
var (
	errHelp    = errors.New("help")
	errVersion = errors.New("version")
)

// parseOne reads the option at args[i] and returns its id, its value and
// the index of the next argument. done is true when options have ended: at
// the first argument that does not start with '-', or after a lone "-".
// Like nngcat, arguments after that point are ignored.
func parseOne(args []string, i int) (id optID, val string, next int, done bool, err error) {
	a := args[i]
	if a == "" || a[0] != '-' {
		return 0, "", i, true, nil
	}
	if a == "-" {
		return 0, "", i + 1, true, nil
	}
	var spec *optSpec
	var rest string // what follows the option's name in the same argument
	if strings.HasPrefix(a, "--") {
		name := a[2:]
		if k := strings.IndexAny(name, "=:"); k >= 0 {
			name, rest = name[:k], name[k:]
		}
		var matches int
		spec, matches = matchLong(name, false)
		if matches == 0 {
			spec, matches = matchLong(name, true)
		}
		switch {
		case matches == 0:
			return 0, "", i, false, fail("Option %s is invalid.", a)
		case matches > 1:
			return 0, "", i, false, fail("Option %s is ambiguous (specify in full).", a)
		}
		if rest != "" {
			rest = rest[1:] // drop the '=' or ':'
			if !spec.arg {
				return 0, "", i, false, fail("Option %s is invalid.", a)
			}
			return spec.id, rest, i + 1, false, nil
		}
	} else {
		for k := range options {
			if options[k].short == a[1] {
				spec = &options[k]
				break
			}
		}
		if spec == nil {
			return 0, "", i, false, fail("Option %s is invalid.", a)
		}
		if len(a) > 2 {
			// No clustering: "-vq" is an error, "-L5555" a value.
			if !spec.arg {
				return 0, "", i, false, fail("Option %s is invalid.", a)
			}
			return spec.id, a[2:], i + 1, false, nil
		}
	}
	if !spec.arg {
		return spec.id, "", i + 1, false, nil
	}
	if i+1 >= len(args) {
		return 0, "", i, false, fail("Option %s requires argument.", a)
	}
	return spec.id, args[i+1], i + 2, false, nil
}

// matchLong finds the long options name abbreviates among nngcat's own
// (ext false) or mqcat's additions (ext true). An exact name always wins,
// from either set.
func matchLong(name string, ext bool) (spec *optSpec, matches int) {
	for k := range options {
		if options[k].name == name {
			return &options[k], 1
		}
	}
	for k := range options {
		o := &options[k]
		if o.ext == ext && strings.HasPrefix(o.name, name) {
			spec = o
			matches++
		}
	}
	return spec, matches
}

// intArg parses a decimal integer no larger than maxv, with nngcat's checks
// and messages.
func intArg(s string, maxv int) (int, error) {
	if s == "" {
		return 0, fail("Empty integer argument.")
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fail("Integer argument expected.")
		}
		v = v*10 + int(s[i]-'0')
		if v > maxv {
			return 0, fail("Integer argument too large.")
		}
	}
	return v, nil
}

// maxSeconds is the largest time option nngcat takes: one day.
const maxSeconds = 86400

// secondsArg parses a time option. nngcat takes whole seconds only; mqcat
// also takes a decimal fraction ("0.25"), kept to the millisecond.
func secondsArg(s string) (time.Duration, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if !hasFrac {
		n, err := intArg(s, maxSeconds)
		return time.Duration(n) * time.Second, err
	}
	if whole == "" && frac == "" {
		return 0, fail("Integer argument expected.")
	}
	n := 0
	if whole != "" {
		var err error
		if n, err = intArg(whole, maxSeconds); err != nil {
			return 0, err
		}
	}
	ms := 0
	for i := 0; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return 0, fail("Integer argument expected.")
		}
		if i < 3 {
			ms = ms*10 + int(frac[i]-'0')
		}
	}
	for i := len(frac); i < 3; i++ {
		ms *= 10
	}
	d := time.Duration(n)*time.Second + time.Duration(ms)*time.Millisecond
	if d > maxSeconds*time.Second {
		return 0, fail("Integer argument too large.")
	}
	return d, nil
}

// loadFile reads path ("-" for stdin) whole, as nngcat's --file does.
func loadFile(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fail("Cannot open file %s: %s", path, errnoText(err))
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fail("Read from %s failed: %s", path, errnoText(err))
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// parseArgs reads the command line (without the program name) into a config
// and checks it as nngcat does, with the same messages. It returns errHelp
// or errVersion when those options come first.
func parseArgs(args []string, stdin io.Reader) (*config, error) {
	c := &config{
		delay:       -1,
		interval:    -1,
		sendTimeout: -1,
		recvTimeout: -1,
		recvMaxSize: -1,
	}
	for i := 0; i < len(args); {
		id, val, next, done, err := parseOne(args, i)
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
		i = next
		if err := c.apply(id, val, stdin); err != nil {
			return nil, err
		}
	}
	return c, c.check()
}

// apply records one option.
func (c *config) apply(id optID, val string, stdin io.Reader) error {
	var err error
	switch id {
	case optHelp:
		return errHelp
	case optVersion:
		return errVersion
	case optReq0, optRep0, optPub0, optSub0, optPush0, optPull0, optSurveyor0,
		optRespondent0, optPair, optPair0, optPair1, optBus0,
		optDealer, optRouter, optXPub, optXSub:
		if c.proto != 0 {
			return fail("Only one protocol may be specified.")
		}
		c.proto = id
	case optDial, optListen:
		c.addrs = append(c.addrs, address{listen: id == optListen, url: val})
	case optDialLocal, optListenLocal:
		port, err := intArg(val, 65536)
		if err != nil {
			return err
		}
		c.addrs = append(c.addrs, address{listen: id == optListenLocal, url: "tcp://127.0.0.1:" + strconv.Itoa(port)})
	case optDialIPC, optListenIPC:
		c.addrs = append(c.addrs, address{listen: id == optListenIPC, url: "ipc:///" + val})
	case optCount:
		c.count, err = intArg(val, 0x7fffffff)
	case optSubscribe:
		c.topics = append(c.topics, val)
	case optVerbose, optSilent:
		c.verbose = id
	case optDelay:
		c.delay, err = secondsArg(val)
	case optInterval:
		c.interval, err = secondsArg(val)
	case optSendTimeout:
		c.sendTimeout, err = secondsArg(val)
	case optRecvTimeout:
		c.recvTimeout, err = secondsArg(val)
	case optRecvMaxSize:
		var n int
		if n, err = intArg(val, 0x7fffffff); err == nil {
			if n == 0 {
				n = 0x7fffffff // nngcat's "no limit"
			}
			c.recvMaxSize = int64(n)
		}
	case optCompat:
		c.compat = true
	case optAsync:
		c.async = true
	case optASCII, optRaw, optQuoted, optMsgpack, optHex, optFormat:
		if c.format != formatUnset {
			return fail("Format may be specified only once.")
		}
		switch id {
		case optASCII:
			c.format = formatASCII
		case optRaw:
			c.format = formatRaw
		case optQuoted:
			c.format = formatQuoted
		case optMsgpack:
			c.format = formatMsgpack
		case optHex:
			c.format = formatHex
		default:
			f, ok := formatNames[val]
			if !ok {
				return fail("Invalid format specified.")
			}
			c.format = f
		}
	case optData, optFile:
		if c.data != nil {
			return fail("Data (--file, --data) may be specified only once.")
		}
		if id == optData {
			c.data = []byte(val)
		} else {
			c.data, err = loadFile(val, stdin)
		}
	case optCACert:
		if c.cacert != nil {
			return fail("CA Certificate (--cacert) may be specified only once.")
		}
		c.cacert, err = loadFile(val, stdin)
	case optKey:
		if c.key != nil {
			return fail("Key (--key) may be specified only once.")
		}
		c.key, err = loadFile(val, stdin)
	case optCert:
		if c.cert != nil {
			return fail("Cert (--cert) may be specified only once.")
		}
		c.cert, err = loadFile(val, stdin)
	case optZTHome:
		c.ztHome = val
	case optSocketName:
		c.socketName = val
	case optInsecure:
		c.insecure = true
	case optZMTP, optPlainUser, optPlainPassword, optCurveServer, optCurveServerKey, optCurveSecretKey:
		c.applyZMTP(id, val)
	}
	return err
}

// check applies nngcat's rules on combinations, in nngcat's order, so that
// a command line with several mistakes gets the same message.
func (c *config) check() error {
	if len(c.addrs) == 0 {
		return fail("No address specified.")
	}
	if c.compat {
		if c.async {
			return fail("Options --async and --compat are incompatible.")
		}
		if c.count != 0 {
			return fail("Options --count and --compat are incompatible.")
		}
		if c.proto == optPair {
			c.proto = optPair0
		}
		if c.proto == optPair1 {
			return fail("Protocol does not support --compat.")
		}
		c.async = true
	} else if c.proto == optPair {
		c.proto = optPair1
	}
	if c.proto == optSub0 || c.proto == optXSub {
		if c.topics == nil {
			c.topics = []string{""}
		}
	} else if c.topics != nil {
		return fail("Protocol does not support --subscribe.")
	}
	switch c.proto {
	case optPull0, optSub0:
		if c.data != nil {
			return fail("Protocol does not support --file or --data.")
		}
		if c.interval >= 0 {
			return fail("Protocol does not support --interval.")
		}
	case optPush0, optPub0:
		if c.format != formatUnset {
			return fail("Protocol does not support --format options.")
		}
		if c.data == nil {
			return fail("Protocol requires either --file or --data.")
		}
	case optSurveyor0, optReq0:
		if c.data == nil {
			return fail("Protocol requires either --file or --data.")
		}
	case optRep0, optRespondent0:
		if c.interval >= 0 {
			return fail("Protocol does not support --interval.")
		}
	case optPair0, optPair1, optBus0:
		if c.interval >= 0 && c.data == nil {
			return fail("Option --interval requires either --file or --data.")
		}
	case 0:
		return fail("No protocol specified.")
	}
	var err error
	if c.tls, err = c.tlsConfig(); err != nil {
		return err
	}
	return c.checkZMTP()
}

// usage is printed by --help.
const usage = `Usage: mqcat <proto> <addr>... [<fmt>] [<opts>...] [<src>]

mqcat sends and receives Scalability Protocols messages from the command
line. It takes nngcat's options, with the same meaning.

<proto> is one of:
  --req0, --req                  --rep0, --rep
  --pub0, --pub                  --sub0, --sub
  --push0, --push                --pull0, --pull
  --surveyor0, --surveyor        --respondent0, --respondent
  --pair0                        --pair1
  --pair (pair1; pair0 with --compat)
  --bus0, --bus

<addr> is one or more of:
  --dial URL, --connect URL      connect to URL
  --listen URL, --bind URL       accept connections at URL
  --connect-local PORT, -l PORT  --dial tcp://127.0.0.1:PORT
  --bind-local PORT, -L PORT     --listen tcp://127.0.0.1:PORT
  --connect-ipc PATH, -x PATH    --dial ipc:///PATH
  --bind-ipc PATH, -X PATH       --listen ipc:///PATH

<fmt>, how received messages are printed (default: not at all), one of:
  --format no|ascii|hex|msgpack|quoted|raw
  --ascii, -A    --quoted, -Q    --hex    --msgpack    --raw

<opts>:
  --subscribe TOPIC              sub only; may be repeated (default: all)
  --silent, -q   --verbose, -v
  --count N, -C N                stop after N messages or exchanges
  --delay SEC, -d SEC            wait before the first send
  --interval SEC, -i SEC         send again every SEC seconds
  --recv-timeout SEC             give up receiving after SEC seconds
  --send-timeout SEC             give up sending after SEC seconds
  --recv-maxsz N, -Z N           largest message accepted (0: no limit)
  --compat                       behave like nanocat (background dial)
  --async                        dial in the background
  --insecure, -k  --cacert FILE  --cert FILE, -E FILE  --key FILE
  --zt-home PATH                 (accepted and unused: mqwire has no ZeroTier)

<src>, the message to send, one of:
  --data DATA, -D DATA
  --file FILE, -F FILE           "-" reads standard input

ZeroMQ (mqcat only):
  --zmtp                         dial in ZMTP (req, rep, pub, sub, push, pull,
                                 pair0 become the ZeroMQ types)
  --dealer  --router  --xpub  --xsub
                                 the ZeroMQ-only types (always ZMTP)
  --plain-user U                 PLAIN: client credentials when dialing, the
  --plain-password P             one user a listener accepts when listening
A multipart message prints its frames on one line, separated by spaces.

SEC may have a decimal fraction (0.5) in mqcat; nngcat takes whole seconds.
`
