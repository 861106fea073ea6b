package web

// The monitoring page: for a model, one view per version and variant (a
// split's aliases, a shadow) over a window of the prediction log: request
// and prediction counts over time, latency percentiles, each feature's
// distribution against its training reference with PSI and KS, and the
// live RMSE and MAE from feedback.

import (
	"cmp"
	"fmt"
	"html/template"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/housectl/housectl/pkg/eval"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/monitor"
	"github.com/housectl/housectl/pkg/store"
)

type driftRow struct {
	Feature, PSI, KS, Status, Class string
	Rows                            int
}

type monitorView struct {
	ID, Title                   string
	Requests, Feedback          int
	P50, P95, P99               string
	LiveRMSE, LiveMAE, TestRMSE string
	Charts, DriftCharts         []template.HTML
	Drift                       []driftRow
}

type monitorData struct {
	base
	HasLog                             bool
	Model, Window                      string
	Models, Windows                    []string
	Views                              []monitorView
	PSIWarn, PSIAlert, KSWarn, KSAlert string
}

var windows = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

func (s *Server) monitorPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	t := s.o.Thresholds
	d := monitorData{base: s.base("Monitoring", "monitor"), HasLog: s.o.Log != nil, Model: q.Get("model"), Window: q.Get("window"),
		Windows: []string{"1h", "24h", "7d", "30d"},
		PSIWarn: num(t.PSIWarn), PSIAlert: num(t.PSIAlert), KSWarn: num(t.KSWarn), KSAlert: num(t.KSAlert)}
	if _, ok := windows[d.Window]; !ok {
		d.Window = "24h"
	}
	names, err := s.reg.ModelNames(ctx)
	if err != nil {
		http.Error(w, "reading the registry: "+err.Error(), http.StatusInternalServerError)
		return
	}
	d.Models = names
	if d.Model == "" && len(names) > 0 {
		d.Model = names[0]
	}
	if s.o.Log == nil || d.Model == "" {
		s.render(w, "monitor", http.StatusOK, d)
		return
	}
	now := s.now()
	from := now.Add(-windows[d.Window])
	rows, err := s.o.Log.Rows(ctx, store.Query{From: from, Model: d.Model, Shadows: store.WithShadows, Ascending: true})
	if err != nil {
		http.Error(w, "reading the prediction log: "+err.Error(), http.StatusInternalServerError)
		return
	}
	joined, err := s.o.Log.Joined(ctx, store.Query{From: from, Model: d.Model, Shadows: store.WithShadows})
	if err != nil {
		http.Error(w, "reading the prediction log: "+err.Error(), http.StatusInternalServerError)
		return
	}
	type viewKey struct {
		version, variant string
		shadow           bool
	}
	groups := map[viewKey][]store.Row{}
	for _, row := range rows {
		k := viewKey{row.Version, row.Variant, row.Shadow}
		groups[k] = append(groups[k], row)
	}
	keys := make([]viewKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b viewKey) int {
		x, _ := strconv.Atoi(a.version)
		y, _ := strconv.Atoi(b.version)
		return cmp.Or(cmp.Compare(y, x), cmp.Compare(a.variant, b.variant), cmp.Compare(boolInt(a.shadow), boolInt(b.shadow)))
	})
	bucket := windows[d.Window] / 48
	for i, k := range keys {
		title := "version " + k.version
		if k.variant != "" {
			title += " (@" + k.variant + ")"
		}
		if k.shadow {
			title += ", shadow"
		}
		v := monitorView{ID: strconv.Itoa(i), Title: title, Requests: len(groups[k])}
		g := groups[k]
		v.Charts = append(v.Charts, countsChart(g, from, bucket), latencyChart(g, from, bucket))
		lat := requestLatencies(g)
		v.P50, v.P95, v.P99 = ms(quantile(lat, 0.5)), ms(quantile(lat, 0.95)), ms(quantile(lat, 0.99))
		var fb []store.Joined
		for _, j := range joined {
			if j.Version == k.version && j.Variant == k.variant && j.Shadow == k.shadow {
				fb = append(fb, j)
			}
		}
		v.Feedback = len(fb)
		n, _ := strconv.Atoi(k.version)
		ver, verr := s.reg.Version(d.Model, n)
		if verr == nil {
			if x, ok := ver.Metrics["rmse"]; ok {
				v.TestRMSE = num(x)
			}
		}
		if len(fb) > 0 {
			truth, pred := make([]float64, len(fb)), make([]float64, len(fb))
			for i, j := range fb {
				truth[i], pred[i] = j.Actual, j.Prediction
			}
			m := eval.Compute(truth, pred)
			v.LiveRMSE, v.LiveMAE = num(m[eval.RMSE]), num(m[eval.MAE])
			perf := monitor.Performance(fb, from, bucket)
			rm, ma := series{Name: "live RMSE"}, series{Name: "live MAE"}
			for _, p := range perf {
				if p.From.IsZero() {
					continue
				}
				x := p.From.Sub(from).Hours()
				rm.X, rm.Y = append(rm.X, x), append(rm.Y, p.RMSE)
				ma.X, ma.Y = append(ma.X, x), append(ma.Y, p.MAE)
			}
			v.Charts = append(v.Charts, lineChart("live accuracy from feedback", "hours into the window", "error", []series{rm, ma}))
		}
		if verr == nil && ver.Model != "external" {
			if a, err := s.reg.Load(ctx, ver); err == nil {
				v.Drift, v.DriftCharts = s.drift(a.Header, g)
			}
		}
		d.Views = append(d.Views, v)
	}
	s.render(w, "monitor", http.StatusOK, d)
}

