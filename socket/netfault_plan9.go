package socket

// networkFault reports whether err says the network gave up on the
// connection: Plan 9 has no such errors to tell apart.
func networkFault(err error) bool { return false }
