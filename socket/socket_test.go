package socket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

func TestTimeouts(t *testing.T) {
	testutil.CheckGoroutines(t)
	const d = 30 * time.Millisecond
	q := must(pull.New(socket.RecvTimeout(d)))
	p := must(push.New(socket.SendTimeout(d))) // no peer: Send waits
	closeAll(t, p, q)
	start := time.Now()
	_, rerr := q.Recv()
	if time.Since(start) < d {
		t.Errorf("Recv gave up after %v", time.Since(start))
	}
	start = time.Now()
	serr := p.SendBytes([]byte("x"))
	if time.Since(start) < d {
		t.Errorf("Send gave up after %v", time.Since(start))
	}
	for what, err := range map[string]error{"Recv": rerr, "Send": serr} {
		if !errors.Is(err, socket.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v does not match ErrTimeout, os.ErrDeadlineExceeded and context.DeadlineExceeded", what, err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%s: %v is not a net.Error with Timeout", what, err)
		}
	}
	// A context deadline is a timeout too.
	c, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if _, err := q.RecvContext(c); !errors.Is(err, socket.ErrTimeout) {
		t.Errorf("RecvContext past its deadline: %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	testutil.CheckGoroutines(t)
	q := must(pull.New())
	p := must(push.New())
	closeAll(t, p, q)
	c, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := q.RecvContext(c); !errors.Is(err, context.Canceled) || errors.Is(err, socket.ErrTimeout) {
		t.Errorf("RecvContext cancelled: %v", err)
	}
	if err := p.SendContext(c, socket.NewMessageBytes([]byte("x"))); !errors.Is(err, context.Canceled) {
		t.Errorf("SendContext cancelled: %v", err)
	}
	// Cancelled while waiting, too.
	c2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel2)
	if err := p.SendContext(c2, socket.NewMessageBytes([]byte("x"))); !errors.Is(err, context.Canceled) {
		t.Errorf("SendContext cancelled while waiting: %v", err)
	}
}

func TestCloseUnblocksAndIsIdempotent(t *testing.T) {
	testutil.CheckGoroutines(t)
	q := must(pull.New())
	p := must(push.New(socket.Linger(0)))
	must(q.Listen(testutil.URL(t, "tcp")))
	must(p.Dial(testutil.URL(t, "inproc")))
	errs := make(chan error, 2)
	go func() { _, err := q.Recv(); errs <- err }()
	go func() { errs <- p.SendBytes([]byte("nobody takes this")) }()
	time.Sleep(20 * time.Millisecond) // let both block
	if err := q.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, socket.ErrClosed) {
				t.Errorf("blocked call ended with %v, want ErrClosed", err)
			}
		case <-time.After(timeout):
			t.Fatal("Close did not unblock Send and Recv")
		}
	}
	for _, s := range []*socket.Socket{p, q} {
		if err := s.Close(); !errors.Is(err, socket.ErrClosed) {
			t.Errorf("second Close: %v, want ErrClosed", err)
		}
		if _, err := s.Listen(testutil.URL(t, "inproc")); !errors.Is(err, socket.ErrClosed) {
			t.Errorf("Listen after Close: %v", err)
		}
		if _, err := s.Dial(testutil.URL(t, "inproc")); !errors.Is(err, socket.ErrClosed) {
			t.Errorf("Dial after Close: %v", err)
		}
	}
	if err := p.SendBytes([]byte("x")); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if _, err := q.Recv(); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
}

// rawListener listens on tcp for one mqwire dialer and plays the peer by
// hand (speaking protocol proto).
func rawListener(t *testing.T, proto uint16) (string, <-chan *streamtest.Peer) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan *streamtest.Peer, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		p := streamtest.NewPeer(c, sp.FramingTCP, c.RemoteAddr().String())
		t.Cleanup(func() { p.Close() })
		if _, err := p.Handshake(proto); err != nil {
			t.Errorf("raw peer handshake: %v", err)
		}
		ch <- p
	}()
	return "tcp://" + l.Addr().String(), ch
}

// fillQueue sends body on p until a send times out: the pipe's queue and the
// connection's buffers are then full. It returns how many were taken.
func fillQueue(t *testing.T, p *socket.Socket, body []byte) int {
	t.Helper()
	n := 0
	for {
		c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := p.SendContext(c, socket.NewMessageBytes(body))
		cancel()
		if errors.Is(err, socket.ErrTimeout) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n > 10000 {
			t.Fatal("the queue never fills")
		}
	}
}

