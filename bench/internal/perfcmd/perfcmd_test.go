package perfcmd

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake records the calls it gets and answers with fixed durations.
type fake struct {
	mu    sync.Mutex
	calls []string
}

func (f *fake) add(call string) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
}

func (f *fake) ends() Ends {
	return Ends{
		Name:       "fakeperf",
		Transports: []string{"inproc", "tcp"},
		LocalThr: func(url, pattern string, size, count int, ready func()) (int, time.Duration, error) {
			f.add("local_thr " + pattern)
			if ready != nil {
				ready()
			}
			if pattern == "pub" {
				return count / 2, time.Second / 2, nil // half lost
			}
			return count, time.Second / 2, nil
		},
		RemoteThr: func(url, pattern string, size, count int) error {
			f.add("remote_thr " + pattern)
			return nil
		},
		LocalLat: func(url, pattern string, size, count int, ready func()) error {
			f.add("local_lat " + pattern)
			if ready != nil {
				ready()
			}
			return nil
		},
		RemoteLat: func(url, pattern string, size, count int) (time.Duration, error) {
			f.add("remote_lat " + pattern)
			return 40 * time.Millisecond, nil
		},
	}
}

func TestRunOutput(t *testing.T) {
	cases := []struct {
		pattern string
		args    []string
		want    string
	}{
		{"", []string{"local_thr", "tcp://127.0.0.1:5555", "64", "1000"},
			"message size: 64 [B]\nmessage count: 1000\nmean throughput: 2000 [msg/s]\nmean throughput: 1.024 [Mb/s]\n"},
		{"pair", []string{"remote_lat", "tcp://127.0.0.1:5555", "10", "1000"},
			"message size: 10 [B]\nroundtrip count: 1000\naverage latency: 20.000 [us]\n"},
		{"", []string{"remote_thr", "tcp://127.0.0.1:5555", "64", "1000"}, ""},
		{"", []string{"local_lat", "tcp://127.0.0.1:5555", "64", "1000"}, ""},
		{"pub", []string{"inproc_thr", "64", "1000"}, // the fake's pub loses half
			"message size: 64 [B]\nmessage count: 500\nmean throughput: 1000 [msg/s]\nmean throughput: 0.512 [Mb/s]\nmessages lost: 500 of 1000\n"},
		{"pub", []string{"local_thr", "tcp://127.0.0.1:5555", "64", "1000"},
			"message size: 64 [B]\nmessage count: 500\nmean throughput: 1000 [msg/s]\nmean throughput: 0.512 [Mb/s]\nmessages lost: 500 of 1000\n"},
		{"", []string{"inproc_lat", "10", "1000"},
			"message size: 10 [B]\nroundtrip count: 1000\naverage latency: 20.000 [us]\n"},
	}
	for _, c := range cases {
		t.Run(c.pattern+"/"+c.args[0], func(t *testing.T) {
			var f fake
			var out bytes.Buffer
			if err := Run(f.ends(), c.pattern, c.args, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Errorf("output\n%s\nwant\n%s", out.String(), c.want)
			}
		})
	}
}

// TestWatchIdle: the watch stops a loop once messages have begun and then
// stopped for PubIdle, not before the first one; End ends it either way.
func TestWatchIdle(t *testing.T) {
	stopped := make(chan struct{})
	w := WatchIdle(func() { close(stopped) })
	select {
	case <-stopped:
		t.Fatal("stopped before any message")
	case <-time.After(PubIdle * 3 / 2):
	}
	w.Got()
	select {
	case <-stopped:
		if !w.Stopped() {
			t.Error("Stopped is false after the stop")
		}
	case <-time.After(10 * PubIdle):
		t.Fatal("not stopped after the messages stopped")
	}
	w.End()

	quiet := WatchIdle(func() { t.Error("stopped") })
	quiet.End()
	var none *IdleStop
	none.Got()
	none.End()
	if none.Stopped() {
		t.Error("a nil watch says it stopped")
	}
}

func TestRunDefaultsAndErrors(t *testing.T) {
	var f fake
	var out bytes.Buffer
	if err := Run(f.ends(), "", []string{"inproc_thr", "1", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	if err := Run(f.ends(), "", []string{"inproc_lat", "1", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(f.calls, ",")
	if want := "local_thr push,remote_thr push,local_lat reqrep,remote_lat reqrep"; got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
	for _, c := range []struct {
		pattern string
		args    []string
	}{
		{"", nil},
		{"", []string{"local"}},
		{"", []string{"local_thr", "tcp://x:1", "64"}},
		{"", []string{"local_thr", "tcp://x:1", "-1", "5"}},
		{"", []string{"local_thr", "tcp://x:1", "64", "0"}},
		{"", []string{"local_thr", "ipc:///x", "64", "5"}}, // not in Transports
		{"reqrep", []string{"local_thr", "tcp://x:1", "64", "5"}},
		{"push", []string{"remote_lat", "tcp://x:1", "64", "5"}},
		{"", []string{"inproc_thr", "tcp://x:1", "64", "5"}},
	} {
		if err := Run(f.ends(), c.pattern, c.args, &out); err == nil {
			t.Errorf("-pattern %q %v: no error", c.pattern, c.args)
		}
	}
}
