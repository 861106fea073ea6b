// Package plots draws the PNG charts of a run with gonum/plot: predicted
// against actual, residuals, feature importances and loss curves.
package plots

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

const (
	width  = 6 * vg.Inch
	height = 4.5 * vg.Inch
)

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	grey   = color.RGBA{R: 120, G: 120, B: 120, A: 255}
)

func encodePNG(p *plot.Plot) ([]byte, error) {
	w, err := p.WriterTo(width, height, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// PredictedVsActual is a scatter of predictions against true values with
// the y = x line.
func PredictedVsActual(title string, truth, pred []float64) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "actual"
	p.Y.Label.Text = "predicted"
	pts := make(plotter.XYs, len(truth))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range truth {
		pts[i] = plotter.XY{X: truth[i], Y: pred[i]}
		lo, hi = min(lo, truth[i], pred[i]), max(hi, truth[i], pred[i])
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, err
	}
	s.Radius = vg.Points(1.2)
	s.Color = color.RGBA{R: 31, G: 119, B: 180, A: 90}
	diag, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return nil, err
	}
	diag.Color = orange
	p.Add(s, diag, plotter.NewGrid())
	return encodePNG(p)
}

// Residuals is a histogram of prediction errors (predicted − actual).
func Residuals(title string, truth, pred []float64) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "residual (predicted − actual)"
	p.Y.Label.Text = "rows"
	v := make(plotter.Values, len(truth))
	for i := range truth {
		v[i] = pred[i] - truth[i]
	}
	h, err := plotter.NewHist(v, 60)
	if err != nil {
		return nil, err
	}
	h.FillColor = blue
	h.LineStyle.Width = 0
	p.Add(h, plotter.NewGrid())
	return encodePNG(p)
}

// Importances is a horizontal bar chart of feature importances, largest on
// top.
func Importances(title string, names []string, imp []float64) ([]byte, error) {
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case imp[a] < imp[b]:
			return -1
		case imp[a] > imp[b]:
			return 1
		}
		return 0
	})
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "share of importance"
	vals := make(plotter.Values, len(idx))
	labels := make([]string, len(idx))
	for i, j := range idx {
		vals[i], labels[i] = imp[j], names[j]
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return nil, err
	}
	bars.Horizontal = true
	bars.Color = blue
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.X.Min = 0
	if len(vals) > 0 {
		p.X.Max = 1.05 * slices.Max(vals)
	}
	p.NominalY(labels...)
	return encodePNG(p)
}

