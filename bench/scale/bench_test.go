package scale

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/bench/internal/units"
	"github.com/mqwire/mqwire/internal/trie"
)

// The benchmarks run the measurements with b.N messages; sockets are made
// and connected (and subscriptions sent) inside each run, so use
// -benchtime with a count (-benchtime=20000x) for stable figures.

func BenchmarkFanOut100(b *testing.B) {
	for _, c := range fanCases {
		b.Run(c.String(), func(b *testing.B) {
			r, err := FanOut(c.transport, c.dialect, 100, max(b.N, 10), 64)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.PublishNS, "ns/publish")
			b.ReportMetric(r.PublishNS/100, "ns/delivery")
			b.ReportMetric(r.AllocsPerPublish, "allocs/publish")
			b.ReportMetric(float64(r.Drops), "drops")
		})
	}
}

func BenchmarkSubscriptions(b *testing.B) {
	for _, kind := range subKinds {
		for _, n := range []int{1, 100, 10000} {
			b.Run(fmt.Sprintf("%s/n=%d", kind, n), func(b *testing.B) {
				r, err := Subscriptions("tcp", kind, n, max(b.N, 10))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.HitNS, "hit-ns/msg")
				b.ReportMetric(r.MissNS, "miss-ns/msg")
				b.ReportMetric(r.EndToEndNS, "e2e-ns/msg")
			})
		}
	}
}

func BenchmarkSize(b *testing.B) {
	for _, c := range sizeCases {
		for _, size := range Sizes {
			b.Run(fmt.Sprintf("%s/%s", c, strings.ReplaceAll(units.Size(size), " ", "")), func(b *testing.B) {
				r, err := SizeCost(c.transport, c.dialect, size, max(b.N, 1))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.NSPerMsg, "ns/msg")
				b.ReportMetric(r.MBPerSec, "MB/s")
			})
		}
	}
}

// BenchmarkTrieMatch is the ZMTP publisher's filter alone: a trie of n
// 8-byte topics matched against messages on topics spread over all of them.
func BenchmarkTrieMatch(b *testing.B) {
	for _, n := range []int{100, 10000, 100000} {
		var t trie.Trie
		for i := range n {
			t.Add(topic(i))
		}
		msgs := make([][]byte, 4096)
		for i := range msgs {
			msgs[i] = append(topic(i*7919%n), "payload"...)
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for i := range b.N {
				if !t.Match(msgs[i%len(msgs)]) {
					b.Fatal("no match")
				}
			}
		})
	}
}
