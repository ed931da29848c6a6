package plot

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
)

// element is one parsed SVG element: its name, attributes and text.
type element struct {
	name  string
	attrs map[string]string
	text  string
}

// parse checks that svg is well-formed XML and returns its elements in
// document order.
func parse(t *testing.T, svg []byte) []element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var els []element
	var stack []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			els = append(els, e)
			stack = append(stack, len(els)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				els[stack[len(stack)-1]].text += string(tok)
			}
		}
	}
	if len(els) == 0 || els[0].name != "svg" {
		t.Fatalf("root is not <svg>")
	}
	return els
}

// f parses a numeric attribute.
func f(t *testing.T, e element, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[name], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", e.name, name, e.attrs[name], err)
	}
	return v
}

// area is the plot-area rectangle.
type area struct{ x0, y0, x1, y1 float64 }

func (a area) contains(x, y float64) bool {
	const eps = 0.05
	return x >= a.x0-eps && x <= a.x1+eps && y >= a.y0-eps && y <= a.y1+eps
}

func plotArea(t *testing.T, els []element) area {
	t.Helper()
	for _, e := range els {
		if e.name == "rect" && e.attrs["class"] == "plot-area" {
			x, y := f(t, e, "x"), f(t, e, "y")
			return area{x, y, x + f(t, e, "width"), y + f(t, e, "height")}
		}
	}
	t.Fatal("no plot area")
	return area{}
}

// points returns the markers' centres.
func points(t *testing.T, els []element) [][2]float64 {
	var ps [][2]float64
	for _, e := range els {
		if e.name == "circle" && e.attrs["class"] == "point" {
			ps = append(ps, [2]float64{f(t, e, "cx"), f(t, e, "cy")})
		}
	}
	return ps
}

func texts(els []element, class string) []string {
	var out []string
	for _, e := range els {
		if e.attrs["class"] == class {
			out = append(out, e.text)
		}
	}
	return out
}

func TestChartWellFormedAndPointsInArea(t *testing.T) {
	sizes := []float64{64, 256, 1024, 4096, 16384, 65536, 262144, 1048576}
	cases := []struct {
		name       string
		logX, logY bool
	}{{"linear", false, false}, {"logx", true, false}, {"logy", false, true}, {"loglog", true, true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Chart{
				Title: `cost <&> "size"`, XLabel: "size [B]", YLabel: "ns/msg",
				LogX: tc.logX, LogY: tc.logY,
				Series: []Series{
					{Name: "tcp", X: sizes, Y: []float64{900, 950, 1200, 2500, 7000, 25000, 90000, 400000}},
					{Name: "inproc & ipc", X: sizes, Y: []float64{300, 310, 330, 500, 1500, 5000, 20000, 80000}},
				},
			}
			svg := c.SVG()
			if !bytes.Equal(svg, c.SVG()) {
				t.Fatal("output is not deterministic")
			}
			els := parse(t, svg)
			a := plotArea(t, els)
			ps := points(t, els)
			if len(ps) != 16 {
				t.Fatalf("%d points, want 16", len(ps))
			}
			for _, p := range ps {
				if !a.contains(p[0], p[1]) {
					t.Errorf("point %v outside plot area %+v", p, a)
				}
			}
			// The first point of a series is left of its last; larger y is higher up.
			if ps[0][0] >= ps[7][0] || ps[0][1] <= ps[7][1] {
				t.Errorf("points not ordered: first %v last %v", ps[0], ps[7])
			}
			if got := texts(els, "title"); len(got) != 1 || got[0] != c.Title {
				t.Errorf("title %q, want %q", got, c.Title)
			}
			var legend []string
			for i, e := range els {
				if e.name == "g" && e.attrs["class"] == "legend" && i+2 < len(els) {
					legend = append(legend, els[i+2].text) // <g><rect/><text>name</text></g>
				}
			}
			if strings.Join(legend, "|") != "tcp|inproc & ipc" {
				t.Errorf("legend %q, want both series", legend)
			}
			if ticks := texts(els, "tick"); len(ticks) < 4 {
				t.Errorf("only %d tick labels: %q", len(ticks), ticks)
			}
		})
	}
}