func TestLingerZeroDropsQueued(t *testing.T) {
	testutil.CheckGoroutines(t)
	addr, peers := rawListener(t, sp.ProtoPull0)
	p := must(push.New(socket.Linger(0), socket.SendHWM(8)))
	must(p.Dial(addr))
	<-peers // connected; it never reads
	waitPipes(t, p, 1)
	sent := fillQueue(t, p, make([]byte, 256<<10))
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close with linger 0 took %v", d)
	}
	st := p.Stats()
	dropped := st.Dropped(socket.DropClosed)
	t.Logf("sent %d, written %d, dropped %d", sent, st.MessagesOut, dropped)
	if dropped == 0 {
		t.Errorf("nothing counted as dropped at close (%d sent, %d written)", sent, st.MessagesOut)
	}
	if st.MessagesOut+dropped != uint64(sent) {
		t.Errorf("%d written + %d dropped, want the %d sent", st.MessagesOut, dropped, sent)
	}
}

func TestLingerFlushesQueued(t *testing.T) {
	testutil.CheckGoroutines(t)
	addr, peers := rawListener(t, sp.ProtoPull0)
	p := must(push.New(socket.Linger(10*time.Second), socket.SendHWM(8)))
	must(p.Dial(addr))
	peer := <-peers
	waitPipes(t, p, 1)
	body := bytes.Repeat([]byte("linger"), 40<<10)
	sent := fillQueue(t, p, body)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		p.Close()
	}()
	for i := range sent {
		m, err := peer.ReadMsg(1 << 30)
		if err != nil {
			t.Fatalf("message %d of %d: %v", i, sent, err)
		}
		if !bytes.Equal(m, body) {
			t.Fatalf("message %d corrupted", i)
		}
	}
	<-closed
	if err := peer.WaitClosed(timeout); err != nil {
		t.Error(err)
	}
	st := p.Stats()
	if st.MessagesOut != uint64(sent) || st.TotalDrops() != 0 {
		t.Errorf("sent %d: written %d, dropped %d", sent, st.MessagesOut, st.TotalDrops())
	}
}

func TestStatsAddUp(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range testutil.Transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			q := must(pull.New())
			closeAll(t, q)
			l := must(q.Listen(testutil.URL(t, tr)))
			var ps []*socket.Socket
			for range 2 {
				p := must(push.New())
				must(p.Dial(l.URL()))
				ps = append(ps, p)
			}
			closeAll(t, ps...)
			waitPipes(t, q, 2)
			var want [2]struct{ n, bytes uint64 }
			for i := range 30 {
				k := i % 2
				body := bytes.Repeat([]byte{'x'}, i*37)
				send(t, ps[k], string(body))
				want[k].n++
				want[k].bytes += uint64(len(body))
			}
			for range 30 {
				recv(t, q)
			}
			var total struct{ n, bytes uint64 }
			for k, p := range ps {
				waitFor(t, "writes", func() bool { return p.Stats().MessagesOut == want[k].n })
				st := p.Stats()
				if st.MessagesOut != want[k].n || st.BytesOut != want[k].bytes || st.MessagesIn != 0 {
					t.Errorf("sender %d: %+v, want %d messages, %d bytes out", k, st.Counters, want[k].n, want[k].bytes)
				}
				pst := p.PipeStats()
				if len(pst) != 1 {
					t.Fatalf("sender %d has %d pipes", k, len(pst))
				}
				if pst[0].Counters != st.Counters {
					t.Errorf("sender %d: pipe %+v, socket %+v", k, pst[0].Counters, st.Counters)
				}
				if !pst[0].Dialed || pst[0].Peer != "pull0" || pst[0].URL != l.URL() {
					t.Errorf("sender %d pipe: %+v", k, pst[0])
				}
				total.n += want[k].n
				total.bytes += want[k].bytes
			}
			st := q.Stats()
			if st.MessagesIn != total.n || st.BytesIn != total.bytes || st.MessagesOut != 0 || st.Pipes != 2 || st.Connects != 2 {
				t.Errorf("receiver: %+v, want %d messages, %d bytes in", st, total.n, total.bytes)
			}
			var sum socket.Counters
			for _, pst := range q.PipeStats() {
				wantDialect := "sp"
				if tr == "inproc" {
					wantDialect = "inproc"
				}
				if pst.Dialed || pst.Peer != "push0" || pst.Dialect != wantDialect || pst.ID == 0 {
					t.Errorf("receiver pipe: %+v", pst)
				}
				sum.MessagesIn += pst.MessagesIn
				sum.BytesIn += pst.BytesIn
			}
			if sum.MessagesIn != total.n || sum.BytesIn != total.bytes {
				t.Errorf("pipes add up to %d messages, %d bytes", sum.MessagesIn, sum.BytesIn)
			}
			// Figures of closed pipes stay in the socket's.
			ps[0].Close()
			waitPipes(t, q, 1)
			if st := q.Stats(); st.MessagesIn != total.n || st.BytesIn != total.bytes {
				t.Errorf("after a pipe closed: %+v", st.Counters)
			}
		})
	}
}

