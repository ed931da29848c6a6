package socket

// ReadsThrough reports whether an application holds the read turn of s's
// only pipe (through.go).
func ReadsThrough(s *Socket) bool {
	p := s.solo.Load()
	if p == nil {
		return false
	}
	st := p.rstate.Load()
	return st == rsApp || st == rsAway
}
