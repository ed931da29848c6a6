package portnum

import "testing"

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		port      string
		listening bool
		want      string // "" for an error
	}{
		{"5555", false, "5555"},
		{"65535", false, "65535"},
		{"0", true, "0"},
		{"*", true, "0"},
		{"0", false, "0"}, // refused by the peer, not here
		{"*", false, ""},
		{"65536", true, ""},
		{"99999", false, ""},
		{"-1", false, ""},
		{"http", false, ""},
		{"", true, ""},
		{" 80", false, ""},
	} {
		got, err := Check(c.port, c.listening)
		if (err == nil) != (c.want != "") || got != c.want {
			t.Errorf("Check(%q, listening %v) = %q, %v; want %q", c.port, c.listening, got, err, c.want)
		}
	}
}