// LossCurve draws the training and (when given) validation loss per
// iteration, marking the best iteration.
func LossCurve(title string, train, valid []float64, best int) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = "half mean squared error"
	line := func(ys []float64, c color.Color, name string) error {
		var pts plotter.XYs
		for i, y := range ys {
			if !math.IsNaN(y) {
				pts = append(pts, plotter.XY{X: float64(i + 1), Y: y})
			}
		}
		if len(pts) == 0 {
			return nil
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = c
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	if err := line(train, blue, "train"); err != nil {
		return nil, err
	}
	if err := line(valid, orange, "validation"); err != nil {
		return nil, err
	}
	if best > 0 && best <= len(train) {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, y := range slices.Concat(train, valid) {
			if !math.IsNaN(y) {
				lo, hi = min(lo, y), max(hi, y)
			}
		}
		m, err := plotter.NewLine(plotter.XYs{{X: float64(best), Y: lo}, {X: float64(best), Y: hi}})
		if err != nil {
			return nil, err
		}
		m.Color = grey
		m.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(m)
		p.Legend.Add(fmt.Sprintf("best (%d)", best), m)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return encodePNG(p)
}

// Comparison draws runs side by side: one panel of grouped bars per
// metric (each metric's own scale), and below it the loss curves of the
// runs that have one (curves[i] nil for the others).
func Comparison(title string, runs, metrics []string, values [][]float64, curves [][]float64) ([]byte, error) {
	palette := []color.Color{blue, orange, color.RGBA{R: 44, G: 160, B: 44, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255},
		color.RGBA{R: 148, G: 103, B: 189, A: 255}, color.RGBA{R: 140, G: 86, B: 75, A: 255}, grey}
	var panels []*plot.Plot
	for j, m := range metrics {
		p := plot.New()
		p.Title.Text = m
		w := vg.Points(12)
		for i := range runs {
			v := values[i][j]
			if math.IsNaN(v) {
				v = 0
			}
			b, err := plotter.NewBarChart(plotter.Values{v}, w)
			if err != nil {
				return nil, err
			}
			b.Color = palette[i%len(palette)]
			b.LineStyle.Width = 0
			b.Offset = w * vg.Length(float64(i)-float64(len(runs)-1)/2)
			p.Add(b)
			if j == 0 {
				p.Legend.Add(runs[i], b)
			}
		}
		p.HideX()
		p.Legend.Top = true
		panels = append(panels, p)
	}
	var loss *plot.Plot
	for i, c := range curves {
		if len(c) == 0 {
			continue
		}
		if loss == nil {
			loss = plot.New()
			loss.Title.Text = "training loss per iteration"
			loss.X.Label.Text = "iteration"
			loss.Add(plotter.NewGrid())
		}
		pts := make(plotter.XYs, 0, len(c))
		for k, y := range c {
			pts = append(pts, plotter.XY{X: float64(k + 1), Y: y})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		loss.Add(l)
		loss.Legend.Add(runs[i], l)
	}
	cols := max(1, min(len(panels), 4))
	rows := (len(panels) + cols - 1) / cols
	h := vg.Length(rows) * 3 * vg.Inch
	if loss != nil {
		h += 4 * vg.Inch
	}
	img := vgimg.New(vg.Length(cols)*3*vg.Inch, h)
	dc := draw.New(img)
	top := dc
	if loss != nil {
		frac := 4 * vg.Inch / h
		bottom := dc
		bottom.Max.Y = dc.Min.Y + (dc.Max.Y-dc.Min.Y)*frac
		top.Min.Y = bottom.Max.Y
		loss.Title.Text = title + ": " + loss.Title.Text
		loss.Draw(bottom)
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(8), PadY: vg.Points(8), PadTop: vg.Points(4)}
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
		for c := range cols {
			if k := r*cols + c; k < len(panels) {
				grid[r][c] = panels[k]
			}
		}
	}
	canvases := plot.Align(grid, tiles, top)
	for r := range grid {
		for c := range grid[r] {
			if grid[r][c] != nil {
				grid[r][c].Draw(canvases[r][c])
			}
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DriftBars is a horizontal bar chart of a statistic per feature (e.g.
// PSI), with dashed lines at the warn and alert thresholds.
func DriftBars(title string, names []string, values []float64, warn, alert float64) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	v := make(plotter.Values, len(values))
	for i, x := range values {
		if math.IsNaN(x) {
			x = 0
		}
		v[i] = x
	}
	b, err := plotter.NewBarChart(v, vg.Points(14))
	if err != nil {
		return nil, err
	}
	b.Horizontal = true
	b.Color = blue
	b.LineStyle.Width = 0
	p.Add(b)
	p.NominalY(names...)
	n := float64(len(values))
	for _, th := range []struct {
		x float64
		c color.Color
		l string
	}{{warn, orange, fmt.Sprintf("warn %.2f", warn)}, {alert, color.RGBA{R: 214, G: 39, B: 40, A: 255}, fmt.Sprintf("alert %.2f", alert)}} {
		l, err := plotter.NewLine(plotter.XYs{{X: th.x, Y: -0.5}, {X: th.x, Y: n - 0.5}})
		if err != nil {
			return nil, err
		}
		l.Color = th.c
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(th.l, l)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return encodePNG(p)
}

// Distributions overlays the live values' histogram on the training
// distribution given by its equally spaced quantiles, both as densities.
func Distributions(title, xlabel string, live, quantiles []float64) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = "density"
	if len(live) > 0 {
		h, err := plotter.NewHist(plotter.Values(live), 40)
		if err != nil {
			return nil, err
		}
		h.Normalize(1)
		h.FillColor = color.RGBA{R: 31, G: 119, B: 180, A: 110}
		h.LineStyle.Width = 0
		p.Add(h)
		p.Legend.Add("live", h)
	}
	// The training density between consecutive quantiles: equal mass over
	// each interval.
	var pts plotter.XYs
	mass := 1 / float64(len(quantiles)-1)
	for i := 0; i+1 < len(quantiles); i++ {
		w := quantiles[i+1] - quantiles[i]
		if w <= 0 {
			continue
		}
		pts = append(pts, plotter.XY{X: quantiles[i], Y: mass / w}, plotter.XY{X: quantiles[i+1], Y: mass / w})
	}
	if len(pts) > 0 {
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.Color = orange
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add("training", l)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return encodePNG(p)
}

// Series draws one line per name over time (x: Unix seconds, shown as
// dates).
func Series(title, ylabel string, names []string, xs, ys [][]float64) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = plot.TimeTicks{Format: "01-02 15:04"}
	palette := []color.Color{blue, orange, grey, color.RGBA{R: 44, G: 160, B: 44, A: 255}}
	for i, name := range names {
		pts := make(plotter.XYs, len(xs[i]))
		for k := range xs[i] {
			pts[k] = plotter.XY{X: xs[i][k], Y: ys[i][k]}
		}
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		l.Color, s.Color = palette[i%len(palette)], palette[i%len(palette)]
		p.Add(l, s)
		p.Legend.Add(name, l)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return encodePNG(p)
}
