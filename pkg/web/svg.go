package web

// The charts are SVG drawn on the server: no JavaScript library, nothing
// fetched, a page that works without scripts, and charts a Go test can
// read. They are inline in the page, so its stylesheet colours them
// (light and dark) through the classes below; every mark has a <title>
// that a screen reader and a hover show.

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
)

// svg accumulates one chart.
type svg struct {
	b    strings.Builder
	w, h float64
}

func newSVG(w, h float64, label string) *svg {
	s := &svg{w: w, h: h}
	fmt.Fprintf(&s.b, `<svg class="chart" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, w, h, w, h, esc(label))
	fmt.Fprintf(&s.b, `<title>%s</title>`, esc(label))
	return s
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func (s *svg) raw(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func (s *svg) text(x, y float64, anchor, class, t string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`, x, y, anchor, class, esc(t))
}

func (s *svg) done() template.HTML {
	s.b.WriteString(`</svg>`)
	return template.HTML(s.b.String()) //nolint:gosec // every text is escaped above
}

// scale maps [lo, hi] onto [a, b].
type scale struct{ lo, hi, a, b float64 }

func newScale(vals []float64, a, b float64) scale {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if lo == hi {
		d := math.Max(math.Abs(lo)*0.05, 0.5)
		lo, hi = lo-d, hi+d
	}
	return scale{lo, hi, a, b}
}

func (c scale) at(v float64) float64 { return c.a + (v-c.lo)/(c.hi-c.lo)*(c.b-c.a) }

