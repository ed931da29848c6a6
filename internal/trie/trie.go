// Package trie is a counted prefix set over bytes: the subscriptions of one
// ZMTP subscriber, as a publisher keeps them, or of a subscriber itself.
// Matching a message costs the length of its longest matching path,
// whatever the number of subscriptions.
package trie

import (
	"iter"
	"sort"
)

// Trie is a counted set of byte prefixes. The zero value is empty. It is not
// safe for concurrent use.
type Trie struct {
	root node
	size int
}

// node keeps its children as two parallel slices sorted by byte: compact
// (most nodes of a large set have one child) and found by binary search,
// where a map per node costs a hash and a cold cache line at every step.
type node struct {
	count int // subscriptions ending here
	keys  []byte
	kids  []*node
}

// child returns the child for b, or nil, and where b is or would go.
func (n *node) child(b byte) (*node, int) {
	i := 0
	if len(n.keys) <= 8 {
		for i < len(n.keys) && n.keys[i] < b {
			i++
		}
	} else {
		i = sort.Search(len(n.keys), func(j int) bool { return n.keys[j] >= b })
	}
	if i < len(n.keys) && n.keys[i] == b {
		return n.kids[i], i
	}
	return nil, i
}

// Add counts one more subscription to prefix.
func (t *Trie) Add(prefix []byte) {
	n := &t.root
	for _, b := range prefix {
		c, i := n.child(b)
		if c == nil {
			c = &node{}
			n.keys = append(n.keys, 0)
			copy(n.keys[i+1:], n.keys[i:])
			n.keys[i] = b
			n.kids = append(n.kids, nil)
			copy(n.kids[i+1:], n.kids[i:])
			n.kids[i] = c
		}
		n = c
	}
	if n.count == 0 {
		t.size++
	}
	n.count++
}

// Remove takes one subscription to prefix away and reports whether there
// was one. Branches left empty are pruned.
func (t *Trie) Remove(prefix []byte) bool {
	path := make([]*node, 0, len(prefix)+1)
	n := &t.root
	path = append(path, n)
	for _, b := range prefix {
		n, _ = n.child(b)
		if n == nil {
			return false
		}
		path = append(path, n)
	}
	if n.count == 0 {
		return false
	}
	n.count--
	if n.count == 0 {
		t.size--
	}
	for i := len(prefix); i > 0; i-- {
		c := path[i]
		if c.count > 0 || len(c.keys) > 0 {
			break
		}
		parent := path[i-1]
		_, j := parent.child(prefix[i-1])
		parent.keys = append(parent.keys[:j], parent.keys[j+1:]...)
		copy(parent.kids[j:], parent.kids[j+1:])
		parent.kids[len(parent.kids)-1] = nil
		parent.kids = parent.kids[:len(parent.kids)-1]
	}
	return true
}

// Match reports whether some prefix in the set starts msg.
func (t *Trie) Match(msg []byte) bool {
	n := &t.root
	if n.count > 0 {
		return true
	}
	for _, b := range msg {
		n, _ = n.child(b)
		if n == nil {
			return false
		}
		if n.count > 0 {
			return true
		}
	}
	return false
}

// Len returns the number of distinct prefixes in the set.
func (t *Trie) Len() int { return t.size }

// All yields the distinct prefixes of the set in byte order, the empty
// prefix first if it is in the set. The slice it yields is reused for the
// next prefix: copy it to keep it. The walk keeps its path on the heap, so
// that a very long prefix (a peer's topic can be as long as a message) does
// not deepen the stack. The set must not change during the walk.
func (t *Trie) All() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if t.root.count > 0 && !yield(nil) {
			return
		}
		// frame is a node on the path and the next of its children to visit.
		type frame struct {
			n    *node
			next int
		}
		var prefix []byte
		path := []frame{{n: &t.root}}
		for len(path) > 0 {
			top := &path[len(path)-1]
			if top.next == len(top.n.keys) {
				path = path[:len(path)-1]
				if len(path) > 0 { // every frame but the root's added a byte
					prefix = prefix[:len(prefix)-1]
				}
				continue
			}
			i := top.next
			top.next++
			c := top.n.kids[i]
			prefix = append(prefix, top.n.keys[i])
			path = append(path, frame{n: c})
			if c.count > 0 && !yield(prefix) {
				return
			}
		}
	}
}
