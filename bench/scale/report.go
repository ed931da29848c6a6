package scale

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mqwire/mqwire/bench/internal/plot"
	"github.com/mqwire/mqwire/bench/internal/units"
)

// Config sets the sizes of a report run.
type Config struct {
	FanSubs []int // subscriber counts for the fan-out
	FanMsgs int   // messages published per fan-out run
	// SubCounts are the subscription counts; SubMsgs(n) the messages
	// published per phase with n subscriptions.
	SubCounts []int
	SubMsgs   func(n int) int
	// ReqClients are the concurrent client counts; ReqPerClient the
	// requests each sends.
	ReqClients   []int
	ReqPerClient int
	IdleConns    int // idle connections per transport and dialect
	// SizeBudget and SizeMax bound the messages per size (see
	// SizeMessages); SizeRounds runs each size that many times and keeps
	// the median.
	SizeBudget, SizeMax, SizeRounds int
	// Note is written under the title (say how loaded the machine was).
	Note string
	// Log, if not nil, receives a line per measurement as it ends.
	Log io.Writer
}

// Full is the configuration docs/scale.md is made with.
var Full = Config{
	FanSubs:   []int{10, 100, 1000},
	FanMsgs:   2000,
	SubCounts: []int{1, 100, 1000, 10000, 100000},
	SubMsgs: func(n int) int {
		if n >= 100000 {
			return 5000
		}
		return 20000
	},
	ReqClients:   []int{10, 100, 1000},
	ReqPerClient: 100,
	IdleConns:    1000,
	SizeBudget:   64 << 20,
	SizeMax:      100000,
	SizeRounds:   3,
}

// Small is a configuration that runs in seconds, for tests.
var Small = Config{
	FanSubs:      []int{10, 50},
	FanMsgs:      200,
	SubCounts:    []int{1, 100, 1000},
	SubMsgs:      func(int) int { return 300 },
	ReqClients:   []int{10, 50},
	ReqPerClient: 10,
	IdleConns:    50,
	SizeBudget:   1 << 20,
	SizeMax:      500,
	SizeRounds:   1,
}

// pairs of transport and dialect the measurements run over.
type td struct{ transport, dialect string }

func (c td) String() string { return c.transport + "/" + c.dialect }

var (
	fanCases  = []td{{"inproc", "sp"}, {"tcp", "sp"}, {"tcp", "zmtp"}}
	idleCases = []td{{"inproc", "sp"}, {"ipc", "sp"}, {"tcp", "sp"}, {"ipc", "zmtp"}, {"tcp", "zmtp"}}
	sizeCases = []td{{"inproc", "sp"}, {"ipc", "sp"}, {"tcp", "sp"}, {"ipc", "zmtp"}, {"tcp", "zmtp"}}
	subKinds  = []string{"sp", "zmtp", "xsub"}
	reqCases  = []struct{ mode, dialect string }{{"sockets", "sp"}, {"contexts", "sp"}, {"sockets", "zmtp"}}
)

// report collects the markdown and the plots.
type report struct {
	cfg      Config
	md       bytes.Buffer
	plots    map[string][]byte // file name -> SVG
	findings []string          // the summary's bullets, figures computed from the runs
}

// find adds a bullet to the summary.
func (r *report) find(format string, args ...any) {
	r.findings = append(r.findings, fmt.Sprintf(format, args...))
}

// ratio is b/a, or 0 when a is 0.
func ratio(a, b float64) float64 {
	if a == 0 {
		return 0
	}
	return b / a
}

// first and last are a series' first and last y values.
func first(s plot.Series) float64 { return s.Y[0] }
func last(s plot.Series) float64  { return s.Y[len(s.Y)-1] }

func (r *report) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, format+"\n", args...)
	}
}

func (r *report) p(format string, args ...any) { fmt.Fprintf(&r.md, format+"\n", args...) }

// plot adds a chart and a link to it.
func (r *report) plot(name, alt string, svg []byte) {
	r.plots[name] = svg
	r.p("\n![%s](%s)", alt, name)
}