func TestLogTicksAreDecades(t *testing.T) {
	c := Chart{LogX: true, LogY: true, Series: []Series{{Name: "s", X: []float64{64, 1 << 20}, Y: []float64{1, 1e6}}}}
	els := parse(t, c.SVG())
	ticks := texts(els, "tick")
	for _, want := range []string{"10", "100", "1k", "10k", "100k", "1M"} {
		found := false
		for _, got := range ticks {
			if got == want {
				found = true
			}
		}
		if !found {
			t.Errorf("tick %q missing from %q", want, ticks)
		}
	}
}

func TestUndrawablePointsLeftOut(t *testing.T) {
	c := Chart{LogY: true, Series: []Series{{Name: "s",
		X: []float64{1, 2, 3, 4, 5, 6},
		Y: []float64{10, 0, -1, math.NaN(), math.Inf(1), 100}}}}
	els := parse(t, c.SVG())
	a := plotArea(t, els)
	ps := points(t, els)
	if len(ps) != 2 {
		t.Fatalf("%d points, want 2 (10 and 100)", len(ps))
	}
	for _, p := range ps {
		if !a.contains(p[0], p[1]) {
			t.Errorf("point %v outside %+v", p, a)
		}
	}
}

func TestEmptyAndDegenerate(t *testing.T) {
	for _, c := range []Chart{
		{},
		{Title: "one point", Series: []Series{{Name: "a", X: []float64{3}, Y: []float64{7}}}},
		{LogX: true, LogY: true, Series: []Series{{Name: "flat", X: []float64{1, 10, 100}, Y: []float64{5, 5, 5}}}},
		{Series: []Series{{Name: "zeros", X: []float64{0, 0}, Y: []float64{0, 0}}}},
		{Series: []Series{{Name: "short", X: []float64{1, 2, 3}, Y: []float64{1}}}},
	} {
		els := parse(t, c.SVG())
		a := plotArea(t, els)
		for _, p := range points(t, els) {
			if !a.contains(p[0], p[1]) {
				t.Errorf("%q: point %v outside %+v", c.Title, p, a)
			}
		}
	}
}

func TestBarChart(t *testing.T) {
	for _, logY := range []bool{false, true} {
		c := BarChart{
			Title: "memory per idle connection", YLabel: "bytes", LogY: logY,
			Groups: []string{"inproc", "ipc", "tcp"},
			Series: []BarSeries{{Name: "SP", Values: []float64{2000, 9000, 9500}}, {Name: "ZMTP", Values: []float64{2500, 11000, 12000}}},
		}
		svg := c.SVG()
		if !bytes.Equal(svg, c.SVG()) {
			t.Fatal("output is not deterministic")
		}
		els := parse(t, svg)
		a := plotArea(t, els)
		n := 0
		for _, e := range els {
			if e.name != "rect" || e.attrs["class"] != "bar" {
				continue
			}
			n++
			x, y, w, h := f(t, e, "x"), f(t, e, "y"), f(t, e, "width"), f(t, e, "height")
			if w <= 0 || h <= 0 || !a.contains(x, y) || !a.contains(x+w, y+h) {
				t.Errorf("bar %v,%v %vx%v outside %+v", x, y, w, h, a)
			}
		}
		if n != 6 {
			t.Errorf("%d bars, want 6", n)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1: "1", 1500: "1.5k", 1e6: "1M", 0.002: "2m", 2.5e-6: "2.5µ", -3000: "-3k", 12345678: "12.35M"} {
		if got := formatNumber(v); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestNarrowLogRangeHasTicks(t *testing.T) {
	c := Chart{LogY: true, Series: []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{5.1, 5.4}}}}
	els := parse(t, c.SVG())
	var y []string
	for _, e := range els {
		if e.attrs["class"] == "tick" && e.attrs["text-anchor"] == "end" {
			y = append(y, e.text)
		}
	}
	if len(y) < 2 {
		t.Errorf("y ticks %q, want at least 2", y)
	}
}
