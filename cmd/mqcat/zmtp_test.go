package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// zpeer is a libzmq peer (testdata/zpeer.py run by pyzmq).
type zpeer struct {
	url   string // the bound endpoint, when it binds
	lines chan string
}

// startZPeer starts testdata/zpeer.py with args (TYPE bind|connect URL
// SETTING... ACTION...) and waits until it has bound or connected.
func startZPeer(t *testing.T, args ...string) *zpeer {
	t.Helper()
	py, err := testutil.PythonZMQ()
	if err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "zpeer.py"))
	cmd := exec.Command(py, append([]string{script}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &zpeer{lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.String() != "" {
			t.Logf("libzmq peer %v stderr:\n%s", args, stderr.String())
		}
	})
	ready := p.line(t)
	if !strings.HasPrefix(ready, "ready") {
		t.Fatalf("libzmq peer said %q, want ready", ready)
	}
	p.url = strings.TrimSpace(strings.TrimPrefix(ready, "ready"))
	return p
}

// line returns the peer's next line of output.
func (p *zpeer) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "(peer output ended)"
		}
		return l
	case <-time.After(15 * time.Second):
		t.Fatal("no line from the libzmq peer in 15 s")
		return ""
	}
}

// expect checks the peer's next lines.
func (p *zpeer) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		if got := p.line(t); got != w {
			t.Fatalf("libzmq peer said %q, want %q", got, w)
		}
	}
}

// hexs is s in hex, as zpeer.py prints a frame.
func hexs(s string) string {
	if s == "" {
		return "."
	}
	return fmt.Sprintf("%x", s)
}

// publishing is the actions of a libzmq PUB that sends "b" then "a" every
// 50 ms for a few seconds, long enough for a subscriber to come.
func publishing() []string {
	var a []string
	for range 100 {
		a = append(a, "send=b", "send=a", "sleep=0.05")
	}
	return a
}

// mqcatListening starts mqcat listening at a fresh TCP endpoint, with args
// after the address.
func mqcatListening(t *testing.T, args ...string) (endpoint, *proc) {
	t.Helper()
	bin := mqcat(t)
	return startListener(t, "tcp", func(e endpoint) *proc {
		return startProc(t, nil, bin, append([]string{"--listen", e.url()}, args...)...)
	})
}

// finish waits for mqcat to end and checks its exit status and output.
func finish(t *testing.T, p *proc, code int, stdout, stderr string) {
	t.Helper()
	if !p.wait(15 * time.Second) {
		p.kill()
		t.Fatalf("did not end: %s", p.report())
	}
	if p.code != code || p.stdout.String() != stdout || p.stderr.String() != stderr {
		t.Fatalf("want exit %d, stdout %q, stderr %q: %s", code, stdout, stderr, p.report())
	}
}

