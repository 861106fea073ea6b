// Package monitor measures how live traffic differs from what a model was
// trained on (drift) and how accurate its predictions turn out (once the
// true values arrive). It works on plain values: the caller reads them
// from the prediction log or keeps them in memory.
//
// Nouns:
//   - Reference: a feature's training distribution, from the quantiles
//     every model artifact keeps (model.ColumnSummary).
//   - PSI: the population stability index over the reference's deciles.
//   - KS: the Kolmogorov–Smirnov statistic against the reference's
//     piecewise-linear CDF.
//   - Thresholds: when a number is a warning or an alert.
package monitor

import (
	"fmt"
	"math"
	"slices"

	"github.com/housectl/housectl/pkg/model"
)

// Statuses of a drift result.
const (
	StatusOK           = "ok"
	StatusWarn         = "warn"
	StatusAlert        = "alert"
	StatusInsufficient = "insufficient_data"
)

// Reference is a training distribution given by equally spaced quantiles
// (q[i] is the i/(len-1) quantile).
type Reference struct {
	Name      string
	Quantiles []float64
	Mean      float64
}

// RefFromSummary uses the percentiles when the artifact has them, else
// its deciles.
func RefFromSummary(s model.ColumnSummary) Reference {
	q := s.Percentiles
	if len(q) < 11 {
		q = s.Deciles
	}
	return Reference{Name: s.Name, Quantiles: q, Mean: s.Mean}
}

// CDF is the reference's cumulative distribution at x, linear between
// quantiles (a tie of quantiles is a jump).
func (r Reference) CDF(x float64) float64 {
	q := r.Quantiles
	n := len(q)
	if n == 0 || x < q[0] {
		return 0
	}
	// i is the last quantile <= x.
	i := sortSearch(n, func(k int) bool { return q[k] > x }) - 1
	if i >= n-1 {
		return 1
	}
	p := func(k int) float64 { return float64(k) / float64(n-1) }
	return p(i) + (x-q[i])/(q[i+1]-q[i])*(p(i+1)-p(i))
}

