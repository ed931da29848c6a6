// Package plot draws small SVG charts for the benchmark reports: line charts
// of named series on linear or log10 axes, and grouped bar charts. It uses
// the standard library only.
//
// Output is deterministic (the same chart gives the same bytes), so committed
// plots diff cleanly. A point that cannot be drawn (NaN, an infinity, or a
// value that is not positive on a log axis) is left out.
//
//	svg := plot.Chart{
//		Title:  "push/pull cost against message size",
//		XLabel: "message size [B]", YLabel: "ns/msg",
//		LogX:   true, LogY: true,
//		Series: []plot.Series{{Name: "tcp", X: sizes, Y: nsPerMsg}},
//	}.SVG()
package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Series is one named line of a Chart: the points (X[i], Y[i]), drawn in the
// order given. If X and Y differ in length, the extra values are ignored.
type Series struct {
	Name string
	X, Y []float64
}

// Chart is a line chart. The zero value of each field is a usable default:
// linear axes and a 720×440 picture.
type Chart struct {
	Title, XLabel, YLabel string
	// LogX and LogY make an axis log10.
	LogX, LogY bool
	// Width and Height are the picture's size in pixels; if zero, 720 and 440.
	Width, Height int
	// Series are drawn in order, each in its own colour, and named in the
	// legend.
	Series []Series
}

// BarSeries is one named set of bars of a BarChart: Values[i] belongs to
// the chart's Groups[i].
type BarSeries struct {
	Name   string
	Values []float64
}

// BarChart is a grouped bar chart: one group of bars per entry of Groups,
// one bar per series in each group.
type BarChart struct {
	Title, YLabel string
	// LogY makes the value axis log10 (bars then start at the axis' bottom).
	LogY bool
	// Width and Height are the picture's size in pixels; if zero, 720 and 440.
	Width, Height int
	// Groups name the groups along the x axis.
	Groups []string
	Series []BarSeries
}

// palette is a fixed list of distinguishable colours, used in order.
var palette = []string{
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
}

// color is the colour of the i-th series.
func color(i int) string { return palette[i%len(palette)] }

// Margins around the plot area, in pixels.
const (
	marginLeft   = 80
	marginRight  = 20
	marginTop    = 40
	marginBottom = 56
	legendRow    = 18
)

// axis maps data values to pixels along one direction.
type axis struct {
	log      bool
	lo, hi   float64 // data range (log10 of it when log)
	p0, p1   float64 // pixel positions of lo and hi
	ticks    []float64
	labels   []string
	hasRange bool
}

// usable says whether v can be drawn on an axis with the given scale.
func usable(v float64, log bool) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	return !log || v > 0
}

// newAxis makes an axis spanning the values vs (with zero added when
// includeZero, for bars on a linear axis), mapped to pixels p0..p1.
func newAxis(vs []float64, log, includeZero bool, p0, p1 float64) *axis {
	a := &axis{log: log, p0: p0, p1: p1}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if !usable(v, log) {
			continue
		}
		if log {
			v = math.Log10(v)
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if includeZero && !log {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	}
	if lo > hi { // no usable value
		lo, hi = 0, 1
	} else {
		a.hasRange = true
	}
	if lo == hi {
		if log {
			lo, hi = lo-0.5, hi+0.5
		} else if lo == 0 {
			lo, hi = -1, 1
		} else {
			d := math.Abs(lo) * 0.1
			lo, hi = lo-d, hi+d
		}
	}
	if log {
		a.logTicks(lo, hi)
	} else {
		a.linearTicks(lo, hi)
	}
	return a
}

// linearTicks picks about six ticks at 1, 2 or 5 times a power of ten and
// widens the range to the outer ticks.
func (a *axis) linearTicks(lo, hi float64) {
	step := niceStep((hi - lo) / 5)
	start := math.Floor(lo/step) * step
	end := math.Ceil(hi/step) * step
	a.lo, a.hi = start, end
	for i := 0; ; i++ {
		v := start + float64(i)*step
		if v > end+step/2 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		a.ticks = append(a.ticks, v)
		a.labels = append(a.labels, formatNumber(v))
	}
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	switch f := x / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	default:
		return 10 * p
	}
}

