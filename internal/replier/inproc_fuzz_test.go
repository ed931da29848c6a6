package replier_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
)

// Over inproc a cooked replier takes a request straight from the sender's
// goroutine (TryDeliver) and leaves what it would drop or refuse to the
// pipe's reader and Deliver; a raw replier takes everything through
// Deliver. A raw requester (req0 or surveyor0) can send it any backtrace.
// Whichever way a request goes, the outcome must be the model's, as over
// a stream.

// inprocPair returns a raw requester dialed to a replier of the kind
// (bit 1: surveys, bit 0: raw replier) over inproc, both with a pipe.
func inprocPair(t *testing.T, kind uint8, ttl int) (rq, rp *socket.Socket) {
	t.Helper()
	newReq, newRep, ttlOpt := req.NewRaw, rep.New, rep.TTL
	if kind&2 != 0 {
		newReq, newRep, ttlOpt = surveyor.NewRaw, respondent.New, respondent.TTL
		if kind&1 != 0 {
			newRep = respondent.NewRaw
		}
	} else if kind&1 != 0 {
		newRep = rep.NewRaw
	}
	var err error
	if rq, err = newReq(); err != nil {
		t.Fatal(err)
	}
	if rp, err = newRep(ttlOpt(ttl)); err != nil {
		rq.Close()
		t.Fatal(err)
	}
	l, err := rp.Listen(testutil.URL(t, "inproc"))
	if err == nil {
		_, err = rq.Dial(l.URL())
	}
	if err != nil {
		rq.Close()
		rp.Close()
		t.Fatal(err)
	}
	poll(t, "pipes", func() bool { return rq.Stats().Pipes == 1 && rp.Stats().Pipes == 1 })
	return rq, rp
}

// poll waits until cond holds.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// checkInproc sends payload (at least a word: a raw requester's header)
// from a raw requester to a fresh replier of the kind and checks the
// outcome against the model.
func checkInproc(t *testing.T, payload []byte, ttl int, kind uint8) {
	rq, rp := inprocPair(t, kind, ttl)
	defer rq.Close()
	defer rp.Close()
	n, drop, bad := model(payload, ttl)
	send := func(b []byte) {
		m := socket.NewMessageBytes(b[4:])
		m.SetHeader(b[:4])
		if err := rq.Send(m); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	send(payload)
	if bad {
		poll(t, "the pipe closed for a protocol error", func() bool { return rp.Stats().ProtocolErrors == 1 })
		if st := rp.Stats(); st.TotalDrops() != 0 {
			t.Fatalf("payload % x: drops %v as well", payload, st.Drops)
		}
		return
	}
	wantBT, wantBody := payload[:n], payload[n:]
	if drop {
		poll(t, "the request dropped for its hops", func() bool { return rp.Stats().Dropped(socket.DropTTL) == 1 })
		probe := append(streamtest.U32(0x8000002a), "probe"...)
		send(probe)
		wantBT, wantBody = probe[:4], probe[4:]
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := rp.RecvContext(ctx)
	if err != nil {
		t.Fatalf("payload % x: recv: %v", payload, err)
	}
	if !bytes.Equal(m.Body, wantBody) {
		t.Fatalf("payload % x: body %q, want %q", payload, m.Body, wantBody)
	}
	raw := kind&1 != 0
	switch {
	case raw && (len(m.Header) != 4+len(wantBT) || !bytes.Equal(m.Header[4:], wantBT)):
		t.Fatalf("payload % x: raw header % x, want a pipe id and % x", payload, m.Header, wantBT)
	case !raw && len(m.Header) != 0:
		t.Fatalf("payload % x: cooked header % x", payload, m.Header)
	}
	reply := socket.NewMessageBytes([]byte(fmt.Sprintf("reply to %x", wantBody)))
	if raw {
		reply.SetHeader(m.Header)
	}
	m.Free()
	if err := rp.SendContext(ctx, reply); err != nil {
		t.Fatalf("send reply: %v", err)
	}
	got, err := rq.RecvContext(ctx)
	if err != nil {
		t.Fatalf("payload % x: reading the reply: %v", payload, err)
	}
	defer got.Free()
	// The raw requester reads the first word as the id, the rest of the
	// backtrace in front of the body.
	wantBody = append(bytes.Clone(wantBT[4:]), fmt.Sprintf("reply to %x", wantBody)...)
	if !bytes.Equal(got.Header, wantBT[:4]) || !bytes.Equal(got.Body, wantBody) {
		t.Fatalf("payload % x: reply header % x body % x, want % x and % x", payload, got.Header, got.Body, wantBT[:4], wantBody)
	}
	if st := rp.Stats(); st.ProtocolErrors != 0 || (!drop && st.TotalDrops() != 0) {
		t.Fatalf("payload % x: %+v", payload, st.Counters)
	}
}

// FuzzInprocRequest drives rep0 and respondent0, cooked and raw, over
// inproc with one arbitrary request from a raw requester.
func FuzzInprocRequest(f *testing.F) {
	for _, sd := range seeds() {
		for _, k := range []uint8{0, 1, 2, 3} {
			f.Add(sd.payload, sd.ttl-1, k)
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte, ttl uint8, kind uint8) {
		if len(payload) < 4 {
			return // a raw requester's header is a word at least
		}
		if len(payload) > 1<<16 {
			payload = payload[:1<<16]
		}
		checkInproc(t, payload, ttlOf(ttl), kind%4)
	})
}

// TestInprocBacktraces runs the seeds over inproc.
func TestInprocBacktraces(t *testing.T) {
	testutil.CheckGoroutines(t)
	for k, name := range []string{"rep", "rep raw", "respondent", "respondent raw"} {
		for i, sd := range seeds() {
			if len(sd.payload) < 4 {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) { checkInproc(t, sd.payload, int(sd.ttl), uint8(k)) })
		}
	}
}
