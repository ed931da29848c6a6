package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mqwire/mqwire/bench/internal/cpupair"
)

// machine describes where the run happened.
type machine struct {
	cpu, os, kernel, goVersion, commit string
	cores                              int
	loadBefore                         string
	versions                           [][2]string // library, version
	// cpusBefore and cpusAfter are the two CPUs as the run began and
	// ended (cpupair); each cell's are in the matrix.
	cpusBefore, cpusAfter cpuState
}

// probeCPUs runs a CPU probe once, keeping its error as text.
func probeCPUs(probe func() (cpupair.Pair, error)) cpuState {
	p, err := probe()
	if err != nil {
		return cpuState{err: err.Error()}
	}
	return cpuState{pair: p}
}

// String is the state as the report shows it: the pair's figures, or why
// there are none ("" when it was not measured).
func (st cpuState) String() string {
	switch {
	case st.err != "":
		return "not measured: " + st.err
	case st.pair.LineRoundTrip == 0:
		return ""
	}
	return st.pair.String()
}

// short is the state in a table cell: the round trip and the compute
// ratio ("–" when not measured).
func (st cpuState) short() string {
	if st.err != "" || st.pair.LineRoundTrip == 0 {
		return "–"
	}
	return fmt.Sprintf("%d ns, %.2fx", st.pair.LineRoundTrip.Nanoseconds(), st.pair.SharedCompute)
}

func describeMachine(ctx context.Context) machine {
	m := machine{
		cpu:       cpuModel(),
		cores:     runtime.NumCPU(),
		kernel:    readTrim("/proc/sys/kernel/osrelease"),
		os:        osName(),
		goVersion: output(ctx, "go", "env", "GOVERSION"),
		commit:    output(ctx, "git", "describe", "--always", "--dirty"),
	}
	if m.goVersion == "" {
		m.goVersion = runtime.Version()
	}
	zmq := output(ctx, "pkg-config", "--modversion", "libzmq")
	nng := output(ctx, "pkg-config", "--modversion", "nng")
	if nng == "" {
		// Debian's libnng-dev has no pkg-config file.
		nng = output(ctx, "dpkg-query", "-W", "-f=${Version}", "libnng-dev")
	}
	m.versions = [][2]string{
		{"libzmq", orUnknown(zmq)},
		{"nng", orUnknown(nng)},
		{"github.com/go-zeromq/zmq4", orUnknown(output(ctx, "go", "list", "-m", "-f", "{{.Version}}", "github.com/go-zeromq/zmq4"))},
		{"go.nanomsg.org/mangos/v3", orUnknown(output(ctx, "go", "list", "-m", "-f", "{{.Version}}", "go.nanomsg.org/mangos/v3"))},
	}
	return m
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// output runs a command briefly and returns its trimmed output, "" on any
// failure.
func output(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return runtime.GOOS
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v) + " (" + runtime.GOARCH + ")"
		}
	}
	return runtime.GOARCH
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return v
		}
	}
	return runtime.GOOS
}

// loadAvg is the 1, 5 and 15 minute load averages ("" where unknown).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return fmt.Sprintf("%s %s %s", f[0], f[1], f[2])
}
