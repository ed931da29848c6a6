//go:build !unix

package scale

// RaiseFileLimit does nothing on this system; it returns 0 and no error.
func RaiseFileLimit() (uint64, error) { return 0, nil }
