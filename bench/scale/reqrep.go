package scale

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// ReqRepResult is what ReqRep measured.
type ReqRepResult struct {
	Mode, Dialect string // "sockets" or "contexts"; "sp" or "zmtp"
	Clients       int
	Requests      int // in total, every one answered
	Workers       int // rep contexts serving
	Elapsed       time.Duration
	ReqPerSec     float64
	P50, P99, Max time.Duration // request latency, send to reply
}

// repWorkers is how many rep contexts serve the clients.
const repWorkers = 16

// ReqRep makes one rep socket listening on tcp, served by repWorkers rep
// contexts that echo every request, and clients concurrent clients that
// each send perClient requests, one at a time, and check that every reply
// is the echo of their own request. In mode "sockets" each client is its
// own req socket dialing in dialect (a connection each); in mode
// "contexts" the clients are contexts of one req socket (one connection).
func ReqRep(mode, dialect string, clients, perClient int) (res ReqRepResult, err error) {
	res = ReqRepResult{Mode: mode, Dialect: dialect, Clients: clients, Requests: clients * perClient, Workers: repWorkers}
	a, err := newAddrs()
	if err != nil {
		return res, err
	}
	defer a.cleanup()
	r, err := rep.New(socket.RecvHWM(2*clients + 64))
	if err != nil {
		return res, err
	}
	var socks []*socket.Socket
	defer func() { closeAll(append(socks, r)) }()
	ln, err := r.Listen(a.url("tcp"))
	if err != nil {
		return res, err
	}

	// Each client sends and receives through these.
	type client struct {
		send func(context.Context, *socket.Message) error
		recv func(context.Context) (*socket.Message, error)
	}
	cs := make([]client, clients)
	opts := append(dialOpts(dialect), req.ResendInterval(0))
	switch mode {
	case "sockets":
		for i := range cs {
			s, err := req.New(opts...)
			if err != nil {
				return res, err
			}
			socks = append(socks, s)
			if _, err := s.Dial(ln.URL()); err != nil {
				return res, err
			}
			cs[i] = client{s.SendContext, s.RecvContext}
		}
		if err := waitPipes(r, clients); err != nil {
			return res, err
		}
	case "contexts":
		s, err := req.New(opts...)
		if err != nil {
			return res, err
		}
		socks = append(socks, s)
		if _, err := s.Dial(ln.URL()); err != nil {
			return res, err
		}
		for i := range cs {
			c, err := req.NewContext(s)
			if err != nil {
				return res, err
			}
			defer c.Close()
			cs[i] = client{c.Send, c.Recv}
		}
		if err := waitPipes(r, 1); err != nil {
			return res, err
		}
	default:
		return res, fmt.Errorf("unknown mode %q", mode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var workers sync.WaitGroup
	defer func() { cancel(); workers.Wait() }()
	for range repWorkers {
		c, err := rep.NewContext(r)
		if err != nil {
			return res, err
		}
		workers.Add(1)
		go func() {
			defer workers.Done()
			defer c.Close()
			for {
				m, err := c.Recv(ctx)
				if err != nil {
					return
				}
				if err := c.Send(ctx, m); err != nil {
					m.Free()
					return
				}
			}
		}()
	}

	lat := make([][]time.Duration, clients)
	var failed atomic.Value
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range cs {
		lat[i] = make([]time.Duration, 0, perClient)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			if err := reqClient(ctx, cs[i].send, cs[i].recv, i, perClient, &lat[i]); err != nil {
				failed.CompareAndSwap(nil, fmt.Errorf("client %d: %w", i, err))
				cancel()
			}
		}()
	}
	start := time.Now()
	close(begin)
	wg.Wait()
	res.Elapsed = time.Since(start)
	if e, ok := failed.Load().(error); ok {
		return res, e
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sortDurations(all)
	res.ReqPerSec = float64(len(all)) / res.Elapsed.Seconds()
	res.P50, res.P99, res.Max = percentile(all, 50), percentile(all, 99), all[len(all)-1]
	return res, nil
}

// reqClient sends n requests naming the client and the request, checking
// each reply, and records the latencies.
func reqClient(ctx context.Context, send func(context.Context, *socket.Message) error,
	recv func(context.Context) (*socket.Message, error), id, n int, lat *[]time.Duration) error {
	for k := range n {
		m := socket.NewMessage(16)
		binary.BigEndian.PutUint64(m.Body, uint64(id))
		binary.BigEndian.PutUint64(m.Body[8:], uint64(k))
		t0 := time.Now()
		if err := send(ctx, m); err != nil {
			return fmt.Errorf("request %d: %w", k, err)
		}
		r, err := recv(ctx)
		if err != nil {
			return fmt.Errorf("reply %d: %w", k, err)
		}
		*lat = append(*lat, time.Since(t0))
		ok := len(r.Body) == 16 && binary.BigEndian.Uint64(r.Body) == uint64(id) && binary.BigEndian.Uint64(r.Body[8:]) == uint64(k)
		if !ok {
			err = fmt.Errorf("reply %d is %x", k, r.Body)
		}
		r.Free()
		if err != nil {
			return err
		}
	}
	return nil
}
