package main

// sysErrText: Plan 9's errors have no numbers to map to nngcat's words; its
// own text is used.
func sysErrText(error, bool) (string, bool) { return "", false }

// errnoText is err's own text.
func errnoText(err error) string { return err.Error() }