// TestZeroMQ runs mqcat against libzmq 4.3.4 peers (pyzmq).
func TestZeroMQ(t *testing.T) {
	if _, err := testutil.PythonZMQ(); err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	bin := mqcat(t)
	dial := func(t *testing.T, args ...string) *proc {
		return startProc(t, nil, bin, args...)
	}
	t.Run("push to PULL", func(t *testing.T) {
		t.Parallel()
		z := startZPeer(t, "PULL", "bind", "tcp://127.0.0.1:*", "recv*2")
		p := dial(t, "--zmtp", "--push0", "--dial", z.url, "-D", "hello", "-C", "2")
		z.expect(t, hexs("hello"), hexs("hello"), "done")
		finish(t, p, 0, "", "")
	})
	t.Run("PUSH multipart to pull listener", func(t *testing.T) {
		t.Parallel()
		e, p := mqcatListening(t, "--pull0", "-Q", "-C", "2")
		startZPeer(t, "PUSH", "connect", e.url(), `send=a|\x01b|`, "send=one")
		finish(t, p, 0, "\"a\" \"\\x01b\" \"\"\n\"one\"\n", "")
	})
	t.Run("PUSH multipart hex", func(t *testing.T) {
		t.Parallel()
		e, p := mqcatListening(t, "--pull", "--hex", "-C", "1")
		startZPeer(t, "PUSH", "connect", e.url(), `send=a|\x01`)
		finish(t, p, 0, "\"\\x61\" \"\\x01\"\n", "")
	})
	t.Run("req to REP", func(t *testing.T) {
		t.Parallel()
		z := startZPeer(t, "REP", "bind", "tcp://127.0.0.1:*", "recv", "send=world")
		p := dial(t, "--zmtp", "--req", "--dial", z.url, "-D", "hi", "-Q")
		z.expect(t, hexs("hi"))
		finish(t, p, 0, "\"world\"\n", "")
	})
	t.Run("REQ to rep listener", func(t *testing.T) {
		t.Parallel()
		e, p := mqcatListening(t, "--rep0", "-D", "pong", "-Q", "-C", "1")
		z := startZPeer(t, "REQ", "connect", e.url(), "send=ping", "recv")
		z.expect(t, hexs("pong"))
		finish(t, p, 0, "\"ping\"\n", "")
	})
	t.Run("sub from PUB", func(t *testing.T) {
		t.Parallel()
		z := startZPeer(t, append([]string{"PUB", "bind", "tcp://127.0.0.1:*"}, publishing()...)...)
		p := dial(t, "--zmtp", "--sub0", "--dial", z.url, "--subscribe", "a", "-Q", "-C", "2")
		finish(t, p, 0, "\"a\"\n\"a\"\n", "")
	})
	t.Run("pair0 with PAIR", func(t *testing.T) {
		t.Parallel()
		z := startZPeer(t, "PAIR", "bind", "tcp://127.0.0.1:*", "recv", "send=b1", "recv", "send=b2")
		p := dial(t, "--zmtp", "--pair0", "--dial", z.url, "-D", "a", "-C", "2", "-i", "0.1", "-Q")
		z.expect(t, hexs("a"), hexs("a"))
		finish(t, p, 0, "\"b1\"\n\"b2\"\n", "")
	})
	t.Run("dealer to ROUTER", func(t *testing.T) {
		t.Parallel()
		z := startZPeer(t, "ROUTER", "bind", "tcp://127.0.0.1:*", "echo*2")
		p := dial(t, "--dealer", "--dial", z.url, "-D", "hi", "-C", "2", "-Q")
		finish(t, p, 0, "\"hi\"\n\"hi\"\n", "")
	})
	t.Run("router answers DEALER", func(t *testing.T) {
		t.Parallel()
		e, p := mqcatListening(t, "--router", "-D", "ans", "-Q", "-C", "1")
		z := startZPeer(t, "DEALER", "connect", e.url(), "id=dd", "send=x|q", "recv")
		z.expect(t, hexs("x")+" "+hexs("ans"))
		finish(t, p, 0, "\"dd\" \"x\" \"q\"\n", "")
	})
	t.Run("router answers REQ", func(t *testing.T) {
		t.Parallel()
		e, p := mqcatListening(t, "--router", "-D", "ans", "-Q", "-C", "1")
		z := startZPeer(t, "REQ", "connect", e.url(), "id=rr", "send=q", "recv")
		z.expect(t, hexs("ans"))
		finish(t, p, 0, "\"rr\" \"\" \"q\"\n", "")
	})
	t.Run("xpub prints subscriptions", func(t *testing.T) {
		t.Parallel()
		e, p := mqcatListening(t, "--xpub", "-Q", "-C", "1")
		startZPeer(t, "SUB", "connect", e.url(), "sub=topic", "sleep=10")
		finish(t, p, 0, "\"\\x01topic\"\n", "")
	})
	t.Run("xsub subscribes upstream", func(t *testing.T) {
		t.Parallel()
		z := startZPeer(t, append([]string{"PUB", "bind", "tcp://127.0.0.1:*"}, publishing()...)...)
		p := dial(t, "--xsub", "--dial", z.url, "--subscribe", "a", "-Q", "-C", "2")
		finish(t, p, 0, "\"a\"\n\"a\"\n", "")
	})
	t.Run("PLAIN client accepted", func(t *testing.T) {
		t.Parallel()
		z := startZPeer(t, "PULL", "bind", "tcp://127.0.0.1:*", "plain_server=user:pw", "recv")
		p := dial(t, "--push0", "--dial", z.url, "--plain-user", "user", "--plain-password", "pw", "-D", "x")
		z.expect(t, hexs("x"))
		finish(t, p, 0, "", "")
	})
	t.Run("PLAIN client refused", func(t *testing.T) {
		t.Parallel()
		z := startZPeer(t, "PULL", "bind", "tcp://127.0.0.1:*", "plain_server=user:pw", "handshake")
		p := dial(t, "--zmtp", "--push0", "--dial", z.url, "--plain-user", "user", "--plain-password", "bad", "-D", "x")
		z.expect(t, "auth")
		finish(t, p, 1, "", "Unable to dial on "+z.url+": Peer could not be authenticated\n")
	})
	t.Run("PLAIN server accepts", func(t *testing.T) {
		t.Parallel()
		e, p := mqcatListening(t, "--pull0", "--plain-user", "user", "--plain-password", "pw", "-Q", "-C", "1")
		startZPeer(t, "PUSH", "connect", e.url(), "plain_user=user", "plain_password=pw", "send=x")
		finish(t, p, 0, "\"x\"\n", "")
	})
	t.Run("CURVE client", func(t *testing.T) {
		t.Parallel()
		sPub, sSec, _ := zmtp.NewCurveKeyPair()
		z := startZPeer(t, "PULL", "bind", "tcp://127.0.0.1:*", "curve_server="+sSec.String(), "recv")
		p := dial(t, "--push0", "--dial", z.url, "--curve-serverkey", sPub.String(), "-D", "x")
		z.expect(t, hexs("x"))
		finish(t, p, 0, "", "")
	})
	t.Run("CURVE server", func(t *testing.T) {
		t.Parallel()
		sPub, sSec, _ := zmtp.NewCurveKeyPair()
		cPub, cSec, _ := zmtp.NewCurveKeyPair()
		e, p := mqcatListening(t, "--pull0", "--curve-server", sSec.String(), "-Q", "-C", "1")
		startZPeer(t, "PUSH", "connect", e.url(), fmt.Sprintf("curve_client=%s,%s,%s", sPub, cPub, cSec), "send=x")
		finish(t, p, 0, "\"x\"\n", "")
	})
	t.Run("PLAIN server refuses", func(t *testing.T) {
		t.Parallel()
		// The peer connects first and retries every 100 ms, so that it
		// meets mqcat well within mqcat's receive timeout.
		e := newEndpoint(t, "tcp")
		z := startZPeer(t, "PUSH", "connect", e.url(), "plain_user=user", "plain_password=bad", "handshake")
		p := startProc(t, nil, bin, "--pull0", "--listen", e.url(), "--plain-user", "user", "--plain-password", "pw", "-Q", "--recv-timeout", "2")
		z.expect(t, "auth")
		finish(t, p, 0, "", "")
	})
}

