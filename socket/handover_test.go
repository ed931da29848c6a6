package socket_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
)

// Over inproc, requests and replies (and surveys and answers) go straight
// to the receiving pattern on the sender's goroutine (TryDeliver), and
// what that pattern cannot take as it is goes the usual way: through the
// pipe's queue to Deliver.

// inprocConnect has d dial an inproc listener of l and waits for the pipe.
func inprocConnect(t *testing.T, l, d *socket.Socket) {
	t.Helper()
	ln := must(l.Listen(testutil.URL(t, "inproc")))
	must(d.Dial(ln.URL()))
	waitPipes(t, l, 1)
	waitPipes(t, d, 1)
}

// headerWords returns the header of big-endian words ws.
func headerWords(ws ...uint32) []byte {
	var h []byte
	for _, w := range ws {
		h = binary.BigEndian.AppendUint32(h, w)
	}
	return h
}

// requesterCase is a requester (a) and replier (b) pair of constructors.
type requesterCase struct {
	name string
	a, b func(...socket.Option) (*socket.Socket, error)
}

func TestInprocRequestsAndRepliesHandedOver(t *testing.T) {
	for _, tc := range []requesterCase{
		{"req-rep", req.New, rep.New},
		{"surveyor-respondent", surveyor.New, respondent.New},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			a, b := must(tc.a()), must(tc.b())
			closeAll(t, a, b)
			inprocConnect(t, b, a)
			const n = 100
			for i := range n {
				send(t, a, fmt.Sprint("q", i))
				if got := recv(t, b); got != fmt.Sprint("q", i) {
					t.Fatalf("request %d: %q", i, got)
				}
				send(t, b, fmt.Sprint("a", i))
				if got := recv(t, a); got != fmt.Sprint("a", i) {
					t.Fatalf("reply %d: %q", i, got)
				}
			}
			// All of them, as a rule; a few may go the usual way while
			// the pipes start.
			if got := socket.HandedOver(a); got < n*9/10 {
				t.Errorf("requests handed over: %d of %d", got, n)
			}
			if got := socket.HandedOver(b); got < n*9/10 {
				t.Errorf("replies handed over: %d of %d", got, n)
			}
		})
	}
}

// TestInprocRepFullQueueRequestersWait: requesters whose requests find the
// replier's queue full wait for room, and every request is answered; a
// raw replier gets each with its pipe id and request id as the header.
func TestInprocRepFullQueueRequestersWait(t *testing.T) {
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprint("raw=", raw), func(t *testing.T) {
			testutil.CheckGoroutines(t)
			newRep := rep.New
			if raw {
				newRep = rep.NewRaw
			}
			rq := must(req.New(socket.SendHWM(1)))
			rp := must(newRep(socket.RecvHWM(2)))
			closeAll(t, rq, rp)
			inprocConnect(t, rp, rq)
			const n = 32
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					c := must(req.NewContext(rq))
					want := fmt.Sprint("req", i)
					if err := c.Send(testCtx(t), socket.NewMessageBytes([]byte(want))); err != nil {
						t.Error(err)
						return
					}
					m, err := c.Recv(testCtx(t))
					if err != nil {
						t.Error(err)
						return
					}
					if string(m.Body) != want {
						t.Errorf("context %d got %q", i, m.Body)
					}
					m.Free()
				})
			}
			time.Sleep(20 * time.Millisecond) // let the queue fill
			for range n {
				m := must(rp.RecvContext(testCtx(t)))
				if raw && (len(m.Header) != 8 || m.Header[4]&0x80 == 0) {
					t.Fatalf("raw header % x, want a pipe id and a request id", m.Header)
				}
				if err := rp.SendContext(testCtx(t), m); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			for _, s := range []*socket.Socket{rq, rp} {
				if st := s.Stats(); st.TotalDrops() != 0 || st.ProtocolErrors != 0 {
					t.Errorf("%+v", st.Counters)
				}
			}
		})
	}
}

