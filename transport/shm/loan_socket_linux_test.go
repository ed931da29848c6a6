package shm_test

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

// body returns n bytes that say which message they belong to.
func body(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*7 + j)
	}
	return b
}

func dialOpts(dialect string) []socket.Option {
	if dialect == "zmtp" {
		return []socket.Option{socket.DialDialect(socket.DialectZMTP)}
	}
	return nil
}

// TestSocketLoans: large bodies between sockets go by loan and arrive as
// loaned messages with the right bytes, small ones inline, in order; a
// loan goes back whether the receiver frees the message, detaches it or
// just drops it, so that many more large messages than there are slots
// keep going by loan.
func TestSocketLoans(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			r := must(pull.New())
			url := listen(t, r)
			s := must(push.New(dialOpts(d)...))
			defer s.Close()
			must(s.Dial(url))
			sizes := []int{1 << 20, 1000, 100 << 10, 64 << 10, 64<<10 - 1}
			const n = 60
			go func() {
				for i := range n {
					if err := s.SendContext(ctx(t), socket.NewMessageBytes(body(i, sizes[i%len(sizes)]))); err != nil {
						t.Errorf("send %d: %v", i, err)
						return
					}
				}
			}()
			loaned := 0
			var kept []*socket.Message
			for i := range n {
				m, err := r.RecvContext(ctx(t))
				if err != nil {
					t.Fatalf("recv %d: %v", i, err)
				}
				size := sizes[i%len(sizes)]
				if !bytes.Equal(m.Body, body(i, size)) {
					t.Fatalf("message %d: %d bytes, not the %d sent", i, len(m.Body), size)
				}
				if m.Loaned() {
					loaned++
					if size < 64<<10 {
						t.Errorf("message %d of %d bytes was loaned", i, size)
					}
				}
				switch i % 3 {
				case 0:
					m.Free()
				case 1:
					m.Detach()
					if m.Loaned() {
						t.Fatal("still loaned after Detach")
					}
					kept = append(kept, m)
				default:
					// Dropped: the collector gives the loan back.
					runtime.GC()
				}
			}
			// A sender that finds no free slot sends inline (it never
			// waits for one), so not every large message need be loaned.
			if loaned == 0 {
				t.Errorf("no message loaned")
			}
			// Once everything is freed, detached or collected, the slots
			// are free again: the next large message goes by loan.
			runtime.GC()
			runtime.GC()
			deadline := time.Now().Add(timeout)
			for {
				if err := s.SendContext(ctx(t), socket.NewMessageBytes(body(1, 1<<20))); err != nil {
					t.Fatal(err)
				}
				m := must(r.RecvContext(ctx(t)))
				ok := m.Loaned() && bytes.Equal(m.Body, body(1, 1<<20))
				m.Free()
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("large messages no longer go by loan")
				}
				time.Sleep(10 * time.Millisecond)
			}
			for i, m := range kept { // detached copies stay intact
				if len(m.Body) == 0 || m.Body[0] != body(3*i+1, 1)[0] {
					t.Fatalf("detached message %d changed", 3*i+1)
				}
			}
			if st := r.Stats(); st.Drops[socket.DropClosed] != 0 || st.ProtocolErrors != 0 {
				t.Errorf("stats: %+v", st.Counters)
			}
		})
	}
}

// TestSocketLoanEcho: a REP echoes a loaned 1 MiB request as its reply,
// which goes back by loan, both dialects (SP header words and ZMTP's
// envelope around the loaned frame).
func TestSocketLoanEcho(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			// SP's request id takes a 1 MiB request past the default
			// 1 MiB limit.
			server := must(rep.New(socket.MaxRecvSize(2 << 20)))
			url := listen(t, server)
			client := must(req.New(append(dialOpts(d), socket.MaxRecvSize(2<<20))...))
			defer client.Close()
			must(client.Dial(url))
			go func() {
				for {
					m, err := server.Recv()
					if err != nil {
						return
					}
					if !m.Loaned() {
						t.Errorf("request not loaned")
					}
					if err := server.Send(m); err != nil {
						return
					}
				}
			}()
			for i := range 20 {
				want := body(i, 1<<20)
				if err := client.SendContext(ctx(t), socket.NewMessageBytes(want)); err != nil {
					t.Fatal(err)
				}
				m, err := client.RecvContext(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				if !m.Loaned() || !bytes.Equal(m.Body, want) {
					t.Fatalf("reply %d: loaned %v, %d bytes, equal %v", i, m.Loaned(), len(m.Body), bytes.Equal(m.Body, want))
				}
				m.Free()
			}
			b, err := func() ([]byte, error) {
				if err := client.SendContext(ctx(t), socket.NewMessageBytes(body(99, 1<<20))); err != nil {
					return nil, err
				}
				client.SetOption(socket.RecvTimeout(timeout))
				return client.RecvBytes()
			}()
			if err != nil || !bytes.Equal(b, body(99, 1<<20)) {
				t.Fatalf("RecvBytes: %v", err)
			}
		})
	}
}

