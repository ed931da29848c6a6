package pair1_test

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
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// A hand-written pair1 peer sends one message whose payload is arbitrary.
// pair1's rules: a payload shorter than the 4-byte hop count, or a count
// above 255, closes the pipe; a count above the TTL drops the message;
// otherwise the body arrives (raw sockets keep the count in the header).
// What the socket sends carries a hop count of 1, or, raw, the count it was
// given plus one (dropped when that is above the TTL).

const wait = 10 * time.Second

type harness struct {
	s   *socket.Socket
	w   *streamtest.Watcher
	url string
	raw bool
}

func newHarness(t testing.TB, raw bool, url string) *harness {
	mk := pair1.New
	if raw {
		mk = pair1.NewRaw
	}
	s, err := mk(socket.RecvTimeout(wait), socket.SendTimeout(wait))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{s: s, w: streamtest.Watch(s), raw: raw}
	l, err := s.Listen(url)
	if err != nil {
		t.Fatal(err)
	}
	h.url = l.URL()
	return h
}

func hops(n uint32) []byte { return streamtest.U32(n) }

func (h *harness) check(t *testing.T, payload []byte, ttl int) {
	if err := h.s.SetOption(pair1.TTL(ttl)); err != nil {
		t.Fatal(err)
	}
	before := h.s.Stats()
	from := h.w.Len()
	p, err := streamtest.DialPeer(h.url, wait)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Handshake(sp.ProtoPair1); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if _, err := h.w.Wait(from, wait, streamtest.Is(socket.EventAccepted, p.Remote)); err != nil {
		t.Fatal(err) // the previous peer is gone: this one is taken
	}
	if err := p.WriteMsg(payload); err != nil {
		t.Fatal(err)
	}
	if len(payload) < 4 || binary.BigEndian.Uint32(payload) > 0xff {
		e, err := h.w.Wait(from, wait, streamtest.Ends(p.Remote))
		if err != nil {
			t.Fatal(err)
		}
		if e.Type != socket.EventDisconnected || !errors.Is(e.Err, socket.ErrProtocol) {
			t.Fatalf("payload % x: %v, want a disconnect for a protocol error", payload, e)
		}
		if err := p.WaitClosed(wait); err != nil {
			t.Fatal(err)
		}
		if d := h.s.Stats().ProtocolErrors - before.ProtocolErrors; d != 1 {
			t.Fatalf("ProtocolErrors +%d", d)
		}
		return
	}
	count := binary.BigEndian.Uint32(payload)
	drop := count > uint32(ttl)
	want := payload
	if drop {
		want = append(hops(1), "probe"...)
		if err := p.WriteMsg(want); err != nil {
			t.Fatal(err)
		}
	}
	m, err := h.s.RecvContext(context.Background())
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if !bytes.Equal(m.Body, want[4:]) {
		t.Fatalf("payload % x: body %q, want %q", payload, m.Body, want[4:])
	}
	if h.raw && !bytes.Equal(m.Header, want[:4]) || !h.raw && len(m.Header) != 0 {
		t.Fatalf("payload % x: header % x", payload, m.Header)
	}
	// Back the other way.
	sent := binary.BigEndian.Uint32(want) // raw: the count goes on
	reply := socket.NewMessageBytes([]byte("back"))
	if h.raw {
		reply.SetHeader(m.Header)
	}
	m.Free()
	if err := h.s.Send(reply); err != nil {
		t.Fatal(err)
	}
	wantReply := append(hops(1), "back"...)
	if h.raw {
		wantReply = append(hops(sent+1), "back"...)
		if sent+1 > uint32(ttl) {
			// Dropped on the way out; a probe with a count of 0 follows.
			probe := socket.NewMessageBytes([]byte("probe back"))
			probe.SetHeader(hops(0))
			if err := h.s.Send(probe); err != nil {
				t.Fatal(err)
			}
			wantReply = append(hops(1), "probe back"...)
		}
	}
	got, err := p.ReadMsg(1 << 20)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if !bytes.Equal(got, wantReply) {
		t.Fatalf("peer got % x, want % x", got, wantReply)
	}
	p.Close()
	e, err := h.w.Wait(from, wait, streamtest.Ends(p.Remote))
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != socket.EventDisconnected || e.Err != nil {
		t.Fatalf("end of a good connection: %v", e)
	}
	after := h.s.Stats()
	wantDrops := uint64(0)
	if drop {
		wantDrops = 1
	}
	if d := after.Dropped(socket.DropTTL) - before.Dropped(socket.DropTTL); d != wantDrops {
		t.Fatalf("DropTTL +%d, want +%d", d, wantDrops)
	}
	if after.ProtocolErrors != before.ProtocolErrors {
		t.Fatal("a protocol error counted")
	}
}

type seed struct {
	payload []byte
	ttl     int
}

func seeds() []seed {
	return []seed{
		{append(hops(1), "first hop"...), 8},
		{hops(1), 8},
		{append(hops(8), "at the ttl"...), 8},
		{append(hops(9), "over the ttl"...), 8},
		{append(hops(7), "raw sends on at 8"...), 8},
		{append(hops(1), "ttl 1"...), 1},
		{append(hops(2), "ttl 1, dropped"...), 1},
		{append(hops(15), "ttl 15"...), 15},
		{append(hops(0), "zero"...), 8},
		{append(hops(255), "255"...), 8},
		{append(hops(256), "256"...), 8},
		{append(hops(0xffffffff), "all ones"...), 8},
		{nil, 8},
		{[]byte{0, 0, 1}, 8},
	}
}

func ttlOf(b uint8) int { return 1 + int(b%15) }

// FuzzHopCount drives pair1, cooked and raw, with one arbitrary message per
// connection.
func FuzzHopCount(f *testing.F) {
	for _, sd := range seeds() {
		f.Add(sd.payload, uint8(sd.ttl-1), false)
		f.Add(sd.payload, uint8(sd.ttl-1), true)
	}
	var hs [2]*harness
	for i := range hs {
		hs[i] = newHarness(f, i == 1, streamtest.URL(i == 1))
		f.Cleanup(func() { hs[i].s.Close() })
	}
	f.Fuzz(func(t *testing.T, payload []byte, ttl uint8, raw bool) {
		if len(payload) > 1<<16 {
			payload = payload[:1<<16]
		}
		h := hs[0]
		if raw {
			h = hs[1]
		}
		h.check(t, payload, ttlOf(ttl))
	})
}

func TestHopCountOverTCPAndIPC(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc"} {
		for _, raw := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/raw=%v", tr, raw), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, raw, testutil.URL(t, tr))
				defer h.s.Close()
				for i, sd := range seeds() {
					t.Run(fmt.Sprint(i), func(t *testing.T) { h.check(t, sd.payload, sd.ttl) })
				}
			})
		}
	}
}
