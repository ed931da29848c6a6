package mangos_test

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mg "go.nanomsg.org/mangos/v3"

	mw "github.com/mqwire/mqwire/compat/mangos"
	mwbus "github.com/mqwire/mqwire/compat/mangos/protocol/bus"
	mwpair "github.com/mqwire/mqwire/compat/mangos/protocol/pair"
	mwpair1 "github.com/mqwire/mqwire/compat/mangos/protocol/pair1"
	mwpub "github.com/mqwire/mqwire/compat/mangos/protocol/pub"
	mwpull "github.com/mqwire/mqwire/compat/mangos/protocol/pull"
	mwpush "github.com/mqwire/mqwire/compat/mangos/protocol/push"
	mwrep "github.com/mqwire/mqwire/compat/mangos/protocol/rep"
	mwreq "github.com/mqwire/mqwire/compat/mangos/protocol/req"
	mwrespondent "github.com/mqwire/mqwire/compat/mangos/protocol/respondent"
	mwsub "github.com/mqwire/mqwire/compat/mangos/protocol/sub"
	mwsurveyor "github.com/mqwire/mqwire/compat/mangos/protocol/surveyor"
	mwxrep "github.com/mqwire/mqwire/compat/mangos/protocol/xrep"
	mwxreq "github.com/mqwire/mqwire/compat/mangos/protocol/xreq"
	"github.com/mqwire/mqwire/internal/testutil"
)

