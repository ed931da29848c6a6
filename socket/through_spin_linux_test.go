package socket_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// BenchmarkPacedReqRep64TCP makes a 64-byte round trip over tcp every
// period, both ends in this process and reading through, with RecvSpin
// 200 us and off: cpu-µs/op is what a round trip costs the process
// in CPU, spinning included (docs/design.md quotes it). A 100 us period
// is the worst case: gaps under the spin, every one spun through.
func BenchmarkPacedReqRep64TCP(b *testing.B) {
	for _, period := range []time.Duration{100 * time.Microsecond, 500 * time.Microsecond, 2 * time.Millisecond} {
		for _, spin := range []time.Duration{200 * time.Microsecond, 0} {
			b.Run(fmt.Sprintf("every=%v/spin=%v", period, spin), func(b *testing.B) {
				socket.SpinSameProcess(b)
				server := must(rep.New(socket.RecvSpin(spin)))
				client := must(req.New(socket.RecvSpin(spin)))
				closeAll(b, client, server)
				must(client.Dial(must(server.Listen(testutil.URL(b, "tcp"))).URL()))
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go func() {
					for {
						m, err := server.RecvContext(ctx)
						if err != nil || server.SendContext(ctx, m) != nil {
							return
						}
					}
				}()
				body := make([]byte, 64)
				roundTrip := func() {
					if err := client.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
						b.Fatal(err)
					}
					m, err := client.RecvContext(ctx)
					if err != nil {
						b.Fatal(err)
					}
					m.Free()
				}
				roundTrip()
				tick := time.NewTicker(period)
				defer tick.Stop()
				before := testutil.CPUTime()
				b.ResetTimer()
				for range b.N {
					<-tick.C
					roundTrip()
				}
				b.ReportMetric(float64(testutil.CPUTime()-before)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
			})
		}
	}
}
