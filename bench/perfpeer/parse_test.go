package perfpeer_test

import (
	"testing"

	"github.com/mqwire/mqwire/bench/perfpeer"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name, out string
		want      perfpeer.Result
		bad       bool
	}{
		{name: "local_thr", out: "message size: 64 [B]\nmessage count: 1000000\nmean throughput: 2500000 [msg/s]\nmean throughput: 1280.000 [Mb/s]\n",
			want: perfpeer.Result{Size: 64, Count: 1000000, MsgPerSec: 2500000, MbPerSec: 1280}},
		{name: "remote_lat", out: "message size: 1024 [B]\nroundtrip count: 10000\naverage latency: 31.250 [us]\n",
			want: perfpeer.Result{Size: 1024, Count: 10000, LatencyUS: 31.25}},
		{name: "other lines ignored", out: "connecting\r\nmessage size: 8 [B]\r\n\nmessage count: 3\r\n",
			want: perfpeer.Result{Size: 8, Count: 3}},
		{name: "pub run with losses", out: "message size: 64 [B]\nmessage count: 700\nmean throughput: 7000 [msg/s]\nmean throughput: 3.584 [Mb/s]\nmessages lost: 300 of 1000\n",
			want: perfpeer.Result{Size: 64, Count: 700, Lost: 300, MsgPerSec: 7000, MbPerSec: 3.584}},
		{name: "empty", out: ""},
		{name: "bad number", out: "message size: x [B]\n", bad: true},
		{name: "bad latency", out: "average latency: fast [us]\n", bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := perfpeer.Parse([]byte(c.out))
			if c.bad {
				if err == nil {
					t.Fatalf("no error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
