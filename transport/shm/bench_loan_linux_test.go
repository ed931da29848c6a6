package shm_test

import (
	"io"
	"runtime"
	"testing"

	"github.com/mqwire/mqwire/socket"
)

// BenchmarkBody1M moves 1 MiB bodies one way on a bare stream, both ends in
// this process, and reports bytes/s:
//
//   - loan: the writer fills a loaned slot (one copy) and sends it with
//     WriteLoan; the reader takes it in place with ReadLoan, looks at its
//     ends and releases it (no copy);
//   - loan-read: the same, but the reader copies the body out with plain
//     Read (what a reader that does not know of loans gets);
//   - write: the body goes through the ring, copied in by Write and out by
//     Read, in 64 KiB writes as the socket core's writer does;
//   - ipc-write: the same over a Unix socket.
//
// A writer that finds all slots out waits for one (it yields) rather than
// writing inline, so that loan measures loans only.
func BenchmarkBody1M(b *testing.B) {
	const size = 1 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	for _, mode := range []string{"loan", "loan-read", "write", "ipc-write"} {
		b.Run(mode, func(b *testing.B) {
			tr := "shm"
			if mode == "ipc-write" {
				tr = "ipc"
			}
			r, w := rawPair(b, tr)
			b.SetBytes(size)
			done := make(chan error, 1)
			go func() {
				lc, _ := w.(socket.LoanConn)
				for range b.N {
					if mode == "loan" || mode == "loan-read" {
						buf, ok := lc.Loan(size)
						for !ok {
							runtime.Gosched()
							buf, ok = lc.Loan(size)
						}
						copy(buf, body)
						if err := lc.WriteLoan(nil, buf); err != nil {
							done <- err
							return
						}
						continue
					}
					for off := 0; off < size; off += 64 << 10 {
						if _, err := w.Write(body[off : off+64<<10]); err != nil {
							done <- err
							return
						}
					}
				}
				done <- nil
			}()
			lc, _ := r.(socket.LoanConn)
			in := make([]byte, size)
			b.ResetTimer()
			for range b.N {
				if mode == "loan" {
					got, release, ok := readLoan(lc, size)
					if !ok {
						b.Fatal("body not lent")
					}
					if got[0] != body[0] || got[size-1] != body[size-1] {
						b.Fatal("body differs")
					}
					release()
					continue
				}
				if _, err := io.ReadFull(r, in); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
