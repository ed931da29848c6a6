package main

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestShmRing streams records of many sizes, wrapping the ring many times,
// through a mapped file from one side to the other, and checks each
// arrives whole and in order.
func TestShmRing(t *testing.T) {
	url := "shm://" + filepath.Join(t.TempDir(), "ring")
	a, err := shmCreate(url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	b, err := shmOpen(url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	sizes := []int{0, 1, 7, 8, 64, 1000, 65536, 1 << 20, 3<<20 + 5}
	const rounds = 40
	done := make(chan error, 1)
	go func() {
		for i := range rounds * len(sizes) {
			n := sizes[i%len(sizes)]
			if err := b.out.write(bytes.Repeat([]byte{byte(i)}, n)); err != nil {
				done <- err
				return
			}
		}
		b.out.flush()
		done <- nil
	}()
	buf := make([]byte, 4<<20)
	for i := range rounds * len(sizes) {
		n, err := a.in.read(buf)
		if err != nil {
			t.Fatal(err)
		}
		want := sizes[i%len(sizes)]
		if n != want || n > 0 && (buf[0] != byte(i) || buf[n-1] != byte(i)) {
			t.Fatalf("record %d: %d bytes starting %d, want %d of %d", i, n, buf[0], want, byte(i))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
