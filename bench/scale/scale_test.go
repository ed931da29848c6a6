package scale

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
)

// full reports whether the tests run at full size (MQWIRE_SCALE=1).
func full() bool { return os.Getenv("MQWIRE_SCALE") == "1" }

// pick returns small under a plain go test and big under MQWIRE_SCALE=1.
func pick(small, big int) int {
	if full() {
		return big
	}
	return small
}

func TestMain(m *testing.M) {
	RaiseFileLimit()
	os.Exit(m.Run())
}

func TestFanOut(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, c := range []struct{ transport, dialect string }{{"inproc", "sp"}, {"tcp", "sp"}, {"tcp", "zmtp"}} {
		t.Run(c.transport+"/"+c.dialect, func(t *testing.T) {
			subs, msgs := pick(100, 1000), pick(300, 2000)
			r, err := FanOut(c.transport, c.dialect, subs, msgs, 64)
			if err != nil {
				t.Fatal(err)
			}
			if r.Drops != 0 || r.Delivered != uint64(subs*msgs) {
				t.Fatalf("delivered %d of %d, %d drops", r.Delivered, subs*msgs, r.Drops)
			}
			t.Logf("%d subscribers: %.0f ns/publish, %.0f deliveries/s, %.1f allocs/publish",
				subs, r.PublishNS, r.DeliveredPerSec, r.AllocsPerPublish)
		})
	}
}

func TestSubscriptions(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, dialect := range []string{"sp", "zmtp", "xsub"} {
		t.Run(dialect, func(t *testing.T) {
			for _, n := range []int{1, 100, pick(1000, 100000)} {
				r, err := Subscriptions("tcp", dialect, n, pick(500, 20000))
				if err != nil {
					t.Fatalf("%d subscriptions: %v", n, err)
				}
				if r.Drops != 0 {
					t.Errorf("%d subscriptions: %d drops", n, r.Drops)
				}
				t.Logf("%6d subscriptions: setup %v, %.0f B/sub, hit %.0f ns, miss %.0f ns, end to end %.0f ns",
					n, r.SetupTime, r.HeapPerSub, r.HitNS, r.MissNS, r.EndToEndNS)
			}
		})
	}
}

func TestReqRep(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, c := range []struct{ mode, dialect string }{{"sockets", "sp"}, {"contexts", "sp"}, {"sockets", "zmtp"}} {
		t.Run(c.mode+"/"+c.dialect, func(t *testing.T) {
			clients, per := pick(100, 1000), pick(20, 100)
			r, err := ReqRep(c.mode, c.dialect, clients, per)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d clients: %.0f req/s, p50 %v, p99 %v, max %v", clients, r.ReqPerSec, r.P50, r.P99, r.Max)
		})
	}
}

func TestIdleMemory(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, c := range []struct{ transport, dialect string }{{"inproc", "sp"}, {"ipc", "sp"}, {"tcp", "sp"}, {"ipc", "zmtp"}, {"tcp", "zmtp"}} {
		t.Run(c.transport+"/"+c.dialect, func(t *testing.T) {
			n := pick(100, 1000)
			r, err := IdleMemory(c.transport, c.dialect, n, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.GoroutinesPerConn <= 0 || r.HeapPerConn <= 0 {
				t.Errorf("implausible: %+v", r)
			}
			t.Logf("%d connections: per connection %.0f B heap, %.0f B stack, %.2f goroutines; per socket %.0f B heap, %.2f goroutines",
				n, r.HeapPerConn, r.StackPerConn, r.GoroutinesPerConn, r.HeapPerSocket, r.GoroutinesPerSocket)
		})
	}
}

func TestSizeCost(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, c := range []struct{ transport, dialect string }{{"inproc", "sp"}, {"ipc", "sp"}, {"tcp", "sp"}, {"tcp", "zmtp"}} {
		t.Run(c.transport+"/"+c.dialect, func(t *testing.T) {
			for _, size := range Sizes {
				n := SizeMessages(size, pick(4<<20, 256<<20), pick(2000, 200000))
				r, err := SizeCost(c.transport, c.dialect, size, n)
				if err != nil {
					t.Fatalf("%d B: %v", size, err)
				}
				t.Logf("%7d B x %6d: %8.0f ns/msg %8.1f MB/s %5.1f allocs/msg", size, n, r.NSPerMsg, r.MBPerSec, r.AllocsPerMsg)
			}
		})
	}
}

func TestReport(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := t.TempDir()
	if err := Report(Small, dir, "go run ./bench/scale/cmd/mqscale -small"); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "scale.md"))
	if err != nil {
		t.Fatal(err)
	}
	svgs, _ := filepath.Glob(filepath.Join(dir, "scale-*.svg"))
	if len(svgs) < 5 {
		t.Errorf("%d plots: %q", len(svgs), svgs)
	}
	for _, f := range svgs {
		name := filepath.Base(f)
		if !strings.Contains(string(md), "("+name+")") {
			t.Errorf("scale.md does not show %s", name)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(b))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	for _, h := range []string{"## Cost against message size", "## PUB fan-out", "## Subscriptions on one publisher", "## REQ/REP with many clients", "## Memory per idle connection"} {
		if !strings.Contains(string(md), h) {
			t.Errorf("scale.md lacks %q", h)
		}
	}
}