// logTicks takes the range (in log10 units) with a little room either side
// and ticks each decade inside it (every second or more when there are
// many); a range of two decades or less also gets ticks at 2 and 5 times each
// decade, and one of a decade or less at every whole multiple.
func (a *axis) logTicks(lo, hi float64) {
	pad := (hi - lo) * 0.04
	a.lo, a.hi = lo-pad, hi+pad
	span := a.hi - a.lo
	every := 1 + int(span)/10
	first, last := int(math.Floor(a.lo)), int(math.Ceil(a.hi))
	mults := []float64{1}
	switch {
	case span <= 1:
		mults = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	case span <= 2:
		mults = []float64{1, 2, 5}
	}
	for d := first; d <= last; d++ {
		for _, m := range mults {
			v := float64(d) + math.Log10(m)
			if v < a.lo-1e-9 || v > a.hi+1e-9 {
				continue
			}
			if m == 1 && (d-first)%every != 0 {
				continue
			}
			a.ticks = append(a.ticks, v)
			a.labels = append(a.labels, formatNumber(m*math.Pow(10, float64(d))))
		}
	}
	if len(a.ticks) < 2 { // a narrow range: label its ends
		a.ticks = []float64{a.lo, a.hi}
		a.labels = []string{formatNumber(round(math.Pow(10, a.lo), 3)), formatNumber(round(math.Pow(10, a.hi), 3))}
	}
}

// pos is the pixel position of the data value v (which must be usable).
func (a *axis) pos(v float64) float64 {
	if a.log {
		v = math.Log10(v)
	}
	return a.p0 + (v-a.lo)/(a.hi-a.lo)*(a.p1-a.p0)
}

// tickPos is the pixel position of the i-th tick.
func (a *axis) tickPos(i int) float64 {
	return a.p0 + (a.ticks[i]-a.lo)/(a.hi-a.lo)*(a.p1-a.p0)
}

// formatNumber writes v briefly, with k, M, G or m, µ, n suffixes for large
// and small magnitudes: 1500 is "1.5k", 0.002 is "2m".
func formatNumber(v float64) string {
	if v == 0 {
		return "0"
	}
	av := math.Abs(v)
	type unit struct {
		div    float64
		suffix string
	}
	u := unit{1, ""}
	for _, c := range []unit{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if av >= c.div {
			u = c
			break
		}
	}
	if av < 1e-2 {
		for _, c := range []unit{{1e-3, "m"}, {1e-6, "µ"}, {1e-9, "n"}} {
			u = c
			if av >= c.div {
				break
			}
		}
	}
	return strconv.FormatFloat(round(v/u.div, 4), 'g', -1, 64) + u.suffix
}

// round rounds v to n significant digits.
func round(v float64, n int) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// num formats a pixel coordinate with one decimal.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// canvas holds the picture's geometry.
type canvas struct {
	w, h                   float64
	left, right, top, bott float64 // plot area edges
}

// newCanvas lays out a w×h picture with room for a legend of n entries
// below the plot area.
func newCanvas(w, h, n int) canvas {
	if w <= 0 {
		w = 720
	}
	if h <= 0 {
		h = 440
	}
	rows := (n + 2) / 3
	c := canvas{w: float64(w), h: float64(h)}
	c.left, c.right = marginLeft, c.w-marginRight
	c.top = marginTop
	c.bott = c.h - marginBottom - float64(rows*legendRow)
	if c.bott < c.top+20 {
		c.bott = c.top + 20
	}
	return c
}

// header writes the SVG opening, background and title.
func (c canvas) header(b *bytes.Buffer, title string) {
	fmt.Fprintf(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="sans-serif" font-size="12">`+"\n",
		num(c.w), num(c.h), num(c.w), num(c.h))
	fmt.Fprintf(b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	if title != "" {
		fmt.Fprintf(b, `<text class="title" x="%s" y="24" text-anchor="middle" font-size="15" font-weight="bold">%s</text>`+"\n",
			num(c.w/2), esc(title))
	}
}

// frame writes the plot area's border, over the grid lines.
func (c canvas) frame(b *bytes.Buffer) {
	fmt.Fprintf(b, `<rect class="plot-area" x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#333"/>`+"\n",
		num(c.left), num(c.top), num(c.right-c.left), num(c.bott-c.top))
}

// yAxis writes the y ticks, grid lines and label.
func (c canvas) yAxis(b *bytes.Buffer, y *axis, label string) {
	for i, l := range y.labels {
		p := y.tickPos(i)
		fmt.Fprintf(b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>`+"\n",
			num(c.left), num(p), num(c.right), num(p))
		fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>`+"\n",
			num(c.left-6), num(p+4), esc(l))
	}
	if label != "" {
		cy := (c.top + c.bott) / 2
		fmt.Fprintf(b, `<text class="ylabel" x="18" y="%s" text-anchor="middle" transform="rotate(-90 18 %s)">%s</text>`+"\n",
			num(cy), num(cy), esc(label))
	}
}