func TestEvents(t *testing.T) {
	testutil.CheckGoroutines(t)
	q := must(pull.New())
	p := must(push.New())
	qe := q.Events(16)
	pe := p.Events(16)
	next := func(ch <-chan socket.Event) socket.Event {
		t.Helper()
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("event channel closed")
			}
			if e.Time.IsZero() {
				t.Errorf("event %v has no time", e)
			}
			return e
		case <-time.After(timeout):
			t.Fatal("no event")
		}
		return socket.Event{}
	}
	l := must(q.Listen(testutil.URL(t, "tcp")))
	if e := next(qe); e.Type != socket.EventListening || e.URL != l.URL() {
		t.Errorf("got %v, want listening on %s", e, l.URL())
	}
	must(p.Dial(l.URL()))
	ec := next(pe)
	if ec.Type != socket.EventConnected || ec.URL != l.URL() || ec.Pipe == 0 || ec.Remote == "" {
		t.Errorf("got %v, want connected", ec)
	}
	ea := next(qe)
	if ea.Type != socket.EventAccepted || ea.Pipe == 0 {
		t.Errorf("got %v, want accepted", ea)
	}
	p.Close()
	if e := next(qe); e.Type != socket.EventDisconnected || e.Pipe != ea.Pipe || e.Err != nil {
		t.Errorf("got %v, want a clean disconnect of pipe %d", e, ea.Pipe)
	}
	if e := next(pe); e.Type != socket.EventDisconnected || e.Pipe != ec.Pipe {
		t.Errorf("got %v, want the dialer's disconnect", e)
	}
	if _, ok := <-pe; ok {
		t.Error("events of a closed socket still open")
	}
	q.Close()
	if _, ok := <-qe; ok {
		t.Error("events of a closed socket still open")
	}
	if _, ok := <-q.Events(1); ok {
		t.Error("Events after Close gives an open channel")
	}
	for _, typ := range []socket.EventType{socket.EventListening, socket.EventConnected, socket.EventAccepted,
		socket.EventDisconnected, socket.EventHandshakeFailed, socket.EventDialFailed, socket.EventPipeRejected} {
		if s := typ.String(); s == "" || strings.HasPrefix(s, "event(") {
			t.Errorf("event type %d has no name", typ)
		}
	}
}