func sortSearch(n int, f func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !f(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// psiFloor keeps empty bins out of the logarithm.
const psiFloor = 1e-4

// PSI is the population stability index of live against the reference,
// over the bins between the reference's deciles (merged where deciles tie):
// Σ (live − expected)·ln(live/expected).
func PSI(r Reference, live []float64) float64 {
	var edges []float64
	for k := 1; k < 10; k++ {
		e := quantileOf(r.Quantiles, float64(k)/10)
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	nb := len(edges) + 1
	counts := make([]float64, nb)
	for _, x := range live {
		b := sortSearch(len(edges), func(k int) bool { return edges[k] >= x })
		counts[b]++
	}
	var psi, prev float64
	for b := range nb {
		cum := 1.0
		if b < len(edges) {
			cum = r.CDF(edges[b])
		}
		exp := math.Max(cum-prev, psiFloor)
		prev = cum
		act := math.Max(counts[b]/float64(len(live)), psiFloor)
		psi += (act - exp) * math.Log(act/exp)
	}
	return psi
}

// quantileOf interpolates the p quantile from equally spaced quantiles.
func quantileOf(q []float64, p float64) float64 {
	pos := p * float64(len(q)-1)
	lo := int(pos)
	if lo+1 >= len(q) {
		return q[len(q)-1]
	}
	return q[lo] + (pos-float64(lo))*(q[lo+1]-q[lo])
}

// KS is the one-sample Kolmogorov–Smirnov statistic of live against the
// reference CDF: the largest gap between the two distribution functions.
func KS(r Reference, live []float64) float64 {
	xs := slices.Clone(live)
	slices.Sort(xs)
	n := float64(len(xs))
	var d float64
	for i, x := range xs {
		f := r.CDF(x)
		d = math.Max(d, math.Max(float64(i+1)/n-f, f-float64(i)/n))
	}
	return d
}

// Thresholds decide a result's status.
type Thresholds struct {
	PSIWarn, PSIAlert float64
	KSWarn, KSAlert   float64
	// MinRows is the fewest live values a statistic is computed on.
	MinRows int
}

// DefaultThresholds are the usual PSI rule of thumb (0.1 watch, 0.25
// act) and KS distances of 0.1 and 0.2, on at least 200 rows.
func DefaultThresholds() Thresholds {
	return Thresholds{PSIWarn: 0.1, PSIAlert: 0.25, KSWarn: 0.1, KSAlert: 0.2, MinRows: 200}
}

// Validate checks the thresholds.
func (t Thresholds) Validate() error {
	if !(t.PSIWarn > 0 && t.PSIWarn <= t.PSIAlert) || !(t.KSWarn > 0 && t.KSWarn <= t.KSAlert && t.KSAlert <= 1) || t.MinRows < 1 {
		return fmt.Errorf("drift thresholds need 0 < warn <= alert (KS <= 1) and min_rows >= 1, got %+v", t)
	}
	return nil
}

// Result is one feature's (or the prediction's) drift.
type Result struct {
	Name     string  `json:"name"`
	Rows     int     `json:"rows"`
	PSI      float64 `json:"psi"`
	KS       float64 `json:"ks"`
	LiveMean float64 `json:"live_mean"`
	RefMean  float64 `json:"training_mean"`
	Status   string  `json:"status"`
}

// Measure computes one result.
func Measure(r Reference, live []float64, t Thresholds) Result {
	res := Result{Name: r.Name, Rows: len(live), RefMean: r.Mean, Status: StatusInsufficient, PSI: math.NaN(), KS: math.NaN(), LiveMean: math.NaN()}
	if len(live) < t.MinRows || len(r.Quantiles) < 2 {
		return res
	}
	var s float64
	for _, x := range live {
		s += x
	}
	res.LiveMean = s / float64(len(live))
	res.PSI, res.KS = PSI(r, live), KS(r, live)
	res.Status = StatusOK
	switch {
	case res.PSI >= t.PSIAlert || res.KS >= t.KSAlert:
		res.Status = StatusAlert
	case res.PSI >= t.PSIWarn || res.KS >= t.KSWarn:
		res.Status = StatusWarn
	}
	return res
}

// Report is the drift of a model's live traffic.
type Report struct {
	Rows       int      `json:"rows"`
	Features   []Result `json:"features"`
	Prediction Result   `json:"prediction"`
	Status     string   `json:"status"` // the worst of all
}

// Drift measures every feature (columns[j] holds feature j's live values,
// in the artifact's order) and the predictions, whose reference is the
// target's training distribution.
func Drift(h model.Header, columns [][]float64, preds []float64, t Thresholds) (Report, error) {
	if len(columns) != len(h.Features) || len(h.Training) != len(h.Features)+1 {
		return Report{}, fmt.Errorf("the model summarises %d columns for %d features: retrain it with this housectl", len(h.Training), len(h.Features))
	}
	rep := Report{Rows: len(preds), Status: StatusOK}
	rank := map[string]int{StatusOK: 0, StatusInsufficient: 1, StatusWarn: 2, StatusAlert: 3}
	worst := func(s string) {
		if rank[s] > rank[rep.Status] {
			rep.Status = s
		}
	}
	for j := range h.Features {
		col := columns[j]
		if slices.ContainsFunc(col, math.IsNaN) { // missing values are not in the distribution
			col = slices.DeleteFunc(slices.Clone(col), math.IsNaN)
		}
		r := Measure(RefFromSummary(h.Training[j]), col, t)
		rep.Features = append(rep.Features, r)
		worst(r.Status)
	}
	rep.Prediction = Measure(RefFromSummary(h.Training[len(h.Features)]), preds, t)
	rep.Prediction.Name = "prediction (vs training " + h.Target + ")"
	worst(rep.Prediction.Status)
	return rep, nil
}
