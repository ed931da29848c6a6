package zmtp_test

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/wire/zmtp"
)

func TestAppendProperty(t *testing.T) {
	got := zmtp.AppendProperty([]byte{5}, zmtp.PropSocketType, []byte("SUB"))
	want := cat(5, 11, "Socket-Type", 0, 0, 0, 3, "SUB")
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendProperty = % x, want % x", got, want)
	}
	if n := zmtp.PropertyLen(zmtp.PropSocketType, []byte("SUB")); n != len(want)-1 {
		t.Errorf("PropertyLen = %d", n)
	}
	props := []zmtp.Property{{Name: "A", Value: nil}, {Name: strings.Repeat("n", 255), Value: []byte("v")}}
	b := zmtp.AppendMetadata(nil, props...)
	if len(b) != zmtp.MetadataLen(props) || zmtp.MetadataLen(nil) != 0 {
		t.Errorf("MetadataLen = %d, appended %d", zmtp.MetadataLen(props), len(b))
	}
	mustPanic(t, "an empty property name", func() { zmtp.AppendProperty(nil, "", nil) })
	mustPanic(t, "a 256-byte property name", func() { zmtp.AppendProperty(nil, strings.Repeat("n", 256), nil) })
}

func TestCheckPropertyName(t *testing.T) {
	for _, ok := range []string{"Socket-Type", "Identity", "X-a.b_c+d9", strings.Repeat("a", 255)} {
		if err := zmtp.CheckPropertyName(ok); err != nil {
			t.Errorf("CheckPropertyName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("a", 256), "a b", "a:b", "é", "a\x00"} {
		if err := zmtp.CheckPropertyName(bad); err == nil {
			t.Errorf("CheckPropertyName(%q) accepted it", bad)
		}
	}
}

func TestParseMetadata(t *testing.T) {
	data := cat(11, "Socket-Type", 0, 0, 0, 6, "DEALER", 8, "Identity", 0, 0, 0, 0, 1, "x", 0, 0, 0, 2, 0, 0xFF)
	var names, values []string
	err := zmtp.ParseMetadata(data, func(name, value []byte) error {
		names = append(names, string(name))
		values = append(values, string(value))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "Socket-Type,Identity,x" || strings.Join(values, ",") != "DEALER,,\x00\xff" {
		t.Fatalf("names %q values %q", names, values)
	}
	md, err := zmtp.ParseProperties(data)
	if err != nil || len(md) != 3 {
		t.Fatal(md, err)
	}
	if got := zmtp.AppendMetadata(nil, md...); !bytes.Equal(got, data) {
		t.Errorf("re-encoded % x, want % x", got, data)
	}
	// Values are views into the input.
	data[len(data)-1] = 0xEE
	if md[2].Value[1] != 0xEE {
		t.Error("value is not a view into the input")
	}
	for _, q := range []string{"socket-type", "SOCKET-TYPE", "Socket-Type", "sOcKeT-tYpE"} {
		if v, ok := md.Get(q); !ok || string(v) != "DEALER" {
			t.Errorf("Get(%q) = %q, %v", q, v, ok)
		}
	}
	if v, ok := md.Get("Resource"); ok || v != nil {
		t.Errorf("Get(Resource) = %q, %v", v, ok)
	}
	// First one wins.
	md = zmtp.Metadata{{Name: "a", Value: []byte("1")}, {Name: "A", Value: []byte("2")}}
	if v, _ := md.Get("A"); string(v) != "1" {
		t.Errorf("Get(A) = %q", v)
	}
	// fn's error is returned as is and stops the walk.
	stop := errors.New("stop")
	calls := 0
	err = zmtp.ParseMetadata(data, func(_, _ []byte) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("ParseMetadata returned %v after %d calls", err, calls)
	}
	if md, err := zmtp.ParseProperties(nil); err != nil || len(md) != 0 {
		t.Errorf("empty metadata: %v, %v", md, err)
	}
}

func TestParseMetadataRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		says string
	}{
		{"zero name", cat(0, 0, 0, 0, 0), "name of length 0"},
		{"name overruns", cat(12, "Socket-Type"), "name of 12 bytes overruns the 11 left"},
		{"lone byte", cat(1), "name of 1 bytes overruns the 0 left"},
		{"no value length", cat(1, "A", 0, 0, 0), `"A" has no value length`},
		{"value overruns", cat(1, "A", 0, 0, 0, 2, "v"), `"A" announces 2 bytes, 1 left`},
		{"4 GiB value", cat(1, "A", 0xFF, 0xFF, 0xFF, 0xFF, "v"), "announces 4294967295 bytes, 1 left"},
		{"second property bad", cat(1, "A", 0, 0, 0, 0, 1), "overruns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := zmtp.ParseMetadata(tc.in, func(_, _ []byte) error { return nil })
			wantProtoErr(t, err, tc.says)
			_, err = zmtp.ParseProperties(tc.in)
			wantProtoErr(t, err, tc.says)
		})
	}
}

// TestNoAllocationByAnnouncedLength checks that huge announced lengths cost
// nothing: the decoders refuse them before allocating.
func TestNoAllocationByAnnouncedLength(t *testing.T) {
	md := cat(1, "A", 0xFF, 0xFF, 0xFF, 0xF0, "v")
	ready := cat(5, "READY", md)
	hello := cat(5, "HELLO", 255, "u")
	for name, f := range map[string]func(){
		"ParseMetadata": func() { zmtp.ParseMetadata(md, func(_, _ []byte) error { return nil }) },
		"ParseReady":    func() { zmtp.ParseReady(ready) },
		"ParseHello":    func() { zmtp.ParseHello(hello) },
	} {
		// Only the error itself may be allocated: a few small objects (more
		// under the race detector).
		if a := testing.AllocsPerRun(50, f); a > 10 {
			t.Errorf("%s: %.0f allocations", name, a)
		}
	}
	// And in bytes: 100 refusals of a 4 GiB announcement stay far below
	// one such value.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		zmtp.ParseReady(ready)
		zmtp.ParseHello(hello)
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("200 refusals allocated %d bytes", d)
	}
	good := cat(11, "Socket-Type", 0, 0, 0, 3, "REQ")
	if a := testing.AllocsPerRun(50, func() { zmtp.ParseMetadata(good, func(_, _ []byte) error { return nil }) }); a != 0 {
		t.Errorf("ParseMetadata of good metadata: %.0f allocations", a)
	}
}