func TestOptionsCheckedWhenSet(t *testing.T) {
	q := must(pull.New())
	p := must(push.New())
	ps := must(pub.New())
	ss := must(sub.New())
	closeAll(t, q, p, ps, ss)
	for _, tc := range []struct {
		s    *socket.Socket
		o    socket.Option
		want error
	}{
		{p, socket.SendHWM(0), socket.ErrBadOption},
		{p, socket.SendHWM(-1), socket.ErrBadOption},
		{p, socket.SendHWM(1 << 30), socket.ErrBadOption},
		{q, socket.RecvHWM(0), socket.ErrBadOption},
		{p, socket.ReconnectInterval(0), socket.ErrBadOption},
		{p, socket.ReconnectIntervalMax(-1), socket.ErrBadOption},
		{q, socket.MaxRecvSize(-1), socket.ErrBadOption},
		{q, socket.HandshakeTimeout(0), socket.ErrBadOption},
		{q, socket.Option{}, socket.ErrBadOption},
		{q, socket.SendHWM(10), socket.ErrOptionNotApplicable},
		{p, socket.RecvHWM(10), socket.ErrOptionNotApplicable},
		{ss, socket.SendTimeout(time.Second), socket.ErrOptionNotApplicable},
		{ps, socket.RecvTimeout(time.Second), socket.ErrOptionNotApplicable},
		{p, surveyor.SurveyTime(time.Second), socket.ErrOptionNotApplicable},
		{q, sub.Subscribe(nil), socket.ErrOptionNotApplicable},
	} {
		if err := tc.s.SetOption(tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%s on %s: %v, want %v", tc.o, tc.s.Info().Name, err, tc.want)
		}
	}
	for _, o := range []socket.Option{socket.RecvHWM(5), socket.RecvTimeout(time.Second), socket.RecvTimeout(0), socket.RecvTimeout(-1), socket.Linger(-1),
		socket.ReconnectInterval(time.Millisecond), socket.ReconnectIntervalMax(time.Second),
		socket.MaxRecvSize(0), socket.HandshakeTimeout(time.Second)} {
		if err := q.SetOption(o); err != nil {
			t.Errorf("%s: %v", o, err)
		}
	}
	if q.RecvHWM() != 5 {
		t.Errorf("RecvHWM %d after setting 5", q.RecvHWM())
	}
	must(q.Listen(testutil.URL(t, "inproc")))
	if err := q.SetOption(socket.RecvHWM(10)); !errors.Is(err, socket.ErrBadState) {
		t.Errorf("RecvHWM after Listen: %v, want ErrBadState", err)
	}
	// The first failing option stops the rest.
	if err := p.SetOption(socket.SendHWM(7), socket.SendHWM(0), socket.SendHWM(-1)); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("SetOption: %v", err)
	}
	if _, err := push.New(socket.SendHWM(0)); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("New with a bad option: %v", err)
	}
}

func TestPubDropsForSlowSubscriber(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := must(pub.New(socket.SendHWM(8)))
	good := must(sub.New(sub.Subscribe(nil)))
	closeAll(t, p, good)
	addr := must(p.Listen("tcp://127.0.0.1:0")).URL()
	must(good.Dial(addr))
	waitPipes(t, p, 1)
	goodPipe := p.PipeStats()[0].ID
	slow, err := streamtest.DialPeer(addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Handshake(sp.ProtoSub0); err != nil {
		t.Fatal(err)
	}
	waitPipes(t, p, 2)
	const n = 1500
	body := make([]byte, 16<<10)
	for i := range n {
		copy(body, fmt.Sprintf("%08d", i))
		send(t, p, string(body))
		m, err := good.RecvContext(testCtx(t))
		if err != nil {
			t.Fatalf("good subscriber, message %d: %v", i, err)
		}
		if got := string(m.Body[:8]); got != fmt.Sprintf("%08d", i) {
			t.Fatalf("good subscriber got %q, want %d", got, i)
		}
		m.Free()
	}
	st := p.Stats()
	if st.Dropped(socket.DropQueueFull) == 0 {
		t.Fatalf("no drop counted for the subscriber that does not read: %+v", st.Counters)
	}
	var sum uint64
	for _, ps := range p.PipeStats() {
		sum += ps.Dropped(socket.DropQueueFull)
		if ps.ID == goodPipe && ps.TotalDrops() != 0 {
			t.Errorf("the good subscriber's pipe dropped %d", ps.TotalDrops())
		}
		if ps.ID != goodPipe && ps.Dropped(socket.DropQueueFull) == 0 {
			t.Errorf("the slow subscriber's pipe dropped nothing")
		}
	}
	if sum != st.Dropped(socket.DropQueueFull) {
		t.Errorf("pipes dropped %d, socket counts %d", sum, st.Dropped(socket.DropQueueFull))
	}
	t.Logf("slow subscriber: %d of %d dropped", st.Dropped(socket.DropQueueFull), n)
}

func TestSurveyorLateAnswerCounted(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(surveyor.New(surveyor.SurveyTime(50 * time.Millisecond)))
	r := must(respondent.New())
	closeAll(t, s, r)
	l := must(s.Listen(testutil.URL(t, "inproc")))
	must(r.Dial(l.URL()))
	waitPipes(t, s, 1)
	send(t, s, "anyone?")
	if got := recv(t, r); got != "anyone?" {
		t.Fatalf("got %q", got)
	}
	if _, err := s.RecvContext(testCtx(t)); !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("survey over: %v, want ErrTimeout", err)
	}
	send(t, r, "too late")
	waitFor(t, "late answer counted", func() bool { return s.Stats().Dropped(socket.DropLate) == 1 })
	if st := s.Stats(); st.MessagesIn != 1 || st.TotalDrops() != 1 {
		t.Errorf("stats %+v", st.Counters)
	}
}

