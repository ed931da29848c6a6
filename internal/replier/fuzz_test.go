package replier_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// A raw peer (a requester or surveyor written by hand) sends one message
// whose payload is arbitrary; a model of rep0's backtrace rules says what the
// socket must do with it: close the pipe (no complete backtrace), drop it
// (more hops than the TTL), or hand the body to the application and put the
// backtrace back in front of the reply.

const wait = 10 * time.Second

// model returns how many bytes of b are backtrace, or whether b is dropped
// (too many hops, checked first as nng does) or breaks the protocol (ends
// inside the backtrace).
func model(b []byte, ttl int) (n int, drop, bad bool) {
	for hops := 1; ; hops++ {
		if hops > ttl {
			return 0, true, false
		}
		if len(b) < n+4 {
			return 0, false, true
		}
		word := binary.BigEndian.Uint32(b[n:])
		n += 4
		if word&0x80000000 != 0 {
			return n, false, false
		}
	}
}

// replier is one rep0 or respondent0 socket under test, listening on url.
type replier struct {
	s      *socket.Socket
	w      *streamtest.Watcher
	url    string
	raw    bool
	self   uint16 // the peer protocol the raw peer announces
	ttlOpt func(int) socket.Option
}

func newReplier(t testing.TB, surveys, raw bool, url string) *replier {
	r := &replier{raw: raw, self: sp.ProtoReq0, ttlOpt: rep.TTL}
	mk := rep.New
	switch {
	case surveys && raw:
		mk = respondent.NewRaw
	case surveys:
		mk = respondent.New
	case raw:
		mk = rep.NewRaw
	}
	if surveys {
		r.self, r.ttlOpt = sp.ProtoSurveyor0, respondent.TTL
	}
	var err error
	if r.s, err = mk(socket.RecvTimeout(wait), socket.SendTimeout(wait)); err != nil {
		t.Fatal(err)
	}
	r.w = streamtest.Watch(r.s)
	l, err := r.s.Listen(url)
	if err != nil {
		t.Fatal(err)
	}
	r.url = l.URL()
	return r
}

// check sends payload through a fresh connection and checks the outcome
// against the model.
func (r *replier) check(t *testing.T, payload []byte, ttl int) {
	if err := r.s.SetOption(r.ttlOpt(ttl)); err != nil {
		t.Fatal(err)
	}
	n, drop, bad := model(payload, ttl)
	before := r.s.Stats()
	from := r.w.Len()
	p, err := streamtest.DialPeer(r.url, wait)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Handshake(r.self); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if err := p.WriteMsg(payload); err != nil {
		t.Fatal(err)
	}
	if bad {
		e, err := r.w.Wait(from, wait, streamtest.Ends(p.Remote))
		if err != nil {
			t.Fatal(err)
		}
		if e.Type != socket.EventDisconnected || !errors.Is(e.Err, socket.ErrProtocol) {
			t.Fatalf("payload % x: %v, want a disconnect for a protocol error", payload, e)
		}
		if err := p.WaitClosed(wait); err != nil {
			t.Fatal(err)
		}
		if d := r.s.Stats().ProtocolErrors - before.ProtocolErrors; d != 1 {
			t.Fatalf("ProtocolErrors +%d", d)
		}
		return
	}
	wantBT, wantBody := payload[:n], payload[n:]
	if drop {
		// A probe behind it shows that the first was dropped, not queued.
		probe := append(streamtest.U32(0x8000002a), "probe"...)
		if err := p.WriteMsg(probe); err != nil {
			t.Fatal(err)
		}
		wantBT, wantBody = probe[:4], probe[4:]
	}
	m, err := r.s.RecvContext(context.Background())
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if !bytes.Equal(m.Body, wantBody) {
		t.Fatalf("payload % x: body %q, want %q", payload, m.Body, wantBody)
	}
	if r.raw {
		// Raw: the pipe id, then the backtrace, in the header.
		if len(m.Header) != 4+len(wantBT) || !bytes.Equal(m.Header[4:], wantBT) {
			t.Fatalf("raw header % x, want a pipe id and % x", m.Header, wantBT)
		}
		if id := binary.BigEndian.Uint32(m.Header); id&0x80000000 != 0 || socket.PipeID(id) != m.Pipe {
			t.Fatalf("raw header pipe id %#x, message from pipe %#x", id, m.Pipe)
		}
	} else if len(m.Header) != 0 {
		t.Fatalf("cooked header % x", m.Header)
	}
	reply := socket.NewMessageBytes([]byte(fmt.Sprintf("reply to %x", wantBody)))
	if r.raw {
		reply.SetHeader(m.Header)
	}
	m.Free()
	if err := r.s.Send(reply); err != nil {
		t.Fatalf("send reply: %v", err)
	}
	got, err := p.ReadMsg(1 << 20)
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	if want := append(bytes.Clone(wantBT), fmt.Sprintf("reply to %x", wantBody)...); !bytes.Equal(got, want) {
		t.Fatalf("reply % x, want % x", got, want)
	}
	p.Close()
	e, err := r.w.Wait(from, wait, streamtest.Ends(p.Remote))
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != socket.EventDisconnected || e.Err != nil {
		t.Fatalf("end of a good connection: %v", e)
	}
	after := r.s.Stats()
	wantDrops, wantIn := uint64(0), uint64(1)
	if drop {
		wantDrops, wantIn = 1, 2
	}
	if d := after.Dropped(socket.DropTTL) - before.Dropped(socket.DropTTL); d != wantDrops {
		t.Fatalf("DropTTL +%d, want +%d", d, wantDrops)
	}
	if d := after.MessagesIn - before.MessagesIn; d != wantIn {
		t.Fatalf("MessagesIn +%d, want +%d", d, wantIn)
	}
	if after.ProtocolErrors != before.ProtocolErrors {
		t.Fatalf("a protocol error counted")
	}
}