// shim makes a shim socket, failing t if that fails, closes it when the
// test ends, and bounds its waits by timeout.
func shim(t testing.TB, newSocket func() (mw.Socket, error)) mw.Socket {
	t.Helper()
	s, err := newSocket()
	if err != nil {
		t.Fatalf("shim socket: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	for _, o := range []string{mw.OptionRecvDeadline, mw.OptionSendDeadline} {
		if err := s.SetOption(o, timeout); err != nil && !errors.Is(err, mw.ErrBadOption) {
			t.Fatalf("%s: %v", o, err)
		}
	}
	return s
}

// attached counts a shim socket's attached pipes through its hook.
func attached(s mw.Socket) *atomic.Int32 {
	var n atomic.Int32
	s.SetPipeEventHook(func(ev mw.PipeEvent, _ mw.Pipe) {
		switch ev {
		case mw.PipeEventAttached:
			n.Add(1)
		case mw.PipeEventDetached:
			n.Add(-1)
		}
	})
	return &n
}

// link makes a listen on a fresh address of transport and b dial it, and
// waits until both have the connection.
func link(t testing.TB, transport string, a, b mw.Socket) {
	t.Helper()
	na, nb := attached(a), attached(b)
	l, err := a.NewListener(shimURL(t, transport), nil)
	if err != nil {
		t.Fatalf("listener: %v", err)
	}
	if err := l.Listen(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if err := b.Dial(l.Address()); err != nil {
		t.Fatalf("dial %s: %v", l.Address(), err)
	}
	waitFor(t, "both ends attached", func() bool { return na.Load() == 1 && nb.Load() == 1 })
}

// shimURL is testutil.URL with shm too (Linux only).
func shimURL(t testing.TB, transport string) string {
	if transport == "shm" {
		return "shm://" + testutil.ShortTempDir(t) + "/s.sock"
	}
	return testutil.URL(t, transport)
}

func shimSend(t testing.TB, s mw.Socket, b []byte) {
	t.Helper()
	if err := s.Send(b); err != nil {
		t.Fatalf("send %.12q: %v", b, err)
	}
}

func shimRecv(t testing.TB, s mw.Socket) []byte {
	t.Helper()
	b, err := s.Recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return b
}

// TestShimAPI checks that the shim's interfaces, Message and option names
// are mangos's, so that code written for mangos compiles against it: the
// same methods with the same signatures (both packages are named mangos,
// so the signatures print alike), the same fields, the same option
// strings and protocol numbers.
func TestShimAPI(t *testing.T) {
	pairs := []struct{ ours, theirs any }{
		{(*mw.Socket)(nil), (*mg.Socket)(nil)},
		{(*mw.Context)(nil), (*mg.Context)(nil)},
		{(*mw.Dialer)(nil), (*mg.Dialer)(nil)},
		{(*mw.Listener)(nil), (*mg.Listener)(nil)},
		{(*mw.Pipe)(nil), (*mg.Pipe)(nil)},
	}
	for _, p := range pairs {
		ours, theirs := reflect.TypeOf(p.ours).Elem(), reflect.TypeOf(p.theirs).Elem()
		if got, want := methods(ours), methods(theirs); !slices.Equal(got, want) {
			t.Errorf("%s: methods\n%q\nwant\n%q", ours, got, want)
		}
	}
	for _, f := range []string{"Header", "Body", "Pipe"} {
		o, _ := reflect.TypeOf(mw.Message{}).FieldByName(f)
		m, _ := reflect.TypeOf(mg.Message{}).FieldByName(f)
		if o.Type == nil || o.Type.String() != m.Type.String() {
			t.Errorf("Message.%s: %v, want %v", f, o.Type, m.Type)
		}
	}
	for _, m := range []string{"Free", "Clone", "MakeUnique", "Dup"} {
		o, ok := reflect.TypeOf(&mw.Message{}).MethodByName(m)
		w, _ := reflect.TypeOf(&mg.Message{}).MethodByName(m)
		if !ok || o.Type.String() != w.Type.String() {
			t.Errorf("Message.%s: %v, want %v", m, o.Type, w.Type)
		}
	}
	options := [][2]string{
		{mw.OptionRaw, mg.OptionRaw}, {mw.OptionRecvDeadline, mg.OptionRecvDeadline},
		{mw.OptionSendDeadline, mg.OptionSendDeadline}, {mw.OptionRetryTime, mg.OptionRetryTime},
		{mw.OptionSubscribe, mg.OptionSubscribe}, {mw.OptionUnsubscribe, mg.OptionUnsubscribe},
		{mw.OptionSurveyTime, mg.OptionSurveyTime}, {mw.OptionTLSConfig, mg.OptionTLSConfig},
		{mw.OptionWriteQLen, mg.OptionWriteQLen}, {mw.OptionReadQLen, mg.OptionReadQLen},
		{mw.OptionKeepAlive, mg.OptionKeepAlive}, {mw.OptionKeepAliveTime, mg.OptionKeepAliveTime},
		{mw.OptionNoDelay, mg.OptionNoDelay}, {mw.OptionLinger, mg.OptionLinger},
		{mw.OptionTTL, mg.OptionTTL}, {mw.OptionMaxRecvSize, mg.OptionMaxRecvSize},
		{mw.OptionReconnectTime, mg.OptionReconnectTime}, {mw.OptionMaxReconnectTime, mg.OptionMaxReconnectTime},
		{mw.OptionBestEffort, mg.OptionBestEffort}, {mw.OptionLocalAddr, mg.OptionLocalAddr},
		{mw.OptionRemoteAddr, mg.OptionRemoteAddr}, {mw.OptionTLSConnState, mg.OptionTLSConnState},
		{mw.OptionHTTPRequest, mg.OptionHTTPRequest}, {mw.OptionDialAsynch, mg.OptionDialAsynch},
		{mw.OptionPeerPID, mg.OptionPeerPID}, {mw.OptionPeerUID, mg.OptionPeerUID},
		{mw.OptionPeerGID, mg.OptionPeerGID}, {mw.OptionPeerZone, mg.OptionPeerZone},
		{mw.OptionFailNoPeers, mg.OptionFailNoPeers},
	}
	for _, o := range options {
		if o[0] != o[1] {
			t.Errorf("option %q, mangos's is %q", o[0], o[1])
		}
	}
	protos := [][2]int{
		{mw.ProtoPair, mg.ProtoPair}, {mw.ProtoPair1, mg.ProtoPair1}, {mw.ProtoPub, mg.ProtoPub},
		{mw.ProtoSub, mg.ProtoSub}, {mw.ProtoReq, mg.ProtoReq}, {mw.ProtoRep, mg.ProtoRep},
		{mw.ProtoPush, mg.ProtoPush}, {mw.ProtoPull, mg.ProtoPull}, {mw.ProtoSurveyor, mg.ProtoSurveyor},
		{mw.ProtoRespondent, mg.ProtoRespondent}, {mw.ProtoBus, mg.ProtoBus},
	}
	for _, p := range protos {
		if p[0] != p[1] {
			t.Errorf("protocol number %#x, mangos's is %#x", p[0], p[1])
		}
	}
	if mw.PipeEventAttaching != mg.PipeEventAttaching || mw.PipeEventAttached != mg.PipeEventAttached ||
		mw.PipeEventDetached != mg.PipeEventDetached {
		t.Error("pipe events numbered unlike mangos's")
	}
}

// methods lists an interface's methods with their signatures.
func methods(t reflect.Type) []string {
	var ms []string
	for i := range t.NumMethod() {
		m := t.Method(i)
		ms = append(ms, m.Name+" "+m.Type.String())
	}
	return ms
}

// TestShimPatterns runs every protocol pairing shim to shim over inproc,
// ipc, tcp and (on Linux) shm: messages both ways where the pattern has
// them.
func TestShimPatterns(t *testing.T) {
	testutil.CheckGoroutines(t)
	transports := []string{"inproc", "ipc", "tcp"}
	if runtime.GOOS == "linux" {
		transports = append(transports, "shm")
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Run("req-rep", func(t *testing.T) {
				rp, rq := shim(t, mwrep.NewSocket), shim(t, mwreq.NewSocket)
				link(t, tr, rp, rq)
				for i := range messages {
					shimSend(t, rq, body("q", i))
					same(t, "rep", shimRecv(t, rp), body("q", i))
					shimSend(t, rp, body("a", i))
					same(t, "req", shimRecv(t, rq), body("a", i))
				}
			})
			t.Run("push-pull", func(t *testing.T) {
				pl, ps := shim(t, mwpull.NewSocket), shim(t, mwpush.NewSocket)
				link(t, tr, pl, ps)
				for i := range messages {
					shimSend(t, ps, body("p", i))
				}
				for i := range messages {
					same(t, "pull", shimRecv(t, pl), body("p", i))
				}
			})
			t.Run("pub-sub", func(t *testing.T) {
				pb, sb := shim(t, mwpub.NewSocket), shim(t, mwsub.NewSocket)
				if err := sb.SetOption(mw.OptionSubscribe, "keep"); err != nil {
					t.Fatal(err)
				}
				if err := sb.SetOption(mw.OptionSubscribe, []byte("also")); err != nil {
					t.Fatal(err)
				}
				link(t, tr, pb, sb)
				for _, m := range []string{"drop-1", "keep-1", "also-1", "drop-2", "keep-2"} {
					shimSend(t, pb, []byte(m))
				}
				for _, want := range []string{"keep-1", "also-1", "keep-2"} {
					same(t, "sub", shimRecv(t, sb), []byte(want))
				}
			})
			for _, pp := range []struct {
				name string
				new  func() (mw.Socket, error)
			}{{"pair", mwpair.NewSocket}, {"pair1", mwpair1.NewSocket}, {"bus", mwbus.NewSocket}} {
				t.Run(pp.name, func(t *testing.T) {
					a, b := shim(t, pp.new), shim(t, pp.new)
					link(t, tr, a, b)
					for i := range messages {
						shimSend(t, a, body("ab", i))
						same(t, "b", shimRecv(t, b), body("ab", i))
						shimSend(t, b, body("ba", i))
						same(t, "a", shimRecv(t, a), body("ba", i))
					}
				})
			}
			t.Run("surveyor-respondent", func(t *testing.T) {
				sv := shim(t, mwsurveyor.NewSocket)
				var rs []mw.Socket
				for range 3 {
					r := shim(t, mwrespondent.NewSocket)
					link(t, tr, sv, r)
					rs = append(rs, r)
				}
				shimSend(t, sv, []byte("who?"))
				for i, r := range rs {
					same(t, "respondent", shimRecv(t, r), []byte("who?"))
					shimSend(t, r, fmt.Appendf(nil, "me %d", i))
				}
				var got []string
				for range rs {
					got = append(got, string(shimRecv(t, sv)))
				}
				slices.Sort(got)
				if want := []string{"me 0", "me 1", "me 2"}; !slices.Equal(got, want) {
					t.Errorf("answers %q, want %q", got, want)
				}
			})
		})
	}
}

