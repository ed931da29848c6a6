// Command mqdemo runs a fan-out pipeline between processes over ipc, with no
// set-up: a ventilator pushes tasks to worker processes, which pull them,
// do the work, and push results to a sink that gathers them. It prints what
// each part does. It is the shortest tour of mqwire:
//
//	go run ./cmd/mqdemo            # 3 workers, 30 tasks
//	go run ./cmd/mqdemo -workers 5 -tasks 100
//
// The workers are this same program started again with -worker.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

func main() {
	workers := flag.Int("workers", 3, "number of worker processes")
	tasks := flag.Int("tasks", 30, "number of tasks")
	worker := flag.String("worker", "", "run as a worker: `name`")
	tasksURL := flag.String("tasks-url", "", "worker: where to pull tasks")
	resultsURL := flag.String("results-url", "", "worker: where to push results")
	flag.Parse()
	log.SetFlags(0)
	if *worker != "" {
		if err := runWorker(*worker, *tasksURL, *resultsURL); err != nil {
			log.Fatalf("worker %s: %v", *worker, err)
		}
		return
	}
	if err := runPipeline(*workers, *tasks); err != nil {
		log.Fatal(err)
	}
}

// runPipeline is the ventilator and the sink, in the parent process.
func runPipeline(workers, tasks int) error {
	dir, err := os.MkdirTemp("", "mqdemo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tasksURL := "ipc://" + filepath.Join(dir, "tasks.sock")
	resultsURL := "ipc://" + filepath.Join(dir, "results.sock")

	vent, err := push.New()
	if err != nil {
		return err
	}
	defer vent.Close()
	sink, err := pull.New(socket.RecvTimeout(30 * time.Second))
	if err != nil {
		return err
	}
	defer sink.Close()
	if _, err := vent.Listen(tasksURL); err != nil {
		return err
	}
	if _, err := sink.Listen(resultsURL); err != nil {
		return err
	}
	fmt.Printf("ventilator: pushing tasks on %s\nsink: pulling results on %s\n", tasksURL, resultsURL)

	self, err := os.Executable()
	if err != nil {
		return err
	}
	var procs []*exec.Cmd
	for i := range workers {
		cmd := exec.Command(self, "-worker", fmt.Sprint("w", i+1), "-tasks-url", tasksURL, "-results-url", resultsURL)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
	}
	fmt.Printf("started %d worker processes\n", workers)

	// Wait until every worker is connected, so that round robin spreads the
	// tasks over all of them.
	deadline := time.Now().Add(10 * time.Second)
	for vent.Stats().Pipes < workers && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	for i := range tasks {
		m := socket.NewMessage(8)
		binary.BigEndian.PutUint64(m.Body, uint64(i+1))
		if err := vent.SendContext(context.Background(), m); err != nil {
			return err
		}
	}
	fmt.Printf("ventilator: sent %d tasks (the numbers 1..%d to square)\n", tasks, tasks)

	perWorker := map[string]int{}
	var sum uint64
	for range tasks {
		m, err := sink.Recv()
		if err != nil {
			return fmt.Errorf("sink: %w", err)
		}
		sum += binary.BigEndian.Uint64(m.Body)
		perWorker[string(m.Body[8:])]++
		m.Free()
	}
	fmt.Printf("sink: %d results in %v, sum of squares %d\n", tasks, time.Since(start).Round(time.Microsecond), sum)
	for i := range workers {
		name := fmt.Sprint("w", i+1)
		fmt.Printf("  %s did %d tasks\n", name, perWorker[name])
	}
	// An empty task tells each worker to stop.
	for range workers {
		if err := vent.Send(socket.NewMessage(0)); err != nil {
			return err
		}
	}
	for _, p := range procs {
		p.Wait()
	}
	fmt.Println("all workers done")
	return nil
}

// runWorker pulls tasks, squares them, and pushes the results.
func runWorker(name, tasksURL, resultsURL string) error {
	in, err := pull.New()
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := push.New(socket.Linger(5 * time.Second))
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := in.Dial(tasksURL); err != nil {
		return err
	}
	if _, err := out.Dial(resultsURL); err != nil {
		return err
	}
	n := 0
	for {
		m, err := in.Recv()
		if err != nil {
			return err
		}
		if len(m.Body) != 8 {
			fmt.Printf("worker %s: done after %d tasks\n", name, n)
			return nil
		}
		x := binary.BigEndian.Uint64(m.Body)
		m.Free()
		r := socket.NewMessage(8 + len(name))
		binary.BigEndian.PutUint64(r.Body, x*x)
		copy(r.Body[8:], name)
		if err := out.Send(r); err != nil {
			return err
		}
		n++
	}
}
