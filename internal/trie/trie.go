// Package trie is a counted prefix set over bytes: the subscriptions of one
// ZMTP subscriber, as a publisher keeps them. Matching a message costs the
// length of its longest matching path, whatever the number of subscriptions.
package trie

// Trie is a counted set of byte prefixes. The zero value is empty. It is not
// safe for concurrent use.
type Trie struct {
	root node
	size int
}

type node struct {
	count    int // subscriptions ending here
	children map[byte]*node
}

// Add counts one more subscription to prefix.
func (t *Trie) Add(prefix []byte) {
	n := &t.root
	for _, b := range prefix {
		c := n.children[b]
		if c == nil {
			if n.children == nil {
				n.children = map[byte]*node{}
			}
			c = &node{}
			n.children[b] = c
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
		n = n.children[b]
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
		if c.count > 0 || len(c.children) > 0 {
			break
		}
		delete(path[i-1].children, prefix[i-1])
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
		n = n.children[b]
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