// legend writes the legend entries, three to a row, below the x label.
func (c canvas) legend(b *bytes.Buffer, names []string) {
	colw := (c.right - c.left) / 3
	for i, n := range names {
		x := c.left + float64(i%3)*colw
		y := c.bott + 46 + float64(i/3)*legendRow
		fmt.Fprintf(b, `<g class="legend"><rect x="%s" y="%s" width="14" height="10" fill="%s"/><text x="%s" y="%s">%s</text></g>`+"\n",
			num(x), num(y-9), color(i), num(x+20), num(y), esc(n))
	}
}

// SVG draws the chart as a standalone SVG document.
func (ch Chart) SVG() []byte {
	c := newCanvas(ch.Width, ch.Height, len(ch.Series))
	var xs, ys []float64
	for _, s := range ch.Series {
		n := min(len(s.X), len(s.Y))
		for i := 0; i < n; i++ {
			if usable(s.X[i], ch.LogX) && usable(s.Y[i], ch.LogY) {
				xs = append(xs, s.X[i])
				ys = append(ys, s.Y[i])
			}
		}
	}
	x := newAxis(xs, ch.LogX, false, c.left, c.right)
	y := newAxis(ys, ch.LogY, false, c.bott, c.top)

	var b bytes.Buffer
	c.header(&b, ch.Title)
	c.yAxis(&b, y, ch.YLabel)
	for i, l := range x.labels {
		p := x.tickPos(i)
		fmt.Fprintf(&b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>`+"\n",
			num(p), num(c.top), num(p), num(c.bott))
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>`+"\n",
			num(p), num(c.bott+16), esc(l))
	}
	if ch.XLabel != "" {
		fmt.Fprintf(&b, `<text class="xlabel" x="%s" y="%s" text-anchor="middle">%s</text>`+"\n",
			num((c.left+c.right)/2), num(c.bott+34), esc(ch.XLabel))
	}
	names := make([]string, len(ch.Series))
	for si, s := range ch.Series {
		names[si] = s.Name
		fmt.Fprintf(&b, `<g class="series" fill="%s" stroke="%s">`+"\n", color(si), color(si))
		var pts []string
		n := min(len(s.X), len(s.Y))
		for i := 0; i < n; i++ {
			if !usable(s.X[i], ch.LogX) || !usable(s.Y[i], ch.LogY) {
				continue
			}
			pts = append(pts, num(x.pos(s.X[i]))+","+num(y.pos(s.Y[i])))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke-width="2" points="%s"/>`+"\n", strings.Join(pts, " "))
		}
		for _, p := range pts {
			xy := strings.SplitN(p, ",", 2)
			fmt.Fprintf(&b, `<circle class="point" cx="%s" cy="%s" r="3"/>`+"\n", xy[0], xy[1])
		}
		b.WriteString("</g>\n")
	}
	c.frame(&b)
	c.legend(&b, names)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// SVG draws the bar chart as a standalone SVG document.
func (ch BarChart) SVG() []byte {
	c := newCanvas(ch.Width, ch.Height, len(ch.Series))
	var vs []float64
	for _, s := range ch.Series {
		for i, v := range s.Values {
			if i < len(ch.Groups) {
				vs = append(vs, v)
			}
		}
	}
	y := newAxis(vs, ch.LogY, true, c.bott, c.top)

	var b bytes.Buffer
	c.header(&b, ch.Title)
	c.yAxis(&b, y, ch.YLabel)
	ng := max(len(ch.Groups), 1)
	ns := max(len(ch.Series), 1)
	gw := (c.right - c.left) / float64(ng)
	bw := gw * 0.8 / float64(ns)
	base := c.bott // bars grow from zero, or from the bottom on a log axis
	if !ch.LogY {
		base = y.pos(0)
	}
	for gi, g := range ch.Groups {
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>`+"\n",
			num(c.left+gw*(float64(gi)+0.5)), num(c.bott+16), esc(g))
	}
	names := make([]string, len(ch.Series))
	for si, s := range ch.Series {
		names[si] = s.Name
		fmt.Fprintf(&b, `<g class="series" fill="%s">`+"\n", color(si))
		for gi, v := range s.Values {
			if gi >= len(ch.Groups) || !usable(v, ch.LogY) {
				continue
			}
			x := c.left + gw*float64(gi) + gw*0.1 + bw*float64(si)
			top, bot := y.pos(v), base
			if top > bot {
				top, bot = bot, top
			}
			fmt.Fprintf(&b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`+"\n",
				num(x), num(top), num(bw), num(bot-top), esc(s.Name+" "+ch.Groups[gi]+": "+formatNumber(v)))
		}
		b.WriteString("</g>\n")
	}
	c.frame(&b)
	c.legend(&b, names)
	b.WriteString("</svg>\n")
	return b.Bytes()
}