// TestReadThroughShm: REQ and REP over shm read and write through on the
// application's goroutines (no hand-off to the pipe's goroutines for small
// messages), and requests and replies of every size arrive whole, large
// ones still by loan, in both dialects.
func TestReadThroughShm(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			server := must(rep.New())
			url := listen(t, server)
			client := must(req.New(dialOpts(d)...))
			defer client.Close()
			must(client.Dial(url))
			go func() {
				for {
					m, err := server.Recv()
					if err != nil {
						return
					}
					m.Body = append(m.Body, '!')
					if err := server.Send(m); err != nil {
						return
					}
				}
			}()
			sizes := []int{0, 64, 1000, 16 << 10, 64<<10 - 8, 100 << 10, 1<<20 - 16, 64} // within the default MaxRecvSize with the header
			for i := range 400 {
				b := body(i, sizes[i%len(sizes)])
				if err := client.SendContext(ctx(t), socket.NewMessageBytes(b)); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
				m, err := client.RecvContext(ctx(t))
				if err != nil {
					t.Fatalf("recv %d: %v", i, err)
				}
				if !bytes.Equal(m.Body, append(b, '!')) {
					t.Fatalf("round trip %d: %d bytes back, want %d", i, len(m.Body), len(b)+1)
				}
				m.Free()
			}
		})
	}
}

// TestLoanedRecvNoAllocs: a large body sent by loan, received as a loaned
// message and freed costs no allocation once the pools are warm: the
// message and its loan's holder come back from a pool of their own, and
// the loan is named by a token, not a closure.
func TestLoanedRecvNoAllocs(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			r := must(pull.New())
			url := listen(t, r)
			s := must(push.New(dialOpts(d)...))
			defer s.Close()
			must(s.Dial(url))
			const size = 64 << 10
			loaned := 0
			op := func() {
				if err := s.Send(socket.NewMessage(size)); err != nil {
					t.Fatal(err)
				}
				m, err := r.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Body) != size {
					t.Fatalf("received %d bytes, sent %d", len(m.Body), size)
				}
				if m.Loaned() {
					loaned++
				}
				m.Free()
			}
			for range 1000 { // pools, buffers and slots warm
				op()
			}
			if loaned < 900 {
				t.Fatalf("%d of 1000 bodies came by loan", loaned)
			}
			testutil.AllocsBelow(t, 1000, 0.5, "per loaned message sent, received and freed", op)
		})
	}
}

// A loaned request and its reply cost no allocation either: the header
// words REP takes off a loaned body (an SP request id) and puts back on
// its reply, and the routing id a ROUTER puts in front of one, are kept in
// the loan's holder, where a loaned message has no pooled buffer for them.
func TestLoanedRequestsNoAllocs(t *testing.T) {
	cases := []struct {
		name, dialect string
		server        func(...socket.Option) (*socket.Socket, error)
	}{{"sp", "sp", rep.New}, {"zmtp", "zmtp", rep.New}, {"zmtp-router", "zmtp", router.New}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			server := must(c.server())
			url := listen(t, server)
			client := must(req.New(dialOpts(c.dialect)...))
			defer client.Close()
			must(client.Dial(url))
			const size = 64 << 10
			loaned := 0
			op := func() {
				if err := client.Send(socket.NewMessage(size)); err != nil {
					t.Fatal(err)
				}
				m, err := server.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if m.Loaned() {
					loaned++
				}
				if err := server.Send(m); err != nil { // the request back as the reply
					t.Fatal(err)
				}
				if m, err = client.Recv(); err != nil {
					t.Fatal(err)
				}
				if len(m.Body) != size {
					t.Fatalf("reply of %d bytes, sent %d", len(m.Body), size)
				}
				m.Free()
			}
			for range 1000 {
				op()
			}
			if loaned < 900 {
				t.Fatalf("%d of 1000 requests came by loan", loaned)
			}
			testutil.AllocsBelow(t, 1000, 0.5, "per loaned round trip", op)
		})
	}
}