// TestInprocRawFullQueueKeepsReplies: replies that find a raw requester's
// queue full wait for room, and arrive whole and in order.
func TestInprocRawFullQueueKeepsReplies(t *testing.T) {
	for _, tc := range []requesterCase{
		{"req-rep", req.NewRaw, rep.New},
		{"surveyor-respondent", surveyor.NewRaw, respondent.New},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			a := must(tc.a(socket.RecvHWM(1)))
			b := must(tc.b(socket.SendHWM(1)))
			closeAll(t, a, b)
			inprocConnect(t, b, a)
			const n = 16
			for i := range n {
				m := socket.NewMessageBytes([]byte(fmt.Sprint("q", i)))
				m.SetHeader(headerWords(0x80000000 | uint32(i)))
				if err := a.SendContext(testCtx(t), m); err != nil {
					t.Fatal(err)
				}
			}
			answered := make(chan error, 1)
			go func() {
				for i := range n {
					m, err := b.RecvContext(testCtx(t))
					if err == nil {
						m.Body = fmt.Appendf(m.Body[:0], "a%d", i)
						err = b.SendContext(testCtx(t), m)
					}
					if err != nil {
						answered <- err
						return
					}
				}
				answered <- nil
			}()
			time.Sleep(20 * time.Millisecond) // let the queue fill
			for i := range n {
				m := must(a.RecvContext(testCtx(t)))
				if string(m.Header) != string(headerWords(0x80000000|uint32(i))) || string(m.Body) != fmt.Sprint("a", i) {
					t.Fatalf("reply %d: header %x body %q", i, m.Header, m.Body)
				}
				m.Free()
			}
			if err := <-answered; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestInprocBadRequestsAndRepliesGoToDeliver: what the hand-over leaves
// alone gets Deliver's treatment: a request past the TTL is dropped, one
// with a cut backtrace closes its pipe, and so does a reply without a
// request id.
func TestInprocBadRequestsAndRepliesGoToDeliver(t *testing.T) {
	testutil.CheckGoroutines(t)
	rq := must(req.NewRaw())
	rp := must(rep.New())
	closeAll(t, rq, rp)
	inprocConnect(t, rp, rq)
	sendRaw := func(h []byte, body string) {
		t.Helper()
		m := socket.NewMessageBytes([]byte(body))
		m.SetHeader(h)
		if err := rq.SendContext(testCtx(t), m); err != nil {
			t.Fatal(err)
		}
	}

	// Nine words: eight hops and the id, one hop past the default TTL.
	sendRaw(headerWords(1, 2, 3, 4, 5, 6, 7, 8, 0x80000001), "too far")
	waitFor(t, "the request past the TTL dropped", func() bool { return rp.Stats().Dropped(socket.DropTTL) == 1 })
	sendRaw(headerWords(0x80000002), "ok")
	if got := recv(t, rp); got != "ok" {
		t.Fatalf("request %q", got)
	}
	send(t, rp, "fine")
	if got := recv(t, rq); got != "fine" {
		t.Fatalf("reply %q", got)
	}

	// A hop word with nothing after it: no request id.
	sendRaw(headerWords(3), "")
	waitFor(t, "the cut request's pipe closed", func() bool { return rp.Stats().ProtocolErrors == 1 })

	// A raw REP whose reply has no backtrace sends no request id.
	rq2 := must(req.New())
	rp2 := must(rep.NewRaw())
	closeAll(t, rq2, rp2)
	inprocConnect(t, rp2, rq2)
	send(t, rq2, "hello")
	m := must(rp2.RecvContext(testCtx(t)))
	m.SetHeader(m.Header[:4]) // the pipe id only
	m.Body = m.Body[:2]
	if err := rp2.SendContext(testCtx(t), m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply without an id closed its pipe", func() bool { return rq2.Stats().ProtocolErrors == 1 })
}

// sendAll sends n messages made by mk on s from a goroutine of its own;
// the channel gets the first error, or nil once all went.
func sendAll(t *testing.T, s *socket.Socket, n int, mk func(i int) *socket.Message) <-chan error {
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			if err := s.SendContext(testCtx(t), mk(i)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	return sent
}

// frames returns m's frames as strings, and frees m.
func frames(m *socket.Message) []string {
	defer m.Free()
	fs := []string{string(m.Body)}
	for _, f := range m.Frames {
		fs = append(fs, string(f))
	}
	return fs
}

// multipart returns a message of the frames fs.
func multipart(fs ...string) *socket.Message {
	m := socket.NewMessageBytes([]byte(fs[0]))
	for _, f := range fs[1:] {
		m.Frames = append(m.Frames, []byte(f))
	}
	return m
}

// TestInprocRouterTakesHandOvers: a DEALER's messages reach a ROUTER's
// queue straight, the routing id in front; when the queue is full they
// wait, and arrive whole and in order.
func TestInprocRouterTakesHandOvers(t *testing.T) {
	testutil.CheckGoroutines(t)
	d := must(dealer.New(socket.SendHWM(1)))
	r := must(router.New(socket.RecvHWM(1)))
	closeAll(t, d, r)
	inprocConnect(t, r, d)
	const n = 16
	sent := sendAll(t, d, n, func(i int) *socket.Message { return multipart(fmt.Sprint("m", i), "x") })
	time.Sleep(20 * time.Millisecond) // let the queue fill
	var id string
	for i := range n {
		got := frames(must(r.RecvContext(testCtx(t))))
		if i == 0 {
			id = got[0]
		}
		if len(got) != 3 || got[0] != id || got[1] != fmt.Sprint("m", i) || got[2] != "x" {
			t.Fatalf("message %d: %q", i, got)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := d.SendContext(testCtx(t), multipart(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
		if got := frames(must(r.RecvContext(testCtx(t)))); fmt.Sprint(got) != fmt.Sprint([]string{id, fmt.Sprint("m", i)}) {
			t.Fatalf("message %d: %q", i, got)
		}
	}
	if got := socket.HandedOver(d); got < n*9/10 {
		t.Errorf("handed over: %d of at least %d", got, n)
	}
}

// TestInprocPair1TakesHandOvers: pair1 messages reach the peer's queue
// straight, their hop count taken off (or, raw, in the header); when the
// queue is full they wait, and arrive whole and in order.
func TestInprocPair1TakesHandOvers(t *testing.T) {
	testutil.CheckGoroutines(t)
	a := must(pair1.New(socket.SendHWM(1)))
	b := must(pair1.NewRaw(socket.RecvHWM(1)))
	closeAll(t, a, b)
	inprocConnect(t, b, a)
	const n = 16
	sent := sendAll(t, a, n, func(i int) *socket.Message { return socket.NewMessageBytes([]byte(fmt.Sprint("m", i))) })
	time.Sleep(20 * time.Millisecond) // let the queue fill
	for i := range n {
		m := must(b.RecvContext(testCtx(t)))
		if string(m.Header) != string(headerWords(1)) || string(m.Body) != fmt.Sprint("m", i) {
			t.Fatalf("message %d: header %x body %q", i, m.Header, m.Body)
		}
		m.Free()
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got := socket.HandedOver(a); got == 0 {
		t.Error("nothing handed over")
	}
}

// TestInprocEnvelopesNoAllocs: over inproc, a REQ's requests to a ROUTER
// (which echoes them) and a DEALER's to a REP, translated by the pipes
// between the SP header words and ZeroMQ's envelope frames, cost no
// allocation a round trip, as within one family (issue 4: none on
// inproc). Both the REQ that remembers its ids in order and the one that
// sends them as frames (req.Correlate).
func TestInprocEnvelopesNoAllocs(t *testing.T) {
	echo := func(ctx context.Context, t *testing.T, s *socket.Socket, frames int) func() {
		return func() {
			m, err := s.RecvContext(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Frames) != frames {
				t.Fatalf("%d frames behind the first, want %d", len(m.Frames), frames)
			}
			if err := s.SendContext(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name   string
		ends   func() (client, server *socket.Socket)
		frames int // behind the first, as the server sees a request
	}{
		{"req-router", func() (*socket.Socket, *socket.Socket) { return must(req.New()), must(router.New()) }, 2},
		{"req-router-correlate", func() (*socket.Socket, *socket.Socket) { return must(req.New(req.Correlate(true))), must(router.New()) }, 3},
		{"dealer-rep", func() (*socket.Socket, *socket.Socket) { return must(dealer.New()), must(rep.New()) }, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client, server := c.ends()
			closeAll(t, client, server)
			inprocConnect(t, server, client)
			ctx := testCtx(t)
			serve := echo(ctx, t, server, c.frames)
			op := func() {
				m := socket.NewMessageBytes([]byte("request"))
				if client.Info().Name == "dealer" {
					m.PushFrame(nil) // the delimiter a REP wants in front
				}
				if err := client.SendContext(ctx, m); err != nil {
					t.Fatal(err)
				}
				serve()
				r, err := client.RecvContext(ctx)
				if err != nil {
					t.Fatal(err)
				}
				body := r.Body
				if len(r.Frames) > 0 {
					body = r.Frames[len(r.Frames)-1]
				}
				if string(body) != "request" {
					t.Fatalf("reply %q", body)
				}
				r.Free()
			}
			for range 100 {
				op()
			}
			testutil.AllocsBelow(t, 1000, 0.05, "per round trip", op)
		})
	}
}
