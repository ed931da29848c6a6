package trie

import (
	"fmt"
	"testing"
)

func TestCounted(t *testing.T) {
	var tr Trie
	if tr.Match([]byte("abc")) {
		t.Fatal("empty trie matched")
	}
	tr.Add([]byte("ab"))
	tr.Add([]byte("ab"))
	tr.Add([]byte("x"))
	for msg, want := range map[string]bool{"abc": true, "ab": true, "a": false, "xyz": true, "": false, "b": false} {
		if got := tr.Match([]byte(msg)); got != want {
			t.Errorf("Match(%q) = %v", msg, got)
		}
	}
	if tr.Len() != 2 {
		t.Errorf("Len = %d", tr.Len())
	}
	tr.Remove([]byte("ab"))
	if !tr.Match([]byte("abc")) {
		t.Fatal("one of two subscriptions cancelled: still subscribed")
	}
	tr.Remove([]byte("ab"))
	if tr.Match([]byte("abc")) {
		t.Fatal("both cancelled: still matching")
	}
	if tr.Remove([]byte("ab")) || tr.Remove([]byte("nope")) {
		t.Fatal("removed what was not there")
	}
	if len(tr.root.children) != 1 {
		t.Fatalf("branch not pruned: %d children", len(tr.root.children))
	}
	tr.Add(nil)
	if !tr.Match([]byte("anything")) || !tr.Match(nil) {
		t.Fatal("empty prefix matches everything")
	}
}

// The cost of a match does not grow with the number of subscriptions.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		var tr Trie
		for i := range n {
			tr.Add(fmt.Appendf(nil, "topic.%d.", i))
		}
		msg := []byte("topic.5.payload")
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for range b.N {
				if !tr.Match(msg) {
					b.Fatal("no match")
				}
			}
		})
	}
}
