package device_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/device"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

// streamer is a PULL frontend and a PUSH backend with a PUSH feeding the
// one and a PULL draining the other, all over inproc.
type streamer struct{ front, back, in, out *socket.Socket }

func newStreamer(t *testing.T) streamer {
	s := streamer{must(pull.New()), must(push.New()), must(push.New()), must(pull.New())}
	t.Cleanup(func() {
		for _, x := range []*socket.Socket{s.front, s.back, s.in, s.out} {
			x.Close()
		}
	})
	for i, p := range [][2]*socket.Socket{{s.front, s.in}, {s.back, s.out}} {
		must(p[1].Dial(must(p[0].Listen(fmt.Sprintf("inproc://%s-%d", t.Name(), i))).URL()))
	}
	return s
}

func (s streamer) send(t *testing.T, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.in.SendContext(ctx, socket.NewMessageBytes([]byte(body))); err != nil {
		t.Fatal(err)
	}
}

// recv returns the next message out of the proxy, or "" if none comes
// within d.
func (s streamer) recv(d time.Duration) string {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := s.out.RecvContext(ctx)
	if err != nil {
		return ""
	}
	defer m.Free()
	return string(m.Body)
}

// command sends cmd on the control client and returns the answer's eight
// counts, or nil for an empty answer; wantAnswer false reads none.
func command(t *testing.T, c *socket.Socket, cmd string, wantAnswer bool) []uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.SendContext(ctx, socket.NewMessageBytes([]byte(cmd))); err != nil {
		t.Fatal(err)
	}
	if !wantAnswer {
		return nil
	}
	m, err := c.RecvContext(ctx)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	defer m.Free()
	b := append([]byte(nil), m.Body...)
	for _, f := range m.Frames {
		b = append(b, f...)
	}
	if len(b) == 0 {
		return nil
	}
	if len(b) != 64 || len(m.Frames) != 0 && len(m.Frames) != 7 {
		t.Fatalf("%s answered %d bytes in %d frames", cmd, len(b), 1+len(m.Frames))
	}
	counts := make([]uint64, 8)
	for i := range counts {
		counts[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return counts
}

// wantStatistics asks for STATISTICS until the answer is want, for up to
// 5 s: the proxy counts a message as received once it has taken it from
// its socket, which may be after the sender's Send has returned.
func wantStatistics(t *testing.T, client *socket.Socket, want ...uint64) {
	t.Helper()
	var got []uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if got = command(t, client, "STATISTICS", true); fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
	}
	t.Errorf("statistics: %v, want %v", got, want)
}

// A PAIR control socket, as libzmq's proxy is often steered over inproc:
// PAUSE holds messages (none is lost), RESUME lets them through in order,
// STATISTICS counts them (as eight frames), TERMINATE ends the proxy with
// nil; only STATISTICS is answered.
func TestProxySteerablePair(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := newStreamer(t)
	control, client := must(pair.New()), must(pair.New())
	defer control.Close()
	defer client.Close()
	must(client.Dial(must(control.Listen("inproc://" + t.Name() + "-control")).URL()))
	done := make(chan error, 1)
	go func() { done <- device.ProxySteerable(context.Background(), s.front, s.back, nil, control) }()

	s.send(t, "a")
	if got := s.recv(5 * time.Second); got != "a" {
		t.Fatalf("before PAUSE: %q", got)
	}
	command(t, client, "PAUSE", false)
	command(t, client, "STATISTICS", true) // answered after PAUSE took effect
	for _, b := range []string{"b", "c", "d"} {
		s.send(t, b)
	}
	if got := s.recv(200 * time.Millisecond); got != "" {
		t.Fatalf("paused, yet %q came through", got)
	}
	got := command(t, client, "STATISTICS", true)
	// The frontend may have taken one message, which the proxy holds.
	if got[0] < 1 || got[0] > 2 || got[1] != got[0] || got[6] != 1 || got[7] != 1 || got[2]+got[3]+got[4]+got[5] != 0 {
		t.Errorf("statistics while paused: %v", got)
	}
	command(t, client, "NONSENSE", false) // ignored
	command(t, client, "RESUME", false)
	for _, want := range []string{"b", "c", "d"} {
		if got := s.recv(5 * time.Second); got != want {
			t.Fatalf("after RESUME: %q, want %q", got, want)
		}
	}
	wantStatistics(t, client, 4, 4, 0, 0, 0, 0, 4, 4)
	command(t, client, "TERMINATE", false)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ended with %v after TERMINATE", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("TERMINATE did not end the proxy")
	}
}

