// Package units writes the quantities the benchmark reports print, the same
// way in every report.
package units

import "fmt"

// Size writes a byte count as "64 B", "4 KiB" or "1 MiB" (whole units only;
// anything else in bytes).
func Size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
