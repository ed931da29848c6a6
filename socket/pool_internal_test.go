package socket

import "testing"

// freeMessages frees a batch as Free frees each: runs of one class, mixed
// classes, plain-pool classes, shared messages (kept while an owner
// remains), messages not of the pool and messages freed twice; none is
// handed out twice, and every slot is cleared.
func TestFreeMessages(t *testing.T) {
	sizes := []int{64, 64, 1000, 64, 600_000, 64, 1000}
	var ms []*Message
	for range 3 * magazineSize { // more than a magazine of one class
		for _, n := range sizes {
			ms = append(ms, NewMessage(n))
		}
	}
	shared := NewMessage(64)
	shared.Share() // a second owner
	ms = append(ms, shared, &Message{Body: []byte("not pooled"), class: -1})
	twice := ms[0]
	ms = append(ms, twice) // freed twice in one batch: harmless
	freeMessages(ms)
	for i, m := range ms {
		if m != nil {
			t.Fatalf("slot %d not cleared", i)
		}
	}
	if shared.free || shared.Body == nil {
		t.Fatal("a message another owner shares was pooled")
	}
	seen := map[*Message]bool{shared: true}
	for range 4 * magazineSize {
		for _, n := range sizes {
			m := NewMessage(n)
			if seen[m] {
				t.Fatalf("size %d: a message was handed out twice", n)
			}
			seen[m] = true
		}
	}
	shared.Free() // the last owner
	if !shared.free {
		t.Error("the last owner's Free did not pool the shared message")
	}
}