// Report runs every measurement at the sizes of cfg and writes scale.md and
// its scale-*.svg plots into dir. command is the command line to name at the
// top of the document.
func Report(cfg Config, dir, command string) error {
	if _, err := RaiseFileLimit(); err != nil {
		return fmt.Errorf("raising the open-file limit: %w", err)
	}
	r := &report{cfg: cfg, plots: map[string][]byte{}}
	steps := []func() error{r.sizes, r.fanOut, r.subscriptions, r.reqRep, r.idle}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	var doc bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&doc, format+"\n", args...) }
	p("# mqwire at scale")
	p("")
	p("Made by `%s` from the repository root (package bench/scale; `-small` runs the reduced",
		command)
	p("sizes the tests use, and `MQWIRE_SCALE=1 go test ./bench/scale` runs the tests at full size).")
	p("Go %s, %s/%s, %d CPUs (GOMAXPROCS %d).", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if cfg.Note != "" {
		p("")
		p("%s", cfg.Note)
	}
	p("")
	p("Every figure comes from one process holding both ends of every connection, so it pays for")
	p("senders and receivers alike. Each run checks what it measures: every message delivered, in")
	p("order, every reply matching its request; a run that loses anything fails. Figures from one")
	p("run on a shared machine are indicative: compare ratios within a table, not across runs.")
	p("")
	p("## Summary")
	p("")
	for _, f := range r.findings {
		p("- %s", f)
	}
	doc.WriteString(whyText)
	doc.Write(r.md.Bytes())
	r.md = doc
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "scale.md"), r.md.Bytes(), 0o644); err != nil {
		return err
	}
	for name, svg := range r.plots {
		if err := os.WriteFile(filepath.Join(dir, name), svg, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// us writes a duration in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d.Nanoseconds())/1e3) }

func (r *report) sizes() error {
	r.p("\n## Cost against message size\n")
	r.p("One push socket sends to one pull socket; the time runs from the first send to the last")
	r.p("receipt (after %d warm-up messages). Messages per size: about %s in all, at most %d; the",
		16, units.Size(r.cfg.SizeBudget), r.cfg.SizeMax)
	r.p("median of %d runs. inproc hands messages over without copying, so its cost hardly grows with size.", r.cfg.SizeRounds)
	r.p("")
	header := "| size |"
	sep := "|---:|"
	for _, c := range sizeCases {
		header += " " + c.String() + " ns/msg | MB/s |"
		sep += "---:|---:|"
	}
	r.p("%s", header)
	r.p("%s", sep)
	ns := make([]plot.Series, len(sizeCases))
	mbs := make([]plot.Series, len(sizeCases))
	rows := make([]string, len(Sizes))
	for i, size := range Sizes {
		rows[i] = "| " + units.Size(size) + " |"
	}
	for ci, c := range sizeCases {
		ns[ci].Name, mbs[ci].Name = c.String(), c.String()
		for i, size := range Sizes {
			n := SizeMessages(size, r.cfg.SizeBudget, r.cfg.SizeMax)
			var nsv, mbv []float64
			for range max(r.cfg.SizeRounds, 1) {
				res, err := SizeCost(c.transport, c.dialect, size, n)
				if err != nil {
					return fmt.Errorf("size %s %d: %w", c, size, err)
				}
				nsv, mbv = append(nsv, res.NSPerMsg), append(mbv, res.MBPerSec)
			}
			nsm, mbm := median(nsv), median(mbv)
			r.logf("size %s %7d B: %.0f ns/msg %.1f MB/s", c, size, nsm, mbm)
			rows[i] += fmt.Sprintf(" %.0f | %.0f |", nsm, mbm)
			ns[ci].X, ns[ci].Y = append(ns[ci].X, float64(size)), append(ns[ci].Y, nsm)
			mbs[ci].X, mbs[ci].Y = append(mbs[ci].X, float64(size)), append(mbs[ci].Y, mbm)
		}
	}
	for _, row := range rows {
		r.p("%s", row)
	}
	var small, big []string
	for ci, c := range sizeCases {
		small = append(small, fmt.Sprintf("%s %.0f ns", c, first(ns[ci])))
		big = append(big, fmt.Sprintf("%s %.0f MB/s", c, last(mbs[ci])))
	}
	r.find("Cost against size (push/pull): per 64 B message %s; at 1 MiB %s.", strings.Join(small, ", "), strings.Join(big, ", "))
	r.plot("scale-size-ns.svg", "push/pull: ns per message against message size", plot.Chart{
		Title: "push/pull: time per message against size", XLabel: "message size [B]", YLabel: "ns per message",
		LogX: true, LogY: true, Series: ns,
	}.SVG())
	r.plot("scale-size-mbps.svg", "push/pull: MB/s against message size", plot.Chart{
		Title: "push/pull: throughput against size", XLabel: "message size [B]", YLabel: "MB/s (10^6 B/s)",
		LogX: true, LogY: true, Series: mbs,
	}.SVG())
	return nil
}

func (r *report) fanOut() error {
	r.p("\n## PUB fan-out\n")
	r.p("One publisher, every subscriber subscribed to everything; %d messages of 64 B, each checked", r.cfg.FanMsgs)
	r.p("in order at every subscriber. The publisher keeps at most %d messages ahead of its slowest", fanWindow)
	r.p("subscriber, under every high-water mark, so nothing should drop (drops are counted).")
	r.p("*ns/delivery* is the elapsed time over publishes times subscribers: flat means the cost of")
	r.p("a delivery does not grow with the number of subscribers. Allocations count the whole process.")
	r.p("")
	r.p("| transport/dialect | subscribers | ns/publish | ns/delivery | deliveries/s | allocs/publish | drops |")
	r.p("|---|---:|---:|---:|---:|---:|---:|")
	var series []plot.Series
	for _, c := range fanCases {
		s := plot.Series{Name: c.String()}
		for _, n := range r.cfg.FanSubs {
			res, err := FanOut(c.transport, c.dialect, n, r.cfg.FanMsgs, 64)
			if err != nil {
				return fmt.Errorf("fan-out %s %d: %w", c, n, err)
			}
			perDelivery := res.PublishNS / float64(n)
			r.logf("fan-out %s %d subscribers: %.0f ns/publish, %.0f ns/delivery, %d drops", c, n, res.PublishNS, perDelivery, res.Drops)
			r.p("| %s | %d | %.0f | %.0f | %.0f | %.1f | %d |", c, n, res.PublishNS, perDelivery, res.DeliveredPerSec, res.AllocsPerPublish, res.Drops)
			s.X, s.Y = append(s.X, float64(n)), append(s.Y, perDelivery)
		}
		series = append(series, s)
	}
	lo, hi := r.cfg.FanSubs[0], r.cfg.FanSubs[len(r.cfg.FanSubs)-1]
	var fan []string
	for _, sr := range series {
		fan = append(fan, fmt.Sprintf("%s %.0f → %.0f ns (%.1f×)", sr.Name, first(sr), last(sr), ratio(first(sr), last(sr))))
	}
	r.find("PUB fan-out, time per delivery from %d to %d subscribers (flat would be 1×): %s.", lo, hi, strings.Join(fan, "; "))
	r.plot("scale-fanout.svg", "fan-out: ns per delivery against subscribers", plot.Chart{
		Title: "PUB fan-out: time per delivery against subscribers", XLabel: "subscribers", YLabel: "ns per delivery",
		LogX: true, LogY: true, Series: series,
	}.SVG())
	return nil
}

func (r *report) subscriptions() error {
	r.p("\n## Subscriptions on one publisher\n")
	r.p("One publisher and one subscriber over tcp holding *n* distinct 8-byte topics. Three")
	r.p("subscribers: `sp` (sub over SP: the publisher sends everything, the subscriber filters),")
	r.p("`zmtp` (sub over ZMTP: the publisher filters with a trie, and the subscriber filters again)")
	r.p("and `xsub` (XSUB over ZMTP: the publisher's trie alone filters). *hit* is the publisher's time")
	r.p("per Send of a message on a subscribed topic (topics spread over all *n*), *miss* per Send of")
	r.p("one on no subscribed topic, *end to end* per message from the first send to the last receipt;")
	r.p("medians of %d rounds. *setup* is the time to subscribe to all *n* topics, in batches of %d", subRounds, subBatch)
	r.p("each confirmed by a sync topic; *heap/sub* is what the subscriptions hold, both ends.")
	r.p("")
	r.p("| subscriber | n | msgs | hit ns | miss ns | end to end ns | setup ms | heap/sub B |")
	r.p("|---|---:|---:|---:|---:|---:|---:|---:|")
	pubSeries := map[string]*plot.Series{}
	var pubOrder []string
	e2e := make([]plot.Series, len(subKinds))
	setup := make([]plot.Series, len(subKinds))
	for ki, kind := range subKinds {
		e2e[ki].Name, setup[ki].Name = kind, kind
		for _, n := range r.cfg.SubCounts {
			res, err := Subscriptions("tcp", kind, n, r.cfg.SubMsgs(n))
			if err != nil {
				return fmt.Errorf("subscriptions %s %d: %w", kind, n, err)
			}
			if res.Drops != 0 {
				return fmt.Errorf("subscriptions %s %d: %d drops", kind, n, res.Drops)
			}
			setupMS := res.SetupTime.Seconds() * 1e3
			r.logf("subscriptions %s %6d: hit %.0f ns, miss %.0f ns, end to end %.0f ns, setup %.1f ms",
				kind, n, res.HitNS, res.MissNS, res.EndToEndNS, setupMS)
			r.p("| %s | %d | %d | %.0f | %.0f | %.0f | %.1f | %.0f |", kind, n, res.Messages, res.HitNS, res.MissNS,
				res.EndToEndNS, setupMS, res.HeapPerSub)
			if kind != "sp" { // an SP publisher does not filter
				for _, ph := range []struct {
					name string
					v    float64
				}{{"hit", res.HitNS}, {"miss", res.MissNS}} {
					key := "publisher " + ph.name + " (" + kind + ")"
					if pubSeries[key] == nil {
						pubSeries[key] = &plot.Series{Name: key}
						pubOrder = append(pubOrder, key)
					}
					s := pubSeries[key]
					s.X, s.Y = append(s.X, float64(n)), append(s.Y, ph.v)
				}
			}
			e2e[ki].X, e2e[ki].Y = append(e2e[ki].X, float64(n)), append(e2e[ki].Y, res.EndToEndNS)
			setup[ki].X, setup[ki].Y = append(setup[ki].X, float64(n)), append(setup[ki].Y, res.SetupTime.Seconds()*1e3)
		}
	}
	nlo, nhi := r.cfg.SubCounts[0], r.cfg.SubCounts[len(r.cfg.SubCounts)-1]
	var pubf, e2ef, setupf []string
	for _, k := range pubOrder {
		sr := pubSeries[k]
		pubf = append(pubf, fmt.Sprintf("%s %.0f → %.0f ns (%.1f×)", strings.TrimPrefix(k, "publisher "), first(*sr), last(*sr), ratio(first(*sr), last(*sr))))
	}
	for ki, kind := range subKinds {
		e2ef = append(e2ef, fmt.Sprintf("%s %.0f → %.0f ns (%.0f×)", kind, first(e2e[ki]), last(e2e[ki]), ratio(first(e2e[ki]), last(e2e[ki]))))
		n := len(setup[ki].Y)
		setupf = append(setupf, fmt.Sprintf("%s %.0f ms (%.0f× the time for %.0f× the topics of the row before)",
			kind, last(setup[ki]), ratio(setup[ki].Y[max(n-2, 0)], last(setup[ki])), ratio(setup[ki].X[max(n-2, 0)], setup[ki].X[n-1])))
	}
	r.find("Subscriptions, the ZMTP publisher's time per Send from %d to %d subscriptions: %s.", nlo, nhi, strings.Join(pubf, ", "))
	r.find("Subscriptions, end to end per message from %d to %d subscriptions: %s.", nlo, nhi, strings.Join(e2ef, ", "))
	r.find("Subscribing to %d topics took: %s.", nhi, strings.Join(setupf, "; "))
	var pub []plot.Series
	for _, k := range pubOrder {
		pub = append(pub, *pubSeries[k])
	}
	r.plot("scale-subs-publisher.svg", "publisher's cost per message against subscriptions", plot.Chart{
		Title: "ZMTP publisher: ns per Send against subscriptions (trie)", XLabel: "subscriptions", YLabel: "ns per message",
		LogX: true, LogY: true, Series: pub,
	}.SVG())
	r.plot("scale-subs-e2e.svg", "end-to-end cost per message against subscriptions", plot.Chart{
		Title: "PUB/SUB end to end: ns per message against subscriptions", XLabel: "subscriptions", YLabel: "ns per message",
		LogX: true, LogY: true, Series: e2e,
	}.SVG())
	r.plot("scale-subs-setup.svg", "time to subscribe against subscriptions", plot.Chart{
		Title: "time to subscribe to n topics", XLabel: "subscriptions", YLabel: "ms",
		LogX: true, LogY: true, Series: setup,
	}.SVG())
	return nil
}

func (r *report) reqRep() error {
	r.p("\n## REQ/REP with many clients\n")
	r.p("One rep socket over tcp served by %d rep contexts that echo; each client sends %d requests", repWorkers, r.cfg.ReqPerClient)
	r.p("of 16 bytes one after the other and checks every reply. `sockets`: each client is a req")
	r.p("socket with its own connection; `contexts`: the clients are contexts of one req socket (one")
	r.p("connection). Latency is per request, send to reply.")
	r.p("")
	r.p("| clients | mode/dialect | requests | req/s | p50 µs | p99 µs | max µs |")
	r.p("|---:|---|---:|---:|---:|---:|---:|")
	var rate, p99 []plot.Series
	for _, c := range reqCases {
		name := c.mode + "/" + c.dialect
		rs, ps := plot.Series{Name: name}, plot.Series{Name: name}
		for _, n := range r.cfg.ReqClients {
			res, err := ReqRep(c.mode, c.dialect, n, r.cfg.ReqPerClient)
			if err != nil {
				return fmt.Errorf("req/rep %s %d: %w", name, n, err)
			}
			r.logf("req/rep %s %d clients: %.0f req/s, p50 %v, p99 %v", name, n, res.ReqPerSec, res.P50, res.P99)
			r.p("| %d | %s | %d | %.0f | %s | %s | %s |", n, name, res.Requests, res.ReqPerSec, us(res.P50), us(res.P99), us(res.Max))
			rs.X, rs.Y = append(rs.X, float64(n)), append(rs.Y, res.ReqPerSec)
			ps.X, ps.Y = append(ps.X, float64(n)), append(ps.Y, float64(res.P99.Nanoseconds())/1e3)
		}
		rate, p99 = append(rate, rs), append(p99, ps)
	}
	clo, chi := r.cfg.ReqClients[0], r.cfg.ReqClients[len(r.cfg.ReqClients)-1]
	var rr []string
	for i := range rate {
		rr = append(rr, fmt.Sprintf("%s %.0f → %.0f (%.2f×, p99 %.1f ms)", rate[i].Name, first(rate[i]), last(rate[i]), ratio(first(rate[i]), last(rate[i])), last(p99[i])/1e3))
	}
	r.find("REQ/REP, requests/s from %d to %d concurrent clients: %s.", clo, chi, strings.Join(rr, "; "))
	r.plot("scale-reqrep-rate.svg", "requests per second against clients", plot.Chart{
		Title: "REQ/REP: requests per second against concurrent clients", XLabel: "clients", YLabel: "requests/s",
		LogX: true, LogY: true, Series: rate,
	}.SVG())
	r.plot("scale-reqrep-p99.svg", "p99 latency against clients", plot.Chart{
		Title: "REQ/REP: p99 latency against concurrent clients", XLabel: "clients", YLabel: "p99 latency [µs]",
		LogX: true, LogY: true, Series: p99,
	}.SVG())
	return nil
}

func (r *report) idle() error {
	r.p("\n## Memory per idle connection\n")
	r.p("A pull socket listens, %d push sockets dial it, one connection each; once all are up and", r.cfg.IdleConns)
	r.p("idle, the heap (HeapAlloc after GC), goroutine stacks (StackInuse) and goroutines are counted")
	r.p("and divided by the connections. Both ends of each connection live in this process, so a")
	r.p("connection is two pipes. The sockets themselves are counted apart (*socket heap*).")
	r.p("")
	r.p("| transport/dialect | connections | heap B/conn | stack B/conn | goroutines/conn | socket heap B |")
	r.p("|---|---:|---:|---:|---:|---:|")
	var groups []string
	heap := plot.BarSeries{Name: "heap per connection [KiB]"}
	stack := plot.BarSeries{Name: "stack per connection [KiB]"}
	for _, c := range idleCases {
		res, err := IdleMemory(c.transport, c.dialect, r.cfg.IdleConns, nil)
		if err != nil {
			return fmt.Errorf("idle %s: %w", c, err)
		}
		r.logf("idle %s: %.0f B heap, %.0f B stack, %.2f goroutines per connection", c, res.HeapPerConn, res.StackPerConn, res.GoroutinesPerConn)
		r.p("| %s | %d | %.0f | %.0f | %.2f | %.0f |", c, res.Conns, res.HeapPerConn, res.StackPerConn, res.GoroutinesPerConn, res.HeapPerSocket)
		groups = append(groups, c.String())
		heap.Values = append(heap.Values, res.HeapPerConn/1024)
		stack.Values = append(stack.Values, res.StackPerConn/1024)
	}
	var idle []string
	for i, g := range groups {
		idle = append(idle, fmt.Sprintf("%s %.0f KiB heap + %.0f KiB stack", g, heap.Values[i], stack.Values[i]))
	}
	r.find("Memory per idle connection (both ends): %s.", strings.Join(idle, ", "))
	r.plot("scale-idle.svg", "memory per idle connection", plot.BarChart{
		Title: fmt.Sprintf("memory per idle connection (%d connections, both ends)", r.cfg.IdleConns), YLabel: "KiB",
		Groups: groups, Series: []plot.BarSeries{heap, stack},
	}.SVG())
	return nil
}

// whyText explains the figures that do not stay flat, from CPU and heap
// profiles taken when this harness was written (go test -cpuprofile over
// the same functions; IdleMemory's heap profile). If the core changes, the
// tables below show it first.
const whyText = `
## What does not scale, and why

- **Memory per idle stream connection.** An idle ipc or tcp pipe holds no buffer: its
  reader reads the descriptor itself (socket/readbuf.go, through_unix.go ` + "`fdReader`" + `),
  taking its 64 KiB read buffer (or chunk) from a pool for each read and giving it back
  when the read finds nothing and must wait, and the 64 KiB write buffer goes back to a pool
  when the send queue is empty. What is left is the pipe, its send queue and the
  connection (a few KiB per end) and one goroutine's stack per end, its reader's. The
  writer goroutine ends after a second or two with nothing to write, and the next message
  starts another (there were four goroutines per connection before; the stack memory
  measured below moves with what earlier runs in the process left in the runtime's stack
  pool: alone, 1,000 idle tcp connections took 10.3 KiB of stacks each, 14.4 before);
  the dialer's goroutine ends once its connection is up, and the connection's end starts
  it again (it was a fifth goroutine before that).
  The buffers were held for the life of the pipe at first (about 280 KiB per connection
  with both ends in one process), then the read buffer only (about 140 KiB). Elsewhere
  than Linux, and over shm://, the reader keeps its read buffer while it waits.
- **Subscriptions.** pattern/sub keeps its subscriptions in a set (duplicates) and a trie
  (matching), so a sub's cost per message does not grow with its subscriptions and
  subscribing to n topics takes time in n. The trie (internal/trie) keeps each node's
  children in sorted arrays, found by a short scan or a binary search; with a Go map per
  node it took 180 ns per match hot and up to 7 µs at 100,000 topics cold, now 21 ns hot and
  0.4 µs cold (BenchmarkTrieMatch, topics spread over the whole trie). What still grows at
  100,000 topics is the cold memory the walk touches, not the number of steps.
  Subscribing over ZMTP sends each subscription to the publisher: 100,000 took 2.0 s
  until session 17, of which 1 s was this benchmark's own wait for its sync topic (5 ms
  per try, now 50 µs doubling) and most of the rest one write system call per
  subscription, since a subscriber that has read holds its pipe's read turn and wrote
  each send through. A burst of sends is now batched by the pipe's writer; libzmq
  (pyzmq, XPUB over tcp, the same batches of 500) took 227 ms in the same minutes.
- **Fan-out** costs more per delivery at 1,000 subscribers than at 10: between 1.1× and 6× in
  four full runs on this loaded machine (the spread is mostly load). Each pipe's writer wakes
  for fewer messages at a time, so there are more writes per delivery (about 30% of the CPU in
  syscalls in a profile at 1,000 tcp subscribers), every publish queues the message on
  each subscriber's pipe under the pipe set's lock, and a thousand receiving goroutines
  compete for two cores. A publication goes to stream subscribers shared, not copied
  (until the end of session 15 it was cloned for each: at 100 tcp subscribers the time
  per delivery was then 1.5× of today's at 64 B and 1.6× at 1 KiB).
- **REQ/REP with one socket per client** spends about half its CPU in syscalls: every request
  is a write and a read on each side, nothing to batch. Contexts on one req socket share a
  connection, batch requests into fewer writes, and go several times faster.
`
