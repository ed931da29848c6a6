package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// allocResult is mqwire's heap allocations per message on one transport, as
// the bench package's BenchmarkPushPull/<transport>/64B measured them (both
// ends in one process: sender and receiver together).
type allocResult struct {
	transport string
	perMsg    float64
	msgPerSec float64
}

// benchPkg holds the go test benchmarks that report allocs/msg.
const benchPkg = "github.com/mqwire/mqwire/bench"

// measureAllocs runs BenchmarkPushPull at 64 B over the transports of the
// run that it has (inproc, ipc, tcp, and shm on Linux).
func measureAllocs(ctx context.Context, cfg config) ([]allocResult, error) {
	var trs []string
	for _, t := range cfg.transports {
		if t == "inproc" || t == "ipc" || t == "tcp" || t == "shm" && runtime.GOOS == "linux" {
			trs = append(trs, t)
		}
	}
	if len(trs) == 0 {
		return nil, nil
	}
	benchtime := "1s"
	if cfg.quick {
		benchtime = "20000x"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	pattern := "^BenchmarkPushPull$/^(" + strings.Join(trs, "|") + ")$/^64B$"
	cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-bench="+pattern, "-benchtime="+benchtime, "-count=1", benchPkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %v: %s%s", err, bytes.TrimSpace(out), bytes.TrimSpace(stderr.Bytes()))
	}
	res := parseAllocs(out)
	if len(res) == 0 {
		return nil, fmt.Errorf("go test -bench printed no allocs/msg: %s", bytes.TrimSpace(out))
	}
	return res, nil
}

// parseAllocs reads "BenchmarkPushPull/<transport>/64B-N  n  x ns/op ...
// y allocs/msg ... z msg/s" lines.
func parseAllocs(out []byte) []allocResult {
	var res []allocResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "BenchmarkPushPull/") {
			continue
		}
		parts := strings.Split(f[0], "/")
		if len(parts) < 3 {
			continue
		}
		r := allocResult{transport: parts[1], perMsg: -1}
		for i := 3; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i-1], 64)
			if err != nil {
				continue
			}
			switch f[i] {
			case "allocs/msg":
				r.perMsg = v
			case "msg/s":
				r.msgPerSec = v
			}
		}
		if r.perMsg >= 0 {
			res = append(res, r)
		}
	}
	return res
}