// ticks are about n round values across the scale.
func (c scale) ticks(n int) []float64 {
	span := c.hi - c.lo
	step := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var out []float64
	for v := math.Ceil(c.lo/step) * step; v <= c.hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

// num formats a value for an axis or a label.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "NaN"
	case a != 0 && (a >= 1e6 || a < 1e-3):
		return strconv.FormatFloat(v, 'g', 3, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

const (
	padL, padR, padT, padB = 56.0, 16.0, 16.0, 36.0
)

// axes draws a frame with y ticks and, when xs is set, x ticks.
func (s *svg) axes(x, y scale, xlabel, ylabel string, xTicks bool) {
	s.raw(`<g class="axis">`)
	s.raw(`<line x1="%g" y1="%g" x2="%g" y2="%g"/>`, padL, s.h-padB, s.w-padR, s.h-padB)
	s.raw(`<line x1="%g" y1="%g" x2="%g" y2="%g"/>`, padL, padT, padL, s.h-padB)
	for _, t := range y.ticks(5) {
		py := y.at(t)
		s.raw(`<line class="grid" x1="%g" y1="%.1f" x2="%g" y2="%.1f"/>`, padL, py, s.w-padR, py)
		s.text(padL-6, py+4, "end", "tick", num(t))
	}
	if xTicks {
		for _, t := range x.ticks(6) {
			px := x.at(t)
			s.text(px, s.h-padB+16, "middle", "tick", num(t))
		}
	}
	s.raw(`</g>`)
	if xlabel != "" {
		s.text((padL+s.w-padR)/2, s.h-4, "middle", "label", xlabel)
	}
	if ylabel != "" {
		s.raw(`<text transform="translate(12 %.1f) rotate(-90)" text-anchor="middle" class="label">%s</text>`, (padT+s.h-padB)/2, esc(ylabel))
	}
}

// series is one line of a line chart.
type series struct {
	Name string
	X, Y []float64
}

// lineChart draws series over a shared x axis.
func lineChart(title, xlabel, ylabel string, ss []series) template.HTML {
	s := newSVG(560, 260, title)
	var xs, ys []float64
	for _, se := range ss {
		xs = append(xs, se.X...)
		ys = append(ys, se.Y...)
	}
	x := newScale(xs, padL, s.w-padR)
	y := newScale(ys, s.h-padB, padT)
	s.axes(x, y, xlabel, ylabel, true)
	for i, se := range ss {
		var pts []string
		for k := range se.X {
			if math.IsNaN(se.Y[k]) || math.IsInf(se.Y[k], 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x.at(se.X[k]), y.at(se.Y[k])))
		}
		s.raw(`<polyline class="series s%d" points="%s"><title>%s</title></polyline>`, i%8, strings.Join(pts, " "), esc(se.Name))
		if len(pts) == 1 {
			p := strings.Split(pts[0], ",")
			s.raw(`<circle class="dot s%d" cx="%s" cy="%s" r="3"/>`, i%8, p[0], p[1])
		}
	}
	s.legend(ss)
	return s.done()
}

func (s *svg) legend(ss []series) {
	if len(ss) < 2 {
		return
	}
	for i, se := range ss {
		y := padT + 4 + float64(i)*14
		s.raw(`<rect class="key s%d" x="%g" y="%.1f" width="10" height="10"/>`, i%8, s.w-padR-140, y-9)
		s.text(s.w-padR-126, y, "start", "legend", se.Name)
	}
}

// bar is one bar of a bar chart.
type bar struct {
	Label string
	Value float64
	Best  bool
}

// barChart draws one bar per label.
func barChart(title string, bars []bar) template.HTML {
	s := newSVG(360, 220, title)
	vals := []float64{0}
	for _, b := range bars {
		vals = append(vals, b.Value)
	}
	y := newScale(vals, s.h-padB, padT)
	s.axes(scale{}, y, "", title, false)
	if len(bars) == 0 {
		return s.done()
	}
	slot := (s.w - padL - padR) / float64(len(bars))
	for i, b := range bars {
		x0 := padL + float64(i)*slot + slot*0.15
		y0, y1 := y.at(0), y.at(b.Value)
		top, hgt := math.Min(y0, y1), math.Abs(y1-y0)
		cls := "bar"
		if b.Best {
			cls += " best"
		}
		s.raw(`<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`, cls, x0, top, slot*0.7, math.Max(hgt, 1), esc(b.Label), num(b.Value))
		s.text(x0+slot*0.35, s.h-padB+14, "middle", "tick", shorten(b.Label, int(slot/6)))
	}
	return s.done()
}

func shorten(s string, n int) string {
	n = max(n, 4)
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// point is one point of a scatter plot.
type point struct {
	Label string
	X, Y  float64
}

// scatter plots points with their labels.
func scatter(title, xlabel, ylabel string, pts []point) template.HTML {
	s := newSVG(560, 300, title)
	var xs, ys []float64
	for _, p := range pts {
		xs, ys = append(xs, p.X), append(ys, p.Y)
	}
	x := newScale(xs, padL+8, s.w-padR-8)
	y := newScale(ys, s.h-padB-8, padT+8)
	s.axes(x, y, xlabel, ylabel, true)
	for _, p := range pts {
		s.raw(`<circle class="dot s0" cx="%.1f" cy="%.1f" r="5"><title>%s: %s = %s, %s = %s</title></circle>`, x.at(p.X), y.at(p.Y), esc(p.Label), esc(xlabel), num(p.X), esc(ylabel), num(p.Y))
		if px := x.at(p.X); px > s.w*0.7 {
			s.text(px-7, y.at(p.Y)-6, "end", "legend", shorten(p.Label, 18))
		} else {
			s.text(px+7, y.at(p.Y)-6, "start", "legend", shorten(p.Label, 18))
		}
	}
	return s.done()
}

// pcAxis is one axis of a parallel-coordinates chart: numbers, or labels
// placed evenly.
type pcAxis struct {
	Name   string
	Values []string // per line; "" when unset
}

// parallel draws one line per run across the axes; the last axis is the
// metric, and the line's shade follows it.
func parallel(title string, axes []pcAxis, lines []string, metric []float64, lowerBetter bool) template.HTML {
	s := newSVG(max(420, 130*float64(len(axes))), 280, title)
	if len(axes) < 2 {
		s.text(s.w/2, s.h/2, "middle", "label", "nothing differs between the runs to draw")
		return s.done()
	}
	top, bot := padT+12, s.h-padB
	step := (s.w - padL - padR) / float64(len(axes)-1)
	type ax struct {
		numeric bool
		sc      scale
		cats    []string
	}
	built := make([]ax, len(axes))
	for i, a := range axes {
		var vals []float64
		numeric := true
		for _, v := range a.Values {
			if v == "" {
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				numeric = false
				break
			}
			vals = append(vals, f)
		}
		if numeric {
			built[i] = ax{numeric: true, sc: newScale(vals, bot, top)}
		} else {
			cats := slices.Compact(slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(a.Values), func(v string) bool { return v == "" }))))
			built[i] = ax{cats: cats}
		}
		px := padL + float64(i)*step
		s.raw(`<line class="axis-line" x1="%.1f" y1="%g" x2="%.1f" y2="%g"/>`, px, top, px, bot)
		s.text(px, padT, "middle", "label", shorten(a.Name, 22))
		if built[i].numeric {
			sc := built[i].sc
			s.text(px-4, top+4, "end", "tick", num(sc.hi))
			s.text(px-4, bot, "end", "tick", num(sc.lo))
		} else {
			for k, c := range built[i].cats {
				s.text(px-4, catY(k, len(built[i].cats), top, bot)+4, "end", "tick", shorten(c, 14))
			}
		}
	}
	mscale := newScale(metric, 0, 1)
	for li, name := range lines {
		var pts []string
		for i, a := range axes {
			v := a.Values[li]
			if v == "" {
				continue
			}
			var py float64
			if built[i].numeric {
				f, _ := strconv.ParseFloat(v, 64)
				py = built[i].sc.at(f)
			} else {
				py = catY(slices.Index(built[i].cats, v), len(built[i].cats), top, bot)
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", padL+float64(i)*step, py))
		}
		shade := mscale.at(metric[li])
		if lowerBetter {
			shade = 1 - shade
		}
		s.raw(`<polyline class="pc" style="opacity:%.2f" points="%s"><title>%s: %s</title></polyline>`, 0.35+0.65*shade, strings.Join(pts, " "), esc(name), num(metric[li]))
	}
	return s.done()
}