// TestZMTPOptions checks the command line of the ZeroMQ options.
func TestZMTPOptions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--zmtp", "--bus0", "--dial", "tcp://h:1"}, "Protocol does not support --zmtp."},
		{[]string{"--zmtp", "--pair", "--dial", "tcp://h:1"}, "Protocol does not support --zmtp."},
		{[]string{"--surveyor", "--plain-user", "u", "--dial", "tcp://h:1", "-D", "x"}, "Protocol does not support --plain-user."},
		{[]string{"--push", "--plain-password", "p", "--dial", "tcp://h:1", "-D", "x"}, "Option --plain-password requires --plain-user."},
		{[]string{"--push", "--curve-serverkey", "short", "--dial", "tcp://h:1", "-D", "x"}, "Invalid CURVE key: a key is 40 characters of Z85."},
		{[]string{"--push", "--curve-secretkey", "S>VLdi(>r6G0VPEXoxMkSzXTy<c0Dm%iX=Co]dy+", "--dial", "tcp://h:1", "-D", "x"}, "Option --curve-secretkey requires --curve-serverkey."},
		{[]string{"--bus", "--curve-server", "S>VLdi(>r6G0VPEXoxMkSzXTy<c0Dm%iX=Co]dy+", "--listen", "tcp://h:1"}, "Protocol does not support CURVE."},
		{[]string{"--pull", "--plain-user", "u", "--curve-server", "S>VLdi(>r6G0VPEXoxMkSzXTy<c0Dm%iX=Co]dy+", "--listen", "tcp://h:1"}, "Options --plain-user and --curve-* cannot be used together."},
		{[]string{"--pull", "--plain-user", "u", "--dial", "tcp://h:1", "--listen", "tcp://h:2"}, "Option --plain-user cannot be used with both --dial and --listen."},
		{[]string{"--dealer", "--req", "--dial", "tcp://h:1"}, "Only one protocol may be specified."},
		{[]string{"--xsub", "--dial", "tcp://h:1", "-D", "x"}, "Protocol does not support --file or --data."},
		{[]string{"--xpub", "--dial", "tcp://h:1", "-i", "1"}, "Option --interval requires either --file or --data."},
		{[]string{"--router", "--dial", "tcp://h:1", "-i", "1"}, "Protocol does not support --interval."},
		{[]string{"--x", "--dial", "tcp://h:1"}, "Option --x is ambiguous (specify in full)."},
		{[]string{"--xpub", "--subscribe", "a", "--dial", "tcp://h:1"}, "Protocol does not support --subscribe."},
	} {
		_, err := parseArgs(tc.args, nil)
		if err == nil || err.Error() != tc.err {
			t.Errorf("%q: got %v, want %q", tc.args, err, tc.err)
		}
	}
	// nngcat's abbreviations keep their meaning; the new names abbreviate
	// where they do not clash.
	c, err := parseArgs([]string{"--dea", "--dial", "tcp://h:1", "--de", "2", "--z", "x", "--zm", "--xs", "--pl", "u"}, nil)
	if err == nil {
		t.Fatalf("two protocols accepted: %+v", c)
	}
	c, err = parseArgs([]string{"--dea", "--dial", "tcp://h:1", "--de", "2", "--z", "x", "--zm", "--plain-u", "u", "--plain-p", "p"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.proto != optDealer || c.delay != 2*time.Second || c.ztHome != "x" || !c.zmtp.dial || c.zmtp.plainUser != "u" || c.zmtp.plainPassword != "p" {
		t.Errorf("parsed %+v", c)
	}
	c, err = parseArgs([]string{"--xsub", "--dial", "tcp://h:1"}, nil)
	if err != nil || len(c.topics) != 1 || c.topics[0] != "" {
		t.Errorf("--xsub without --subscribe: %v, topics %q; want everything", err, c.topics)
	}
}

// TestAppendFrames checks how a multipart message prints in each format.
func TestAppendFrames(t *testing.T) {
	m := &socket.Message{Body: []byte("a"), Frames: [][]byte{{1, 'b'}, {}}}
	for _, tc := range []struct {
		f    format
		want string
	}{
		{formatQuoted, "\"a\" \"\\x01b\" \"\"\n"},
		{formatHex, "\"\\x61\" \"\\x01\\x62\" \"\"\n"},
		{formatASCII, "a .b "},
		{formatRaw, "a \x01b "},
		{formatMsgpack, "\x93\xc4\x01a\xc4\x02\x01b\xc4\x00"},
		{formatNo, ""},
		{formatUnset, ""},
	} {
		if got := string(appendFrames(nil, m, tc.f)); got != tc.want {
			t.Errorf("format %d: got %q, want %q", tc.f, got, tc.want)
		}
	}
	one := &socket.Message{Body: []byte("a")}
	if got := string(appendFrames(nil, one, formatMsgpack)); got != "\xc4\x01a" {
		t.Errorf("one frame in msgpack: got %q", got)
	}
}

// TestZeroMQInProcess runs mqcat's ZeroMQ code in this process (under the
// race detector when the tests have it) against mqwire's own ROUTER,
// DEALER and XPUB over inproc.
func TestZeroMQInProcess(t *testing.T) {
	testutil.CheckGoroutines(t)
	t.Run("dealer two-way", func(t *testing.T) {
		r, err := router.New()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Listen("inproc://mqcat-router"); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				m, err := r.Recv()
				if err != nil {
					return
				}
				m.Frames = append(m.Frames, []byte("back"))
				if r.Send(m) != nil {
					m.Free()
				}
			}
		}()
		p := startInProcess(t, nil, "--dealer", "--dial", "inproc://mqcat-router", "-D", "hi", "-C", "3", "-Q", "--recv-timeout", "5")
		finish(t, p, 0, strings.Repeat("\"hi\" \"back\"\n", 3), "")
		r.Close()
		<-done
	})
	// The two-way rule holds for the SP types too: each side sends its
	// --count messages and ends once it has received as many, with no
	// --interval to wait for and no --recv-timeout reached.
	for _, proto := range []string{"--pair0", "--pair1", "--bus0"} {
		t.Run(proto[2:]+" two-way", func(t *testing.T) {
			url := "inproc://mqcat-twoway-" + proto[2:]
			// Bus drops what it sends with no peer: both wait for the
			// connection before sending.
			common := []string{"-C", "3", "-Q", "--recv-timeout", "10", "--send-timeout", "10", "--delay", "0.5"}
			a := startInProcess(t, nil, append([]string{proto, "--listen", url, "-D", "a"}, common...)...)
			b := startInProcess(t, nil, append([]string{proto, "--async", "--dial", url, "-D", "b"}, common...)...)
			finish(t, b, 0, strings.Repeat("\"a\"\n", 3), "")
			finish(t, a, 0, strings.Repeat("\"b\"\n", 3), "")
			if a.elapsed > 5*time.Second || b.elapsed > 5*time.Second {
				t.Errorf("took %v and %v: ended at the receive timeout, not after 3 sent and 3 received", a.elapsed, b.elapsed)
			}
		})
	}
	t.Run("router answers", func(t *testing.T) {
		p := startInProcess(t, nil, "--router", "--listen", "inproc://mqcat-router2", "-D", "ans", "-Q", "-C", "2", "--recv-timeout", "5")
		d, err := dealer.New(socket.Identity([]byte("me")))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := d.Dial("inproc://mqcat-router2"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("mqcat does not listen")
			}
			time.Sleep(5 * time.Millisecond)
		}
		for i := range 2 {
			m := socket.NewMessageBytes([]byte("env"))
			m.Frames = [][]byte{[]byte(fmt.Sprint("q", i))}
			if err := d.Send(m); err != nil {
				t.Fatal(err)
			}
			r, err := d.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Body) != "env" || len(r.Frames) != 1 || string(r.Frames[0]) != "ans" {
				t.Errorf("reply %q %q, want env ans", r.Body, r.Frames)
			}
			r.Free()
		}
		finish(t, p, 0, "\"me\" \"env\" \"q0\"\n\"me\" \"env\" \"q1\"\n", "")
	})
	t.Run("xsub to xpub", func(t *testing.T) {
		x, err := xpub.New()
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		if _, err := x.Listen("inproc://mqcat-xpub"); err != nil {
			t.Fatal(err)
		}
		p := startInProcess(t, nil, "--xsub", "--dial", "inproc://mqcat-xpub", "--subscribe", "a", "-Q", "-C", "1", "--recv-timeout", "5")
		m, err := x.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Body) != "\x01a" {
			t.Errorf("xpub got %q, want \\x01a", m.Body)
		}
		m.Free()
		for _, s := range []string{"b", "a1"} {
			if err := x.Send(socket.NewMessageBytes([]byte(s))); err != nil {
				t.Fatal(err)
			}
		}
		finish(t, p, 0, "\"a1\"\n", "")
	})
}
