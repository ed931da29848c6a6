package bench_test

import (
	"context"
	"flag"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// BenchmarkPatterns runs every pattern over every transport with 64-byte
// messages, in each dialect the pattern speaks on tcp and ipc ("sp", "zmtp";
// inproc has no dialect). One-way patterns report msg/s; request/reply ones
// also us/roundtrip. Every case reports allocs/op and allocs/msg.
// Sub-benchmarks are named pattern/transport-dialect, e.g.
// "pushpull/tcp-zmtp".
func BenchmarkPatterns(b *testing.B) {
	for r := range patternRuns(patternCases) {
		b.Run(r.name, func(b *testing.B) { r.c.run(b, r.tr, r.opts) })
	}
}

// patternRun is one case of BenchmarkPatterns: a pattern over a transport
// in a dialect, with the options its dialing sockets take.
type patternRun struct {
	c        patternCase
	tr, name string
	opts     []socket.Option
}

// patternRuns yields every pattern of cs over every transport, in each
// dialect the pattern speaks there: inproc has none (one run), curve+tcp
// only ZMTP (CURVE is a mechanism of ZMTP's).
func patternRuns(cs []patternCase) iter.Seq[patternRun] {
	return func(yield func(patternRun) bool) {
		for _, c := range cs {
			for _, tr := range transports {
				for _, d := range c.dialects {
					r := patternRun{c: c, tr: tr, name: c.name + "/" + tr + "-" + d}
					switch {
					case tr == "inproc" && d != c.dialects[0]:
						continue
					case tr == "inproc":
						r.name = c.name + "/inproc"
					case tr == "curve+tcp" && d != "zmtp":
						continue
					case d == "zmtp":
						r.opts = []socket.Option{socket.DialDialect(socket.DialectZMTP)}
					}
					if !yield(r) {
						return
					}
				}
			}
		}
	}
}

// patternCase is one pattern pair of BenchmarkPatterns. run gets the
// transport and the options the dialing sockets take.
type patternCase struct {
	name      string
	dialects  []string
	roundTrip bool // a request/reply case: an op is a round trip
	run       func(b *testing.B, tr string, dialOpts []socket.Option)
}

type maker = func(...socket.Option) (*socket.Socket, error)

// oneWayCase: a tx socket sends, one rx socket receives; the receiver
// listens. Paced cases are those whose sender drops instead of waiting.
func oneWayCase(name string, dialects []string, mkTx, mkRx maker, paced bool, txOpts, rxOpts []socket.Option) patternCase {
	return patternCase{name: name, dialects: dialects, run: func(b *testing.B, tr string, dialOpts []socket.Option) {
		if paced {
			txOpts = append(txOpts, socket.SendHWM(pacedHWM))
			rxOpts = append(rxOpts, socket.RecvHWM(pacedHWM))
		}
		tx := newSockets(b, 1, mkTx, append(txOpts, dialOpts...)...)[0]
		rx := newSockets(b, 1, mkRx, rxOpts...)[0]
		connect(b, tr, rx, tx)
		if paced {
			warmUp(b, tx, rx)
		}
		oneWay(b, tx, []*socket.Socket{rx}, 64, paced)
		closeAll(tx, rx)
	}}
}

// roundTripCase: the requester dials the replier, which echoes.
func roundTripCase(name string, dialects []string, mkReq, mkRep maker, repOpts ...socket.Option) patternCase {
	return patternCase{name: name, dialects: dialects, roundTrip: true, run: func(b *testing.B, tr string, dialOpts []socket.Option) {
		rq := newSockets(b, 1, mkReq, dialOpts...)[0]
		rp := newSockets(b, 1, mkRep, repOpts...)[0]
		connect(b, tr, rp, rq)
		roundTrips(b, rq, rp, 64)
		closeAll(rq, rp)
	}}
}

var (
	both    = []string{"sp", "zmtp"}
	spOnly  = []string{"sp"}
	zmtpOne = []string{"zmtp"}
)

// xsubAll is an XSUB that subscribes to everything once connected.
func xsubAll(opts ...socket.Option) (*socket.Socket, error) { return xsub.New(opts...) }

var patternCases = []patternCase{
	oneWayCase("pushpull", both, push.New, pull.New, false, nil, nil),
	oneWayCase("pair", both, pair.New, pair.New, false, nil, nil),
	oneWayCase("pair1", spOnly, pair1.New, pair1.New, false, nil, nil),
	oneWayCase("bus", spOnly, bus.New, bus.New, true, nil, nil),
	oneWayCase("pubsub", both, pub.New, sub.New, true, nil, []socket.Option{sub.Subscribe(nil)}),
	oneWayCase("xpubxsub", zmtpOne, xpub.New, xsubAll, true, nil, nil),
	roundTripCase("reqrep", both, req.New, rep.New),
	roundTripCase("surveyor", spOnly, surveyor.New, respondent.New),
	roundTripCase("dealerrouter", zmtpOne, dealer.New, router.New),
	oneWayCase("dealertorouter", zmtpOne, dealer.New, router.New, false, nil, nil),
}

// warmUp sends probes on tx until rx receives one, then drains what else
// arrives, so that a publisher knows its subscribers before the timer
// starts (over ZMTP a publisher drops what nobody subscribed to yet). An
// XSUB is subscribed to everything first.
func warmUp(b *testing.B, tx, rx *socket.Socket) {
	b.Helper()
	if rx.Info().ZMTPType == "XSUB" {
		m := socket.NewMessageBytes([]byte{1})
		check(b, rx.Send(m))
	}
	deadline := time.Now().Add(setupTimeout)
	for {
		if time.Now().After(deadline) {
			b.Fatalf("%s: no probe received after %v", tx.Info().Name, setupTimeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		m := socket.NewMessage(64)
		if err := tx.SendContext(ctx, m); err != nil {
			m.Free()
		}
		r, err := rx.RecvContext(ctx)
		cancel()
		if err == nil {
			r.Free()
			break
		}
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		r, err := rx.RecvContext(ctx)
		cancel()
		if err != nil {
			return
		}
		r.Free()
	}
}

// TestPatternAllocs holds every case of BenchmarkPatterns to issue 4's
// allocation target in the steady state: no allocation per message on
// inproc, at most one on the other transports (two and a half a round
// trip over TLS, whose records each cost crypto/tls one). Each case runs
// as a benchmark of allocRunOps operations (a tenth as many round trips),
// and allocs/msg counts every allocation of the run: the pool's fills at
// the start and after each GC (which empties sync.Pools) come to a few
// hundredths per message, hence inproc's limit of a tenth. The race detector allocates,
// so this runs without it (the test script runs it so).
func TestPatternAllocs(t *testing.T) {
	if testutil.Race {
		t.Skip("the race detector allocates; run without -race")
	}
	if testing.Short() {
		t.Skip("runs every pattern's benchmark")
	}
	bt := flag.Lookup("test.benchtime")
	old := bt.Value.String()
	defer bt.Value.Set(old)
	for _, c := range patternCases {
		ops := allocRunOps
		if c.roundTrip {
			ops /= 10
		}
		if err := bt.Value.Set(fmt.Sprintf("%dx", ops)); err != nil {
			t.Fatal(err)
		}
		for run := range patternRuns([]patternCase{c}) {
			r := testing.Benchmark(func(b *testing.B) { c.run(b, run.tr, run.opts) })
			got, limit := r.Extra["allocs/msg"], 1.0
			switch run.tr {
			case "inproc":
				limit = 0.1
			case "tls+tcp", "wss":
				if c.roundTrip {
					// crypto/tls allocates once for each record it
					// reads (Conn.readFromUntil): a round trip reads
					// two.
					limit = 2.5
				}
			}
			t.Logf("%s: %.3f allocs/msg over %d", run.name, got, r.N)
			if r.N != ops || got > limit {
				t.Errorf("%s: %.3f allocations per message over %d, want at most %v", run.name, got, r.N, limit)
			}
		}
	}
}

// allocRunOps is how many messages each one-way case of TestPatternAllocs
// sends.
const allocRunOps = 200000
