package scale

import (
	"os"
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
	defer testutil.CheckGoroutines(t)
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