// seeds are payloads worth checking: ids, hops, TTLs and truncations.
func seeds() (out []struct {
	payload []byte
	ttl     uint8
}) {
	id := streamtest.U32(0x80000001)
	hop := streamtest.U32(3)
	add := func(ttl uint8, parts ...[]byte) {
		out = append(out, struct {
			payload []byte
			ttl     uint8
		}{bytes.Join(parts, nil), ttl})
	}
	add(8, id, []byte("request"))
	add(8, id)
	add(8, hop, hop, id, []byte("two devices away"))
	add(8, bytes.Repeat(hop, 7), id, []byte("at the ttl"))
	add(8, bytes.Repeat(hop, 8), id, []byte("one hop over"))
	add(1, id, []byte("ttl 1"))
	add(1, hop, id, []byte("ttl 1, one hop"))
	add(15, bytes.Repeat(hop, 14), id)
	add(15, bytes.Repeat(hop, 15), id)
	add(8, bytes.Repeat(hop, 40), id)
	add(8, nil)
	add(8, []byte{0x80})
	add(8, []byte{0x80, 0, 0})
	add(8, hop)
	add(8, hop, []byte{0x80, 0})
	add(8, bytes.Repeat(hop, 7))
	add(8, bytes.Repeat(hop, 8))         // cut short past the TTL: dropped, not closed
	add(2, hop, hop, []byte{0x80, 0, 0}) // the same, mid-word
	add(8, streamtest.U32(0xffffffff), []byte("all ones"))
	add(8, streamtest.U32(0x7fffffff), streamtest.U32(0x80000000))
	return out
}

// ttlOf maps a fuzzed byte to a valid TTL (1 to 15).
func ttlOf(b uint8) int { return 1 + int(b%15) }

// FuzzBacktrace drives rep0 and respondent0, cooked and raw, with one
// arbitrary request per connection.
func FuzzBacktrace(f *testing.F) {
	for _, sd := range seeds() {
		for _, k := range []uint8{0, 1, 2, 3} {
			f.Add(sd.payload, sd.ttl-1, k)
		}
	}
	var rs [4]*replier
	for k := range rs {
		rs[k] = newReplier(f, k&2 != 0, k&1 != 0, streamtest.URL(k&1 != 0))
		f.Cleanup(func() { rs[k].s.Close() })
	}
	f.Fuzz(func(t *testing.T, payload []byte, ttl uint8, kind uint8) {
		if len(payload) > 1<<16 {
			payload = payload[:1<<16]
		}
		rs[kind%4].check(t, payload, ttlOf(ttl))
	})
}

// TestBacktraceOverTCPAndIPC runs the seeds through real connections.
func TestBacktraceOverTCPAndIPC(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc"} {
		for k, name := range []string{"rep", "rep raw", "respondent", "respondent raw"} {
			t.Run(tr+"/"+name, func(t *testing.T) {
				t.Parallel()
				r := newReplier(t, k&2 != 0, k&1 != 0, testutil.URL(t, tr))
				defer r.s.Close()
				for i, sd := range seeds() {
					t.Run(fmt.Sprint(i), func(t *testing.T) { r.check(t, sd.payload, int(sd.ttl)) })
				}
			})
		}
	}
}
