package main

import (
	"context"
	"errors"
	"time"

	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// zmtpConfig is what the command line says about ZeroMQ peers.
type zmtpConfig struct {
	dial                     bool // --zmtp: dial in ZMTP
	plain                    bool // --plain-user given
	plainPassSet             bool // --plain-password given
	plainUser, plainPassword string

	// CURVE, keys in Z85 as given: the server's secret key (--curve-server),
	// or the server's public key (--curve-serverkey) and our secret key
	// (--curve-secretkey, else a key pair made for the run).
	curveServer, curveServerKey, curveSecret string
	curve                                    *socket.Option // made by checkCurve
}

// applyZMTP records --zmtp, --plain-user and --plain-password.
func (c *config) applyZMTP(id optID, val string) {
	switch id {
	case optZMTP:
		c.zmtp.dial = true
	case optPlainUser:
		c.zmtp.plain, c.zmtp.plainUser = true, val
	case optPlainPassword:
		c.zmtp.plainPassSet, c.zmtp.plainPassword = true, val
	case optCurveServer:
		c.zmtp.curveServer = val
	case optCurveServerKey:
		c.zmtp.curveServerKey = val
	case optCurveSecretKey:
		c.zmtp.curveSecret = val
	}
}

// checkCurve checks the CURVE options.
func (c *config) checkCurve() error {
	z := c.zmtp
	if z.curveServer == "" && z.curveServerKey == "" && z.curveSecret == "" {
		return nil
	}
	if !hasZMTP(c.proto) {
		return fail("Protocol does not support CURVE.")
	}
	switch {
	case z.plain:
		return fail("Options --plain-user and --curve-* cannot be used together.")
	case z.curveServer != "" && (z.curveServerKey != "" || z.curveSecret != ""):
		return fail("Option --curve-server cannot be used with --curve-serverkey or --curve-secretkey.")
	case z.curveSecret != "" && z.curveServerKey == "":
		return fail("Option --curve-secretkey requires --curve-serverkey.")
	}
	var keys [3]zmtp.CurveKey // server secret, server public, our secret
	for i, k := range []string{z.curveServer, z.curveServerKey, z.curveSecret} {
		var err error
		if keys[i], err = zmtp.ParseCurveKey(k); k != "" && err != nil {
			return fail("Invalid CURVE key: a key is 40 characters of Z85.")
		}
	}
	var opt socket.Option
	if z.curveServer != "" {
		opt = socket.CurveServer(keys[0], nil)
	} else {
		public, secret, err := zmtp.NewCurveKeyPair()
		if z.curveSecret != "" {
			secret = keys[2]
			public, err = zmtp.CurvePublicKey(secret)
		}
		if err != nil {
			return fail("CURVE keys: %v", err)
		}
		opt = socket.CurveClient(keys[1], public, secret)
	}
	c.zmtp.curve = &opt
	return nil
}

// zeromqOnly reports whether proto exists only in ZeroMQ.
func zeromqOnly(proto optID) bool {
	switch proto {
	case optDealer, optRouter, optXPub, optXSub:
		return true
	}
	return false
}

// hasZMTP reports whether proto has a ZeroMQ counterpart.
func hasZMTP(proto optID) bool {
	switch proto {
	case optReq0, optRep0, optPub0, optSub0, optPush0, optPull0, optPair0:
		return true
	}
	return zeromqOnly(proto)
}

// checkZMTP checks the ZeroMQ types and options; it runs after nngcat's
// own checks.
func (c *config) checkZMTP() error {
	switch c.proto {
	case optXSub:
		if c.data != nil {
			return fail("Protocol does not support --file or --data.")
		}
		if c.interval >= 0 {
			return fail("Protocol does not support --interval.")
		}
	case optRouter:
		if c.interval >= 0 {
			return fail("Protocol does not support --interval.")
		}
	case optDealer, optXPub:
		if c.interval >= 0 && c.data == nil {
			return fail("Option --interval requires either --file or --data.")
		}
	}
	if c.zmtp.dial && !hasZMTP(c.proto) {
		return fail("Protocol does not support --zmtp.")
	}
	if err := c.checkCurve(); err != nil {
		return err
	}
	if c.zmtp.plainPassSet && !c.zmtp.plain {
		return fail("Option --plain-password requires --plain-user.")
	}
	if !c.zmtp.plain {
		return nil
	}
	if !hasZMTP(c.proto) {
		return fail("Protocol does not support --plain-user.")
	}
	if len(c.zmtp.plainUser) > 255 || len(c.zmtp.plainPassword) > 255 {
		return fail("PLAIN user and password may have at most 255 bytes.")
	}
	var dials, listens bool
	for _, a := range c.addrs {
		listens = listens || a.listen
		dials = dials || !a.listen
	}
	if dials && listens {
		return fail("Option --plain-user cannot be used with both --dial and --listen.")
	}
	return nil
}

// plainServer reports whether the socket is a PLAIN server: it has PLAIN
// credentials and only listeners.
func (c *config) plainServer() bool {
	if !c.zmtp.plain {
		return false
	}
	for _, a := range c.addrs {
		if !a.listen {
			return false
		}
	}
	return true
}

// zmtpOptions are the socket options --zmtp, PLAIN and CURVE ask for. A
// socket with a mechanism dials in ZMTP even without --zmtp (the socket
// sees to that).
func zmtpOptions(cfg *config) []socket.Option {
	var opts []socket.Option
	z := cfg.zmtp
	if z.dial && !zeromqOnly(cfg.proto) {
		opts = append(opts, socket.DialDialect(socket.DialectZMTP))
	}
	switch {
	case cfg.plainServer():
		user, password := z.plainUser, z.plainPassword
		opts = append(opts, socket.PlainServer(func(_ context.Context, r socket.ZAPRequest) socket.ZAPReply {
			if len(r.Credentials) == 2 && string(r.Credentials[0]) == user && string(r.Credentials[1]) == password {
				return socket.ZAPReply{StatusCode: socket.ZAPOK, StatusText: "OK", UserID: user}
			}
			return socket.ZAPReply{StatusCode: socket.ZAPDenied, StatusText: "Invalid username or password"}
		}))
	case z.plain:
		opts = append(opts, socket.PlainClient(z.plainUser, z.plainPassword))
	}
	if z.curve != nil {
		opts = append(opts, *z.curve)
	}
	return opts
}

// openZeroMQ makes a socket of a ZeroMQ-only type. An XSUB sends its
// subscriptions at once: it keeps them and sends them to every publisher
// that connects later.
func openZeroMQ(cfg *config, opts []socket.Option) (*socket.Socket, error) {
	switch cfg.proto {
	case optDealer:
		return dealer.New(opts...)
	case optRouter:
		return router.New(opts...)
	case optXPub:
		return xpub.New(opts...)
	case optXSub:
		s, err := xsub.New(opts...)
		if err != nil {
			return nil, err
		}
		for _, t := range cfg.topics {
			m := socket.NewMessage(1 + len(t))
			m.Body[0] = 1
			copy(m.Body[1:], t)
			if err := s.Send(m); err != nil {
				m.Free()
				s.Close()
				return nil, err
			}
		}
		return s, nil
	}
	return nil, socket.ErrNotSupported
}

// serveZeroMQ runs the protocols whose behaviour is mqcat's own: the
// ZeroMQ-only types, and the two-way types (pair, bus) with data. handled
// is false for the others, which run as in nngcat.
func (c *cat) serveZeroMQ() (handled bool, err error) {
	switch c.cfg.proto {
	case optXSub:
		return true, c.recvLoop()
	case optRouter:
		if c.cfg.data == nil {
			return true, c.recvLoop()
		}
		return true, c.routeLoop()
	case optDealer, optXPub:
		if c.cfg.data == nil {
			return true, c.recvLoop()
		}
		return true, c.twoWayLoop()
	case optPair0, optPair1, optBus0:
		if c.cfg.data != nil {
			return true, c.twoWayLoop()
		}
	}
	return false, nil
}

// routeLoop answers every message a ROUTER receives with its envelope
// (every frame but the last: the routing id, and the delimiter a REQ puts
// after it) followed by the --data message, and prints the messages, as
// replyLoop does for rep.
func (c *cat) routeLoop() error {
	for n := 0; ; {
		m, err := c.recv(c.socketRecvTimeout())
		if err != nil {
			return fail("Receive error: %s", errText(err, false))
		}
		r := socket.NewMessageBytes(m.Body)
		if len(m.Frames) > 0 {
			for _, f := range m.Frames[:len(m.Frames)-1] {
				r.Frames = append(r.Frames, append([]byte(nil), f...))
			}
			r.Frames = append(r.Frames, append([]byte(nil), c.cfg.data...))
		}
		c.print(m)
		if err := c.sendMessage(r); err != nil {
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

// sendMessage sends m, bounded by a positive --send-timeout.
func (c *cat) sendMessage(m *socket.Message) error {
	ctx := context.Background()
	if c.cfg.sendTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.sendTimeout)
		defer cancel()
	}
	if err := c.s.SendContext(ctx, m); err != nil {
		m.Free()
		return fail("Send error: %s", errText(err, false))
	}
	return nil
}

// twoWayLoop serves the two-way types (pair, bus, dealer, xpub): it sends
// the --data message on its schedule (once; --count times; every
// --interval, the last interval included, as nngcat's rounds) while it
// prints whatever arrives, as it arrives. Receiving ends after --count
// messages, or when --recv-timeout passes with nothing (with --interval
// and no --recv-timeout: one interval after the schedule); the command
// ends when both sending and receiving have.
func (c *cat) twoWayLoop() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recvDone := make(chan error, 1)
	go func() { recvDone <- c.recvAll(ctx) }()
	var recvErr error
	received := false
	// wait sleeps d, or less if receiving fails meanwhile. With untilRecv
	// it also ends when receiving ends.
	wait := func(d time.Duration, untilRecv bool) error {
		if d <= 0 || (received && (untilRecv || recvErr != nil)) {
			return recvErr
		}
		t := time.NewTimer(d)
		defer t.Stop()
		for {
			var done <-chan error
			if !received {
				done = recvDone
			}
			select {
			case <-t.C:
				return nil
			case recvErr = <-done:
				received = true
				if untilRecv || recvErr != nil {
					return recvErr
				}
			}
		}
	}
	stop := func(err error) error {
		cancel()
		if !received {
			<-recvDone
		}
		return err
	}
	if c.cfg.delay > 0 {
		if err := wait(c.cfg.delay, false); err != nil {
			return stop(err)
		}
	}
	for n := 0; ; {
		start := time.Now()
		if err := c.send(); err != nil {
			return stop(err)
		}
		n++
		last := (c.cfg.interval < 0 && c.cfg.count == 0) || (c.cfg.count > 0 && n >= c.cfg.count)
		if c.cfg.interval >= 0 {
			// The schedule includes the interval after the last send,
			// as nngcat's rounds do, so both last the same time.
			if err := wait(c.cfg.interval-time.Since(start), false); err != nil {
				return stop(err)
			}
		}
		if last {
			break
		}
	}
	if received {
		return recvErr
	}
	if c.cfg.interval >= 0 && c.cfg.count > 0 && c.cfg.recvTimeout <= 0 {
		// Without --recv-timeout, the rest of the --count messages get one
		// more interval: a peer whose first messages were lost before the
		// connection (bus, pair) must not keep the command waiting forever.
		err := wait(c.cfg.interval, true)
		return stop(err)
	}
	return <-recvDone
}

// recvAll prints what arrives until --count messages, a receive timeout,
// or the end of ctx.
func (c *cat) recvAll(ctx context.Context) error {
	for n := 0; c.cfg.count == 0 || n < c.cfg.count; n++ {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if d := c.socketRecvTimeout(); d > 0 {
			rctx, cancel = context.WithTimeout(ctx, d)
		}
		m, err := c.s.RecvContext(rctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case endOfReplies(err) || errors.Is(err, context.DeadlineExceeded):
			return nil
		case err != nil:
			return fail("Receive error: %s", errText(err, false))
		}
		c.print(m)
	}
	return nil
}

// appendFrames appends m as f prints it. A message of one frame prints as
// appendMessage prints its body. A multipart message prints its frames on
// one line, each as appendMessage prints it (without the newline of the
// quoted and hex formats but for the last), separated by single spaces;
// in msgpack it is an array of bin objects, one per frame.
func appendFrames(dst []byte, m *socket.Message, f format) []byte {
	if len(m.Frames) == 0 {
		return appendMessage(dst, m.Body, f)
	}
	if f == formatNo || f == formatUnset {
		return dst
	}
	n := 1 + len(m.Frames)
	if f == formatMsgpack {
		switch {
		case n < 16:
			dst = append(dst, 0x90|byte(n))
		case n < 1<<16:
			dst = append(dst, 0xdc, byte(n>>8), byte(n))
		default:
			dst = append(dst, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		dst = appendMessage(dst, m.Body, f)
		for _, fr := range m.Frames {
			dst = appendMessage(dst, fr, f)
		}
		return dst
	}
	lined := f == formatQuoted || f == formatHex
	for i := 0; i < n; i++ {
		fr := m.Body
		if i > 0 {
			dst = append(dst, ' ')
			fr = m.Frames[i-1]
		}
		dst = appendMessage(dst, fr, f)
		if lined && i < n-1 {
			dst = dst[:len(dst)-1] // the newline
		}
	}
	return dst
}
