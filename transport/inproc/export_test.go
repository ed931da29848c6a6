package inproc

// WaitedNames returns how many names dialers wait on to get a listener.
func WaitedNames() int {
	mu.Lock()
	defer mu.Unlock()
	return len(waits)
}