// TestShimRawDevice puts a shim Device between req clients and a rep
// server, as mangos's broker example does: the raw sockets carry the
// requests' headers, and each reply reaches the client that asked.
func TestShimRawDevice(t *testing.T) {
	testutil.CheckGoroutines(t)
	front, back := shim(t, mwxrep.NewSocket), shim(t, mwxreq.NewSocket)
	if raw, err := front.GetOption(mw.OptionRaw); err != nil || raw != true {
		t.Fatalf("xrep OptionRaw: %v, %v", raw, err)
	}
	frontURL, backURL := testutil.URL(t, "tcp"), testutil.URL(t, "ipc")
	fl, err := front.NewListener(frontURL, nil)
	if err != nil || fl.Listen() != nil {
		t.Fatalf("front listen: %v", err)
	}
	if err := back.Listen(backURL); err != nil {
		t.Fatalf("back listen: %v", err)
	}
	if err := mw.Device(front, back); err != nil {
		t.Fatalf("device: %v", err)
	}
	server := shim(t, mwrep.NewSocket)
	if err := server.Dial(backURL); err != nil {
		t.Fatalf("server dial: %v", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 3 * messages {
			m, err := server.RecvMsg()
			if err != nil {
				t.Errorf("server recv: %v", err)
				return
			}
			m.Body = append([]byte("re: "), m.Body...)
			if err := server.SendMsg(m); err != nil {
				t.Errorf("server send: %v", err)
				return
			}
		}
	})
	for c := range 3 {
		wg.Go(func() {
			client, err := mwreq.NewSocket()
			if err != nil {
				t.Error(err)
				return
			}
			defer client.Close()
			client.SetOption(mw.OptionRecvDeadline, timeout)
			if err := client.Dial(fl.Address()); err != nil {
				t.Errorf("client dial: %v", err)
				return
			}
			for i := range messages {
				q := fmt.Sprintf("client %d request %d", c, i)
				if err := client.Send([]byte(q)); err != nil {
					t.Errorf("client send: %v", err)
					return
				}
				a, err := client.Recv()
				if err != nil || string(a) != "re: "+q {
					t.Errorf("client %d got %q, %v; want %q", c, a, err, "re: "+q)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := mw.Device(front, server); !errors.Is(err, mw.ErrBadProto) && !errors.Is(err, mw.ErrNotRaw) {
		t.Errorf("device of a cooked socket: %v", err)
	}
}

// TestShimContexts serves concurrent requests through rep contexts, each
// from its own req context.
func TestShimContexts(t *testing.T) {
	testutil.CheckGoroutines(t)
	rp, rq := shim(t, mwrep.NewSocket), shim(t, mwreq.NewSocket)
	link(t, "tcp", rp, rq)
	const workers = 4
	var wg sync.WaitGroup
	for range workers {
		c, err := rp.OpenContext()
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer c.Close()
			c.SetOption(mw.OptionRecvDeadline, 200*time.Millisecond)
			for {
				m, err := c.RecvMsg()
				if errors.Is(err, mw.ErrRecvTimeout) {
					return // the clients are done
				}
				if err != nil {
					t.Errorf("rep context recv: %v", err)
					return
				}
				m.Body = append(m.Body, '!')
				if err := c.SendMsg(m); err != nil {
					t.Errorf("rep context send: %v", err)
					return
				}
			}
		})
	}
	for w := range workers {
		wg.Go(func() {
			c, err := rq.OpenContext()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetOption(mw.OptionRecvDeadline, timeout)
			for i := range messages {
				q := fmt.Sprintf("%d/%d", w, i)
				if err := c.Send([]byte(q)); err != nil {
					t.Errorf("req context send: %v", err)
					return
				}
				if a, err := c.Recv(); err != nil || string(a) != q+"!" {
					t.Errorf("req context got %q, %v; want %q", a, err, q+"!")
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := shim(t, mwpush.NewSocket).OpenContext(); err != mw.ErrProtoOp {
		t.Errorf("push context: %v, want ErrProtoOp", err)
	}
}

// TestShimDial checks mangos's dial: the first attempt before Dial
// returns (ErrConnRefused when nobody listens, and nothing left behind),
// OptionDialAsynch to connect in the background instead, and the errors
// of bad addresses.
func TestShimDial(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := shim(t, mwpush.NewSocket)
	for _, tr := range []string{"inproc", "ipc", "tcp"} {
		if err := s.Dial(testutil.URL(t, tr)); err != mw.ErrConnRefused {
			t.Errorf("%s dial with no listener: %v, want ErrConnRefused", tr, err)
		}
	}
	if err := s.Dial("nosuch://x"); err != mw.ErrBadTran {
		t.Errorf("unknown transport: %v, want ErrBadTran", err)
	}
	if err := s.Dial("no address"); err != mw.ErrBadAddr {
		t.Errorf("not an address: %v, want ErrBadAddr", err)
	}

	url := testutil.URL(t, "ipc") // a fixed address, to listen on after the dial
	d, err := s.NewDialer(url, map[string]interface{}{mw.OptionDialAsynch: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Dial(); err != nil {
		t.Fatalf("asynchronous dial with no listener: %v", err)
	}
	if err := d.SetOption(mw.OptionDialAsynch, false); err != mw.ErrBadOption {
		t.Errorf("option set on a started dialer: %v, want ErrBadOption", err)
	}
	p := shim(t, mwpull.NewSocket)
	if err := p.Listen(url); err != nil {
		t.Fatal(err)
	}
	shimSend(t, s, []byte("late listener"))
	same(t, "pull", shimRecv(t, p), []byte("late listener"))
	if err := d.Close(); err != nil {
		t.Errorf("dialer close: %v", err)
	}
	if err := d.Close(); err != mw.ErrClosed {
		t.Errorf("second dialer close: %v, want ErrClosed", err)
	}
	if err := p.Listen(url); err != mw.ErrAddrInUse {
		t.Errorf("listening twice: %v, want ErrAddrInUse", err)
	}
}

// TestShimOptions checks that options are checked when set, read back as
// set, and do what they say.
func TestShimOptions(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := shim(t, mwreq.NewSocket)
	bad := []struct {
		name  string
		value interface{}
		want  error
	}{
		{"NO-SUCH-OPTION", 1, mw.ErrBadOption},
		{mw.OptionSubscribe, []byte("x"), mw.ErrBadOption}, // req has no subscriptions
		{mw.OptionRaw, true, mw.ErrBadOption},              // read only
		{mw.OptionTLSConnState, true, mw.ErrBadOption},     // not offered
		{mw.OptionRecvDeadline, 5, mw.ErrBadValue},         // an int, not a Duration
		{mw.OptionRetryTime, "1s", mw.ErrBadValue},
		{mw.OptionMaxRecvSize, -1, mw.ErrBadValue},
		{mw.OptionWriteQLen, 0, mw.ErrBadValue},
		{mw.OptionNoDelay, false, mw.ErrBadValue},
	}
	for _, b := range bad {
		if err := s.SetOption(b.name, b.value); err != b.want { // mangos code compares with ==
			t.Errorf("SetOption(%s, %v): %v, want %v", b.name, b.value, err, b.want)
		}
	}
	set := map[string]interface{}{
		mw.OptionRetryTime:     2 * time.Second,
		mw.OptionMaxRecvSize:   4096,
		mw.OptionReconnectTime: 50 * time.Millisecond,
		mw.OptionLinger:        0 * time.Second,
		mw.OptionWriteQLen:     10,
		mw.OptionDialAsynch:    true,
	}
	for name, v := range set {
		if err := s.SetOption(name, v); err != nil {
			t.Errorf("SetOption(%s, %v): %v", name, v, err)
		}
		if got, err := s.GetOption(name); err != nil || got != v {
			t.Errorf("GetOption(%s) = %v, %v; want %v", name, got, err, v)
		}
	}
	if v, err := s.GetOption(mw.OptionRaw); err != nil || v != false {
		t.Errorf("OptionRaw of a req: %v, %v", v, err)
	}
	if _, err := s.NewDialer(testutil.URL(t, "tcp"), map[string]interface{}{mw.OptionReconnectTime: time.Second}); err != mw.ErrBadOption {
		t.Errorf("a dialer's own reconnect time: %v, want ErrBadOption", err)
	}

	// Deadlines: a positive one times out, a negative one does not wait.
	p := shim(t, mwpull.NewSocket)
	if err := p.SetOption(mw.OptionRecvDeadline, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := p.Recv(); err != mw.ErrRecvTimeout {
		t.Errorf("recv: %v, want ErrRecvTimeout", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("recv gave up after %v, before its deadline", waited)
	}
	p.SetOption(mw.OptionRecvDeadline, -time.Second)
	if _, err := p.Recv(); err != mw.ErrRecvTimeout {
		t.Errorf("non-blocking recv: %v, want ErrRecvTimeout", err)
	}
	if err := p.Send([]byte("x")); err != mw.ErrProtoOp {
		t.Errorf("send on pull: %v, want ErrProtoOp", err)
	}
	// A message above OptionMaxRecvSize costs the sender its connection.
	if err := p.SetOption(mw.OptionMaxRecvSize, 100); err != nil {
		t.Fatal(err)
	}
	if err := p.SetOption(mw.OptionRecvDeadline, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ps := shim(t, mwpush.NewSocket)
	link(t, "tcp", p, ps)
	shimSend(t, ps, make([]byte, 200))
	if b, err := p.Recv(); err != mw.ErrRecvTimeout {
		t.Errorf("recv of a message above the limit: %d bytes, %v", len(b), err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := p.Close(); err != mw.ErrClosed {
		t.Errorf("second close: %v, want ErrClosed", err)
	}
	if _, err := p.Recv(); err != mw.ErrClosed {
		t.Errorf("recv after close: %v, want ErrClosed", err)
	}
}

// TestShimBestEffortFailNoPeers checks mangos's OptionBestEffort (a send
// that would wait drops the message instead) and OptionFailNoPeers (with
// no peer, sending fails at once), on the protocols mangos has them on.
func TestShimBestEffortFailNoPeers(t *testing.T) {
	testutil.CheckGoroutines(t)
	if err := shim(t, mwpub.NewSocket).SetOption(mw.OptionBestEffort, true); err != mw.ErrBadOption {
		t.Errorf("best effort on pub (which never waits): %v, want ErrBadOption", err)
	}
	ps := shim(t, mwpush.NewSocket)
	if err := ps.SetOption(mw.OptionFailNoPeers, true); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := ps.Send([]byte("nobody")); err != mw.ErrNoPeers {
		t.Errorf("send with no peer: %v, want ErrNoPeers", err)
	}
	if err := ps.SetOption(mw.OptionFailNoPeers, false); err != nil {
		t.Fatal(err)
	}
	if err := ps.SetOption(mw.OptionBestEffort, true); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := ps.SendMsg(mw.NewMessage(8)); err != nil {
			t.Fatalf("best-effort send %d with no peer: %v", i, err)
		}
	}
	if waited := time.Since(start); waited > timeout/2 {
		t.Errorf("sends took %v; none should wait", waited)
	}
	// A peer that reads nothing: its queue fills, then the sends drop.
	pl := shim(t, mwpull.NewSocket)
	for _, o := range []string{mw.OptionReadQLen} {
		if err := pl.SetOption(o, 1); err != nil {
			t.Fatal(err)
		}
	}
	link(t, "inproc", pl, ps)
	for range 5000 {
		if err := ps.Send([]byte("flood")); err != nil {
			t.Fatalf("best-effort send to a full peer: %v", err)
		}
	}
	if err := ps.SetOption(mw.OptionBestEffort, false); err != nil {
		t.Fatal(err)
	}
	if v, _ := ps.GetOption(mw.OptionSendDeadline); v != timeout {
		t.Errorf("send deadline after best effort: %v, want %v", v, timeout)
	}
	same(t, "pull", shimRecv(t, pl), []byte("flood"))
}

// TestShimPipeHook checks the pipe event hook: each pipe attaching,
// attached and detached in order with its address, dialer or listener and
// addresses; a received message's pipe is the hook's; and a pipe closed
// while attaching is refused.
func TestShimPipeHook(t *testing.T) {
	testutil.CheckGoroutines(t)
	l, d := shim(t, mwpull.NewSocket), shim(t, mwpush.NewSocket)
	var mu sync.Mutex
	var seen []string
	var ids []uint32
	refuse := 1
	l.SetPipeEventHook(func(ev mw.PipeEvent, p mw.Pipe) {
		mu.Lock()
		defer mu.Unlock()
		remote, err := p.GetOption(mw.OptionRemoteAddr)
		if _, ok := remote.(*net.TCPAddr); !ok || err != nil {
			t.Errorf("remote address %v (%T), %v", remote, remote, err)
		}
		if p.Listener() == nil || p.Dialer() != nil || !strings.HasPrefix(p.Address(), "tcp://") {
			t.Errorf("pipe %d: listener %v, dialer %v, address %q", p.ID(), p.Listener(), p.Dialer(), p.Address())
		}
		seen = append(seen, fmt.Sprint(ev))
		if ev == mw.PipeEventAttaching {
			ids = append(ids, p.ID())
			if refuse > 0 {
				refuse--
				p.Close()
			}
		}
	})
	if err := d.SetOption(mw.OptionReconnectTime, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	addr := ""
	if ln, err := l.NewListener(testutil.URL(t, "tcp"), nil); err != nil || ln.Listen() != nil {
		t.Fatal(err)
	} else {
		addr = ln.Address()
	}
	if err := d.Dial(addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a pipe attached after the refused one", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(seen, fmt.Sprint(mw.PipeEventAttached))
	})
	shimSend(t, d, []byte("through the second pipe"))
	m, err := l.RecvMsg()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if m.Pipe == nil || len(ids) != 2 || m.Pipe.ID() != ids[1] {
		t.Errorf("message's pipe %v, hook's pipes %v", m.Pipe, ids)
	}
	mu.Unlock()
	d.Close()
	waitFor(t, "the pipe detached", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 5
	})
	mu.Lock()
	defer mu.Unlock()
	want := []string{"0", "2", "0", "1", "2"} // refused: attaching, detached; then the good one
	if !slices.Equal(seen, want) {
		t.Errorf("hook saw %q, want %q", seen, want)
	}
}

// TestShimTLS runs the shim over tls+tcp and wss, the TLS configuration
// given as mangos code gives it: on the listener's options, on the
// dialer's, and on the socket.
func TestShimTLS(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	for _, url := range []string{"tls+tcp://127.0.0.1:0", "wss://127.0.0.1:0/shim"} {
		pl, ps := shim(t, mwpull.NewSocket), shim(t, mwpush.NewSocket)
		l, err := pl.NewListener(url, map[string]interface{}{mw.OptionTLSConfig: certs.ServerConfig()})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Listen(); err != nil {
			t.Fatal(err)
		}
		if err := ps.DialOptions(l.Address(), map[string]interface{}{mw.OptionTLSConfig: certs.ClientConfig()}); err != nil {
			t.Fatalf("dial %s: %v", l.Address(), err)
		}
		shimSend(t, ps, []byte("sealed"))
		same(t, "pull", shimRecv(t, pl), []byte("sealed"))

		// The socket's own configuration, for a second dialer.
		ps2 := shim(t, mwpush.NewSocket)
		if err := ps2.SetOption(mw.OptionTLSConfig, certs.ClientConfig()); err != nil {
			t.Fatal(err)
		}
		if err := ps2.Dial(l.Address()); err != nil {
			t.Fatalf("dial with the socket's configuration: %v", err)
		}
		shimSend(t, ps2, []byte("sealed too"))
		same(t, "pull", shimRecv(t, pl), []byte("sealed too"))
	}
}

// TestShimMessage checks Message's holds: Clone, MakeUnique, Dup, and a
// send of a message another holder keeps.
func TestShimMessage(t *testing.T) {
	testutil.CheckGoroutines(t)
	m := mw.NewMessage(10)
	if cap(m.Body) < 10 || len(m.Body) != 0 {
		t.Fatalf("NewMessage(10): len %d cap %d", len(m.Body), cap(m.Body))
	}
	m.Body = append(m.Body, "hello"...)
	if m.MakeUnique() != m {
		t.Error("MakeUnique of a message with one holder copied it")
	}
	m.Clone()
	u := m.MakeUnique()
	if u == m || string(u.Body) != "hello" {
		t.Errorf("MakeUnique of a shared message: %p %q", u, u.Body)
	}
	if m.MakeUnique() != m {
		t.Error("the other holder's message is not unique again")
	}

	// A message sent while another holder keeps it is copied: the holder's
	// body stays whole.
	pl, ps := shim(t, mwpull.NewSocket), shim(t, mwpush.NewSocket)
	link(t, "inproc", pl, ps)
	kept := mw.NewMessage(5)
	kept.Body = append(kept.Body, "kept!"...)
	kept.Clone()
	if err := ps.SendMsg(kept); err != nil {
		t.Fatal(err)
	}
	same(t, "pull", shimRecv(t, pl), []byte("kept!"))
	if string(kept.Body) != "kept!" || kept.MakeUnique() != kept {
		t.Errorf("the other holder's message after the send: %q", kept.Body)
	}
	kept.Free()
}