// drift measures each feature and draws the CDFs of the ones that drift
// (or the first few).
func (s *Server) drift(h model.Header, rows []store.Row) ([]driftRow, []template.HTML) {
	rep, _, err := monitor.DriftOf(h, rows, s.o.Thresholds)
	if err != nil {
		return []driftRow{{Feature: "drift unavailable: " + err.Error()}}, nil
	}
	var out []driftRow
	all := append(slices.Clone(rep.Features), rep.Prediction)
	for _, f := range all {
		class := map[string]string{monitor.StatusAlert: "alert", monitor.StatusWarn: "warn", monitor.StatusOK: "ok"}[f.Status]
		row := driftRow{Feature: f.Name, Rows: f.Rows, PSI: num(f.PSI), KS: num(f.KS), Status: f.Status, Class: class}
		if math.IsNaN(f.PSI) {
			row.PSI, row.KS = "–", "–"
			row.Status = fmt.Sprintf("not enough rows (%d of %d)", f.Rows, s.o.Thresholds.MinRows)
		}
		out = append(out, row)
	}
	cols, _ := monitor.Columns(h, rows)
	var charts []template.HTML
	for j, f := range rep.Features {
		if len(charts) >= 4 && f.Status != monitor.StatusAlert && f.Status != monitor.StatusWarn {
			continue
		}
		charts = append(charts, cdfChart(monitor.RefFromSummary(h.Training[j]), cols[j], f))
	}
	return out, charts
}

// cdfChart draws the training reference's CDF against the live one: KS
// is their largest gap.
func cdfChart(ref monitor.Reference, live []float64, res monitor.Result) template.HTML {
	title := fmt.Sprintf("%s: PSI %s, KS %s", ref.Name, num(res.PSI), num(res.KS))
	if len(ref.Quantiles) < 2 {
		return lineChart(title, ref.Name, "share ≤ x", nil)
	}
	tr := series{Name: "training"}
	for i, q := range ref.Quantiles {
		tr.X, tr.Y = append(tr.X, q), append(tr.Y, float64(i)/float64(len(ref.Quantiles)-1))
	}
	lv := series{Name: "live"}
	sorted := slices.Sorted(slices.Values(live))
	step := max(1, len(sorted)/100)
	for i := 0; i < len(sorted); i += step {
		lv.X, lv.Y = append(lv.X, sorted[i]), append(lv.Y, float64(i+1)/float64(len(sorted)))
	}
	return lineChart(title, ref.Name, "share ≤ x", []series{tr, lv})
}

func countsChart(rows []store.Row, from time.Time, bucket time.Duration) template.HTML {
	preds, reqs := series{Name: "predictions"}, series{Name: "requests"}
	n := 48
	pc, rc := make([]float64, n+1), make([]float64, n+1)
	seen := map[string]bool{}
	for _, r := range rows {
		b := min(n, max(0, int(r.Time.Sub(from)/bucket)))
		pc[b]++
		if !seen[r.RequestID] {
			seen[r.RequestID] = true
			rc[b]++
		}
	}
	for b := range n + 1 {
		x := (time.Duration(b) * bucket).Hours()
		preds.X, preds.Y = append(preds.X, x), append(preds.Y, pc[b])
		reqs.X, reqs.Y = append(reqs.X, x), append(reqs.Y, rc[b])
	}
	return lineChart("requests and predictions", "hours into the window", "per "+bucket.Round(time.Second).String(), []series{preds, reqs})
}

// requestLatencies are the latencies of the requests (one per request:
// a batch's rows share theirs).
func requestLatencies(rows []store.Row) []float64 {
	seen := map[string]bool{}
	var out []float64
	for _, r := range rows {
		if !seen[r.RequestID] {
			seen[r.RequestID] = true
			out = append(out, float64(r.Latency)/float64(time.Millisecond))
		}
	}
	slices.Sort(out)
	return out
}

// quantile is the nearest-rank p quantile of sorted values.
func quantile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(len(sorted)-1, max(0, i))]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ms(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + " ms"
}

func latencyChart(rows []store.Row, from time.Time, bucket time.Duration) template.HTML {
	byBucket := map[int][]float64{}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.RequestID] {
			continue
		}
		seen[r.RequestID] = true
		b := max(0, int(r.Time.Sub(from)/bucket))
		byBucket[b] = append(byBucket[b], float64(r.Latency)/float64(time.Millisecond))
	}
	ss := []series{{Name: "p50"}, {Name: "p95"}, {Name: "p99"}}
	for _, b := range slices.Sorted(maps.Keys(byBucket)) {
		l := slices.Sorted(slices.Values(byBucket[b]))
		x := (time.Duration(b) * bucket).Hours()
		for i, p := range []float64{0.5, 0.95, 0.99} {
			ss[i].X, ss[i].Y = append(ss[i].X, x), append(ss[i].Y, quantile(l, p))
		}
	}
	return lineChart("latency percentiles", "hours into the window", "ms", ss)
}
