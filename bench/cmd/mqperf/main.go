// Command mqperf measures throughput and latency the way libzmq's perf tools
// do, so that figures compare directly with theirs and with nng's:
//
//	mqperf [flags] local_thr  <bind-url>    <size> <count>   # PULL (or the -pattern's receiver), prints throughput
//	mqperf [flags] remote_thr <connect-url> <size> <count>   # PUSH (or the -pattern's sender)
//	mqperf [flags] local_lat  <bind-url>    <size> <roundtrips>  # REP, echoes
//	mqperf [flags] remote_lat <connect-url> <size> <roundtrips>  # REQ, prints one-way latency
//	mqperf [flags] inproc_thr <size> <count>   # both ends in this process
//	mqperf [flags] inproc_lat <size> <roundtrips>
//
// The throughput clock starts when the first message arrives, as in libzmq's
// local_thr. Latency is elapsed time over twice the number of round trips
// (one way). Output lines are libzmq's:
//
//	message size: 64 [B]
//	message count: 1000000
//	mean throughput: 2500000 [msg/s]
//	mean throughput: 1280.000 [Mb/s]
//	average latency: 30.000 [us]
//
// -pattern picks push (push/pull, the default), pair, or pub (pub/sub with
// an empty subscription) for the throughput roles; latency always uses
// req/rep. Both ends really send and receive every message.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

var (
	patternFlag = flag.String("pattern", "push", "throughput pattern: push, pair or pub")
	hwm         = flag.Int("hwm", 1000, "send and receive high-water marks")
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: mqperf [flags] local_thr|remote_thr|local_lat|remote_lat <url> <size> <count>\n"+
		"       mqperf [flags] inproc_thr|inproc_lat <size> <count>\n")
	flag.PrintDefaults()
	os.Exit(2)
}

func main() {
	flag.Usage = usage
	flag.Parse()
	args := flag.Args()
	if len(args) < 1 {
		usage()
	}
	role := args[0]
	var url string
	rest := args[1:]
	switch role {
	case "local_thr", "remote_thr", "local_lat", "remote_lat":
		if len(rest) != 3 {
			usage()
		}
		url, rest = rest[0], rest[1:]
	case "inproc_thr", "inproc_lat":
		if len(rest) != 2 {
			usage()
		}
		url = fmt.Sprintf("inproc://mqperf-%d", os.Getpid())
	default:
		usage()
	}
	size, err1 := strconv.Atoi(rest[0])
	count, err2 := strconv.Atoi(rest[1])
	if err1 != nil || err2 != nil || size < 0 || count < 1 {
		usage()
	}
	var err error
	switch role {
	case "local_thr":
		err = localThr(url, size, count)
	case "remote_thr":
		err = remoteThr(url, size, count)
	case "local_lat":
		err = localLat(url, size, count)
	case "remote_lat":
		err = remoteLat(url, size, count)
	case "inproc_thr":
		errc := make(chan error, 1)
		go func() { errc <- remoteThr(url, size, count) }()
		err = localThr(url, size, count)
		if e := <-errc; err == nil {
			err = e
		}
	case "inproc_lat":
		errc := make(chan error, 1)
		ready := make(chan struct{})
		go func() { errc <- localLatReady(url, size, count, ready) }()
		<-ready
		err = remoteLat(url, size, count)
		if e := <-errc; err == nil {
			err = e
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mqperf:", err)
		os.Exit(1)
	}
}

// receiver and sender make the sockets of the chosen throughput pattern.
func receiver() (*socket.Socket, error) {
	switch *patternFlag {
	case "push":
		return pull.New(socket.RecvHWM(*hwm))
	case "pair":
		return pair.New(socket.RecvHWM(*hwm), socket.SendHWM(*hwm))
	case "pub":
		return sub.New(socket.RecvHWM(*hwm), sub.Subscribe(nil))
	}
	return nil, fmt.Errorf("unknown -pattern %q", *patternFlag)
}

func sender() (*socket.Socket, error) {
	opts := []socket.Option{socket.SendHWM(*hwm), socket.Linger(-1)}
	switch *patternFlag {
	case "push":
		return push.New(opts...)
	case "pair":
		return pair.New(append(opts, socket.RecvHWM(*hwm))...)
	case "pub":
		return pub.New(opts...)
	}
	return nil, fmt.Errorf("unknown -pattern %q", *patternFlag)
}

func localThr(url string, size, count int) error {
	s, err := receiver()
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Listen(url); err != nil {
		return err
	}
	m, err := s.Recv()
	if err != nil {
		return err
	}
	if len(m.Body) != size {
		return fmt.Errorf("message of %d bytes, want %d", len(m.Body), size)
	}
	m.Free()
	start := time.Now()
	for i := 1; i < count; i++ {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		if len(m.Body) != size {
			return fmt.Errorf("message of %d bytes, want %d", len(m.Body), size)
		}
		m.Free()
	}
	elapsed := time.Since(start)
	if elapsed <= 0 {
		elapsed = time.Microsecond
	}
	thr := float64(count) / elapsed.Seconds()
	fmt.Printf("message size: %d [B]\n", size)
	fmt.Printf("message count: %d\n", count)
	fmt.Printf("mean throughput: %d [msg/s]\n", int64(thr))
	fmt.Printf("mean throughput: %.3f [Mb/s]\n", thr*float64(size)*8/1e6)
	return nil
}

func remoteThr(url string, size, count int) error {
	s, err := sender()
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Dial(url); err != nil {
		return err
	}
	if *patternFlag == "pub" {
		// A publisher drops while nobody listens: wait for the subscriber.
		for s.Stats().Pipes == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	for range count {
		if err := s.Send(socket.NewMessage(size)); err != nil {
			return err
		}
	}
	return nil
}

func localLat(url string, size, count int) error {
	return localLatReady(url, size, count, nil)
}

func localLatReady(url string, size, count int, ready chan<- struct{}) error {
	s, err := rep.New()
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Listen(url); err != nil {
		return err
	}
	if ready != nil {
		close(ready)
	}
	for range count {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		if len(m.Body) != size {
			return fmt.Errorf("message of %d bytes, want %d", len(m.Body), size)
		}
		if err := s.Send(m); err != nil {
			return err
		}
	}
	return nil
}

func remoteLat(url string, size, count int) error {
	s, err := req.New()
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Dial(url); err != nil {
		return err
	}
	start := time.Now()
	for range count {
		if err := s.Send(socket.NewMessage(size)); err != nil {
			return err
		}
		m, err := s.Recv()
		if err != nil {
			return err
		}
		if len(m.Body) != size {
			return fmt.Errorf("message of %d bytes, want %d", len(m.Body), size)
		}
		m.Free()
	}
	elapsed := time.Since(start)
	fmt.Printf("message size: %d [B]\n", size)
	fmt.Printf("roundtrip count: %d\n", count)
	fmt.Printf("average latency: %.3f [us]\n", float64(elapsed.Microseconds())/float64(2*count))
	return nil
}
