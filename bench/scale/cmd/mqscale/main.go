// Command mqscale runs mqwire's scale measurements (package bench/scale) at
// full size and writes scale.md and its SVG plots into a directory:
//
//	go run ./bench/scale/cmd/mqscale -out docs
//
// -small runs the reduced sizes the tests use (seconds, not minutes); -note
// adds a line under the title (say how loaded the machine was).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mqwire/mqwire/bench/scale"
)

func main() {
	out := flag.String("out", "docs", "directory to write scale.md and scale-*.svg into")
	small := flag.Bool("small", false, "run the reduced sizes the tests use")
	note := flag.String("note", "", "a line to write under the title")
	quiet := flag.Bool("q", false, "do not print each measurement as it ends")
	flag.Parse()
	cfg := scale.Full
	if *small {
		cfg = scale.Small
	}
	cfg.Note = *note
	if !*quiet {
		cfg.Log = os.Stderr
	}
	cmd := "go run ./bench/scale/cmd/mqscale -out " + *out
	if *small {
		cmd += " -small"
	}
	if err := scale.Report(cfg, *out, cmd); err != nil {
		fmt.Fprintln(os.Stderr, "mqscale:", err)
		os.Exit(1)
	}
}
