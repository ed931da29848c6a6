package scratch

import "testing"

func TestBuf(t *testing.T) {
	var s Buf
	b := s.Get(100 << 10)
	if cap(b) < 100<<10 {
		t.Fatalf("cap %d", cap(b))
	}
	s.Keep(append(b, 1))
	// Small uses between large ones keep the large buffer.
	for range keepFor {
		if got := s.Get(10); cap(got) < 100<<10 {
			t.Fatal("large buffer let go too soon")
		}
	}
	if got := s.Get(100 << 10); cap(got) < 100<<10 || len(got) != 0 {
		t.Fatal("large buffer not reused")
	}
	// A long run of small uses lets it go.
	for range keepFor + 1 {
		b = s.Get(10)
	}
	if cap(b) >= 100<<10 {
		t.Fatal("large buffer kept after a long run of small uses")
	}
}