func catY(k, n int, top, bot float64) float64 {
	if n <= 1 {
		return (top + bot) / 2
	}
	return top + float64(k)/float64(n-1)*(bot-top)
}

// span is one holder of an alias over time, for the timeline.
type span struct {
	Alias      string
	Version    int
	From, To   float64 // unix seconds; To is now for the holder
	Action     string
	Tooltip    string
	Unassigned bool
}

// timeline draws each alias as a lane, its holders as segments.
func timeline(title string, aliases []string, spans []span, t0, t1 float64) template.HTML {
	h := padT + 26*float64(len(aliases)) + padB
	s := newSVG(640, h, title)
	x := scale{lo: t0, hi: math.Max(t1, t0+1), a: padL + 40, b: s.w - padR}
	for i, a := range aliases {
		y := padT + 26*float64(i)
		s.text(padL+34, y+15, "end", "label", shorten(a, 14))
		for _, sp := range spans {
			if sp.Alias != a || sp.Unassigned {
				continue
			}
			x0, x1 := x.at(sp.From), x.at(sp.To)
			s.raw(`<rect class="holder s%d" x="%.1f" y="%.1f" width="%.1f" height="18"><title>%s</title></rect>`, sp.Version%8, x0, y+2, math.Max(x1-x0, 3), esc(sp.Tooltip))
			if x1-x0 > 22 {
				s.text(x0+4, y+15, "start", "on-bar", "v"+strconv.Itoa(sp.Version))
			}
		}
	}
	return s.done()
}
