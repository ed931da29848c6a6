package socket

import "unsafe"

// bodyOffset returns the offset of body's first byte within buf, or -1 when
// body does not start inside buf.
func bodyOffset(buf, body []byte) int {
	if cap(body) == 0 || cap(buf) == 0 {
		return -1
	}
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(body)))
	if p < b || p >= b+uintptr(cap(buf)) {
		return -1
	}
	return int(p - b)
}

// adjacent reports whether b starts right where a ends in memory.
func adjacent(a, b []byte) bool {
	if len(a) == 0 || cap(b) == 0 {
		return false
	}
	end := uintptr(unsafe.Pointer(unsafe.SliceData(a))) + uintptr(len(a))
	return end == uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}
