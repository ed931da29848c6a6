package trie

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
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
	if len(tr.root.keys) != 1 {
		t.Fatalf("branch not pruned: %d children", len(tr.root.keys))
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

// TestAgainstModel runs random adds, removes and matches against a plain
// counted map of prefixes.
func TestAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() []byte {
		b := make([]byte, rng.IntN(4))
		for i := range b {
			b[i] = "abcz\x00\xff"[rng.IntN(6)]
		}
		return b
	}
	var tr Trie
	model := map[string]int{}
	for range 20000 {
		w := word()
		switch rng.IntN(3) {
		case 0:
			tr.Add(w)
			model[string(w)]++
		case 1:
			had := model[string(w)] > 0
			if got := tr.Remove(w); got != had {
				t.Fatalf("Remove(%q) = %v, model had it: %v", w, got, had)
			}
			if had {
				if model[string(w)]--; model[string(w)] == 0 {
					delete(model, string(w))
				}
			}
		default:
			msg := append(w, word()...)
			want := false
			for p := range model {
				want = want || bytes.HasPrefix(msg, []byte(p))
			}
			if got := tr.Match(msg); got != want {
				t.Fatalf("Match(%q) = %v, want %v (set %v)", msg, got, want, model)
			}
		}
		if tr.Len() != len(model) {
			t.Fatalf("Len = %d, want %d", tr.Len(), len(model))
		}
		if got, want := all(&tr), slices.Sorted(maps.Keys(model)); !slices.Equal(got, want) {
			t.Fatalf("All = %q, want %q", got, want)
		}
	}
}

// all collects what tr.All yields, copied.
func all(tr *Trie) []string {
	var got []string
	for p := range tr.All() {
		got = append(got, string(p))
	}
	return got
}

// TestAllStopsAndGoesDeep: All stops when its caller breaks out, and walks
// a prefix far longer than a recursive walk would like.
func TestAllStopsAndGoesDeep(t *testing.T) {
	var tr Trie
	for _, p := range []string{"b", "", "ab", "a", "abc"} {
		tr.Add([]byte(p))
	}
	var first []string
	for p := range tr.All() {
		if first = append(first, string(p)); len(first) == 3 {
			break
		}
	}
	if want := []string{"", "a", "ab"}; !slices.Equal(first, want) {
		t.Fatalf("first three = %q, want %q", first, want)
	}
	long := bytes.Repeat([]byte("x"), 1<<20)
	tr.Add(long)
	got := all(&tr)
	if len(got) != 6 || got[5] != string(long) {
		t.Fatalf("with a 1 MiB prefix: %d prefixes, last of %d bytes", len(got), len(got[len(got)-1]))
	}
}