// heldPull is a pull0 protocol whose AddPipe waits until release is closed.
type heldPull struct {
	adding  chan struct{} // closed when AddPipe starts
	release chan struct{}
	recvq   *socket.RecvQueue
}

func (p *heldPull) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoPull0, Peer: sp.ProtoPush0, Name: "pull0", PeerName: "push0", CanRecv: true}
}
func (p *heldPull) Init(s *socket.Socket) { p.recvq = socket.NewLazyRecvQueue(s) }
func (p *heldPull) AddPipe(*socket.Pipe) error {
	close(p.adding)
	<-p.release
	return nil
}
func (p *heldPull) RemovePipe(*socket.Pipe)                    {}
func (p *heldPull) Deliver(pp *socket.Pipe, m *socket.Message) { p.recvq.Put(pp, m) }
func (p *heldPull) Send(context.Context, *socket.Message) error {
	return socket.ErrNotSupported
}
func (p *heldPull) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TestStatsPipesCountsTakenPipes: Stats counts a pipe as connected only
// once the pattern has taken it (AddPipe returned), so that a program that
// waits for Pipes before sending (a publisher waiting for its subscriber)
// does not send while the pattern cannot yet use the pipe. A PUB whose
// Stats counted the pipe before its AddPipe dropped the first message.
func TestStatsPipesCountsTakenPipes(t *testing.T) {
	testutil.CheckGoroutines(t)
	hp := &heldPull{adding: make(chan struct{}), release: make(chan struct{})}
	q := must(socket.New(hp))
	p := must(push.New())
	closeAll(t, p, q)
	url := testutil.URL(t, "inproc")
	must(q.Listen(url))
	must(p.Dial(url))
	select {
	case <-hp.adding:
	case <-time.After(timeout):
		t.Fatal("AddPipe not called")
	}
	if n := q.Stats().Pipes; n != 0 {
		t.Errorf("Stats().Pipes = %d while AddPipe runs, want 0", n)
	}
	close(hp.release)
	waitPipes(t, q, 1)
	q.Close()
	if n := q.Stats().Pipes; n != 0 {
		t.Errorf("Stats().Pipes = %d after Close, want 0", n)
	}
}

// Timeouts mean what libzmq's ZMQ_SNDTIMEO and ZMQ_RCVTIMEO (and nng's) do:
// zero does not wait (the call fails with ErrTimeout unless it can be done
// at once), a negative value waits without limit.
func TestZeroTimeoutsDoNotWait(t *testing.T) {
	testutil.CheckGoroutines(t)
	q := must(pull.New(socket.RecvTimeout(0)))
	p := must(push.New(socket.SendTimeout(0)))
	closeAll(t, q, p)
	start := time.Now()
	if _, err := q.Recv(); !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("Recv with nothing waiting: %v, want ErrTimeout", err)
	}
	if err := p.Send(socket.NewMessageBytes([]byte("x"))); !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("Send with no peer: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the two calls took %v", d)
	}
	must(p.Dial(must(q.Listen(testutil.URL(t, "inproc"))).URL()))
	socktest.WaitPipes(t, p, 1)
	if err := p.Send(socket.NewMessageBytes([]byte("now"))); err != nil {
		t.Fatalf("Send with room: %v", err)
	}
	var m *socket.Message
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if m, err = q.Recv(); err == nil {
			break
		}
	}
	if err != nil || string(m.Body) != "now" {
		t.Fatalf("Recv with a message waiting: %v %v", m, err)
	}
	// Negative: without limit, until a message comes.
	if err := q.SetOption(socket.RecvTimeout(-1)); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		p.Send(socket.NewMessageBytes([]byte("later")))
	}()
	if m, err := q.Recv(); err != nil || string(m.Body) != "later" {
		t.Fatalf("Recv without limit: %v %v", m, err)
	}
}
