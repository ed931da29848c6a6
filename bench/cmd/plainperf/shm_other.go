//go:build !linux

package main

import (
	"errors"
	"time"
)

// shm:// is a Linux end here, as mqwire's shm transport is.
var errNoShm = errors.New("plainperf: shm:// is supported on Linux only")

func shmLocalThr(string, int, int, func()) (int, time.Duration, error) { return 0, 0, errNoShm }
func shmRemoteThr(string, int, int) error                              { return errNoShm }
func shmLocalLat(string, int, int, func()) error                       { return errNoShm }
func shmRemoteLat(string, int, int) (time.Duration, error)             { return 0, errNoShm }
