package socket

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// chunkedSource returns its bytes a few at a time, then err.
type chunkedSource struct {
	data []byte
	rng  *rand.Rand
	err  error
}

func (s *chunkedSource) Read(b []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, s.err
	}
	n := min(len(b), len(s.data), 1+s.rng.IntN(3000))
	copy(b, s.data[:n])
	s.data = s.data[n:]
	return n, nil
}

// TestReadBufferLikeBufio runs random Reads and Peeks on a readBuffer and on
// a bufio.Reader of the same size over the same stream, read in random
// pieces: they must return the same bytes, and the same errors at the end.
func TestReadBufferLikeBufio(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		data := make([]byte, rng.IntN(300<<10))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		end := io.EOF
		if seed%3 == 0 {
			end = errors.New("reset by peer")
		}
		ours := newReadBuffer(&chunkedSource{data: data, rng: rand.New(rand.NewPCG(seed, 2)), err: end}, nil, nil)
		theirs := bufio.NewReaderSize(&chunkedSource{data: data, rng: rand.New(rand.NewPCG(seed, 2)), err: end}, readBufferSize)
		var got []byte
		for step := 0; ; step++ {
			if rng.IntN(3) == 0 {
				n := rng.IntN(readBufferSize + 2)
				a, errA := ours.Peek(n)
				b, errB := theirs.Peek(n)
				if !bytes.Equal(a, b) || (errA == nil) != (errB == nil) {
					t.Fatalf("seed %d step %d: Peek(%d): %d bytes, %v; bufio %d bytes, %v", seed, step, n, len(a), errA, len(b), errB)
				}
				if ours.Buffered() != theirs.Buffered() {
					t.Fatalf("seed %d step %d: Buffered %d, bufio %d", seed, step, ours.Buffered(), theirs.Buffered())
				}
				continue
			}
			size := rng.IntN(100)
			if rng.IntN(4) == 0 {
				size = rng.IntN(2 * readBufferSize) // large: read in place
			}
			a, b := make([]byte, size), make([]byte, size)
			na, errA := io.ReadFull(ours, a)
			nb, errB := io.ReadFull(theirs, b)
			if na != nb || !bytes.Equal(a[:na], b[:nb]) || !errors.Is(errA, errB) && errA != errB {
				t.Fatalf("seed %d step %d: ReadFull(%d): %d, %v; bufio %d, %v", seed, step, size, na, errA, nb, errB)
			}
			got = append(got, a[:na]...)
			if errA != nil {
				break
			}
		}
		if !bytes.Equal(got, data[:len(got)]) {
			t.Fatalf("seed %d: the bytes read differ from the stream's", seed)
		}
		ours.release()
	}
}