// A REP control socket is answered after every command, as REP requires,
// over SP too, where the counts come as one 64-byte body.
func TestProxySteerableREP(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := newStreamer(t)
	control, client := must(rep.New()), must(req.New())
	defer control.Close()
	defer client.Close()
	must(client.Dial(must(control.Listen("tcp://127.0.0.1:0")).URL()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- device.ProxySteerable(ctx, s.front, s.back, nil, control) }()
	s.send(t, "hello")
	if got := s.recv(5 * time.Second); got != "hello" {
		t.Fatalf("through the proxy: %q", got)
	}
	for _, cmd := range []string{"PAUSE", "RESUME", "what?"} {
		if got := command(t, client, cmd, true); got != nil {
			t.Errorf("%s answered %v, want an empty message", cmd, got)
		}
	}
	wantStatistics(t, client, 1, 5, 0, 0, 0, 0, 1, 5)
	cancel() // the proxy also ends with its context
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("ended with %v, want context.Canceled", err)
	}
}

// The control socket's close ends the proxy; a control socket that cannot
// receive is refused.
func TestProxySteerableChecks(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := newStreamer(t)
	control := must(pair.New())
	done := make(chan error, 1)
	go func() { done <- device.ProxySteerable(context.Background(), s.front, s.back, nil, control) }()
	time.Sleep(10 * time.Millisecond)
	control.Close()
	select {
	case err := <-done:
		if !errors.Is(err, socket.ErrClosed) {
			t.Errorf("ended with %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the control socket's close did not end the proxy")
	}
	deaf := must(push.New())
	defer deaf.Close()
	if err := device.ProxySteerable(context.Background(), s.front, s.back, nil, deaf); !errors.Is(err, socket.ErrNotSupported) {
		t.Errorf("a PUSH control socket: %v, want ErrNotSupported", err)
	}
}

// A reply the frontend refuses (a RouterMandatory ROUTER whose client has
// gone) is dropped, and STATISTICS does not count it as sent: the proxy
// counts a message just before sending it and takes it back when it did
// not go.
func TestProxySteerableCountsNoDrops(t *testing.T) {
	testutil.CheckGoroutines(t)
	front := must(router.New(router.RouterMandatory(true)))
	back := must(dealer.New())
	defer front.Close()
	defer back.Close()
	fl := must(front.Listen(testutil.URL(t, "tcp")))
	worker := must(rep.New(socket.DialDialect(socket.DialectZMTP)))
	defer worker.Close()
	must(worker.Dial(must(back.Listen(testutil.URL(t, "tcp"))).URL()))
	control, steer := must(pair.New()), must(pair.New())
	defer control.Close()
	defer steer.Close()
	must(steer.Dial(must(control.Listen("inproc://" + t.Name() + "-control")).URL()))
	done := make(chan error, 1)
	go func() { done <- device.ProxySteerable(context.Background(), front, back, nil, control) }()

	// One request whose client goes before its reply comes back...
	gone := must(req.New(socket.DialDialect(socket.DialectZMTP)))
	must(gone.Dial(fl.URL()))
	if err := gone.SendContext(recvCtx(t), socket.NewMessageBytes([]byte("dropped"))); err != nil {
		t.Fatal(err)
	}
	m, err := worker.RecvContext(recvCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	for deadline := time.Now().Add(5 * time.Second); front.Stats().Pipes > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the ROUTER kept the gone client's connection")
		}
	}
	if err := worker.SendContext(recvCtx(t), m); err != nil {
		t.Fatal(err)
	}
	// ...and one of the same shape that is answered.
	client := must(req.New(socket.DialDialect(socket.DialectZMTP)))
	defer client.Close()
	must(client.Dial(fl.URL()))
	if err := client.SendContext(recvCtx(t), socket.NewMessageBytes([]byte("answers"))); err != nil {
		t.Fatal(err)
	}
	if m, err = worker.RecvContext(recvCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := worker.SendContext(recvCtx(t), m); err != nil {
		t.Fatal(err)
	}
	if r, err := client.RecvContext(recvCtx(t)); err != nil || string(r.Body) != "answers" {
		t.Fatalf("client got %v, %v", r, err)
	}

	// The backend received two replies; the frontend sent one, half of
	// their parts and bytes.
	var got []uint64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		got = command(t, steer, "STATISTICS", true)
		if got[4] > 0 && got[4] == 2*got[2] && got[5] == 2*got[3] || time.Now().After(deadline) {
			break
		}
	}
	if got[2] == 0 || got[4] != 2*got[2] || got[5] != 2*got[3] {
		t.Errorf("statistics: %v: want the frontend's sent parts and bytes half the backend's received", got)
	}
	command(t, steer, "TERMINATE", false)
	if err := <-done; err != nil {
		t.Errorf("ended with %v after TERMINATE", err)
	}
}
