package tracking

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/housectl/housectl/pkg/eval"
	"github.com/housectl/housectl/pkg/exitcode"
)

// Comparison is runs side by side: their params and metrics, each metric's
// delta against the first run and its best run. It is `runs compare
// --json`'s document.
type Comparison struct {
	Runs     []ComparedRun         `json:"runs"`
	Baseline string                `json:"baseline,omitempty"` // the first run's id when it is a baseline
	Params   map[string][]*string  `json:"params"`             // key → one value per run (nil: not set)
	Metrics  map[string][]*float64 `json:"metrics"`
	Deltas   map[string][]*float64 `json:"deltas"` // against the first run
	Best     map[string]string     `json:"best"`   // metric → id of the best run
	Gate     *GateResult           `json:"gate,omitempty"`
}

// ComparedRun identifies one column.
type ComparedRun struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Experiment string  `json:"experiment"`
	Model      string  `json:"model"`
	Status     string  `json:"status"`
	Start      string  `json:"start_time"`
	Seconds    float64 `json:"duration_seconds"`
	Label      string  `json:"label"`
}

// Compare lays runs side by side, labels[i] naming runs[i]; a run still
// running is timed up to now.
func Compare(runs []*Run, labels []string, now time.Time) *Comparison {
	c := &Comparison{Params: map[string][]*string{}, Metrics: map[string][]*float64{}, Deltas: map[string][]*float64{}, Best: map[string]string{}}
	for i, r := range runs {
		end := now
		if r.EndTime != nil {
			end = *r.EndTime
		}
		c.Runs = append(c.Runs, ComparedRun{ID: r.ID, Name: r.Name, Experiment: r.Experiment, Model: r.Model, Status: r.DisplayStatus(),
			Start: r.StartTime.UTC().Format(time.RFC3339), Seconds: end.Sub(r.StartTime).Seconds(), Label: labels[i]})
	}
	for i, r := range runs {
		for k, v := range r.ParamStrings() {
			if c.Params[k] == nil {
				c.Params[k] = make([]*string, len(runs))
			}
			c.Params[k][i] = &v
		}
		for k, v := range r.Metrics {
			if c.Metrics[k] == nil {
				c.Metrics[k] = make([]*float64, len(runs))
			}
			c.Metrics[k][i] = &v
		}
	}
	for k, vs := range c.Metrics {
		d := make([]*float64, len(runs))
		best := -1
		lower := LowerIsBetter(k)
		for i, v := range vs {
			if v == nil {
				continue
			}
			if vs[0] != nil && i > 0 {
				x := *v - *vs[0]
				d[i] = &x
			}
			if best < 0 || lower && *v < *vs[best] || !lower && *v > *vs[best] {
				best = i
			}
		}
		c.Deltas[k] = d
		if best >= 0 {
			c.Best[k] = runs[best].ID
		}
	}
	return c
}

// Differs reports whether the values of one row are not all the same
// (a missing value differs from any present one).
func Differs[T comparable](vs []*T) bool {
	for _, v := range vs[1:] {
		if (v == nil) != (vs[0] == nil) || v != nil && *v != *vs[0] {
			return true
		}
	}
	return false
}

// LowerIsBetter says which way a metric improves: the evaluation metrics
// by eval, their cv_ forms like them, anything else (times, sizes) lower.
func LowerIsBetter(metric string) bool {
	if lower, err := eval.LowerIsBetter(strings.TrimPrefix(metric, "cv_")); err == nil {
		return lower
	}
	return true
}

// Regression is how much worse v is than base on metric, as a fraction of
// |base| (negative: better).
func Regression(metric string, base, v float64) float64 {
	d := v - base
	if !LowerIsBetter(metric) {
		d = -d
	}
	if base == 0 {
		if d > 0 {
			return math.Inf(1)
		}
		return 0
	}
	return d / math.Abs(base)
}

// ParseFraction reads a share given as a percentage ("2%") or a fraction
// (0.02).
func ParseFraction(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, "%")), 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a percentage: use e.g. 2%% or 0.02", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

// Gates are the CI gates of a comparison.
type Gates struct {
	// FailIf fails the gate for any run it matches.
	FailIf *Filter
	// MaxRegression (NaN: off) fails the gate for any run whose Metric is
	// worse than the baseline's (the first run) by more than this fraction.
	MaxRegression float64
	Metric        string
	// Baseline says the first run is a baseline, not itself gated.
	Baseline bool
}

// GateResult says whether the gates passed, and why.
type GateResult struct {
	Failed  bool     `json:"failed"`
	Reasons []string `json:"reasons"`
	Checked []string `json:"checked"`
	// Warnings note what weakens a verdict (runs scored on other rows).
	Warnings []string `json:"warnings,omitempty"`
}

// Error is the failed gate as an error whose exit status is exitcode.Gate.
func (g *GateResult) Error() string { return "gate failed: " + strings.Join(g.Reasons, "; ") }

// ExitCode implements exitcode.Coder.
func (g *GateResult) ExitCode() int { return exitcode.Gate }

// Check applies the gates to runs (labels[i] naming runs[i]).
func (gs Gates) Check(runs []*Run, labels []string) *GateResult {
	g := &GateResult{}
	start := 0
	if gs.Baseline {
		start = 1
	}
	for i, r := range runs[start:] {
		label := labels[start+i]
		if gs.FailIf != nil {
			g.Checked = append(g.Checked, fmt.Sprintf("%s: %s", label, gs.FailIf))
			if gs.FailIf.Match(r) {
				g.Reasons = append(g.Reasons, fmt.Sprintf("%s matches --fail-if %q", label, gs.FailIf.String()))
			}
		}
		if math.IsNaN(gs.MaxRegression) {
			continue
		}
		base, okb := runs[0].Metrics[gs.Metric]
		v, ok := r.Metrics[gs.Metric]
		if !ok || !okb {
			g.Reasons = append(g.Reasons, fmt.Sprintf("%s or the baseline has no metric %s to compare", label, gs.Metric))
			continue
		}
		if runs[0].Lineage.TestSet() != r.Lineage.TestSet() {
			g.Warnings = append(g.Warnings, fmt.Sprintf("%s was scored on other test rows than the baseline (%s vs %s)", label, r.Lineage.TestSet(), runs[0].Lineage.TestSet()))
		}
		reg := Regression(gs.Metric, base, v)
		g.Checked = append(g.Checked, fmt.Sprintf("%s: %s %s vs baseline %s: %+.2f%% (limit %.2f%%)", label, gs.Metric, FormatMetric(v), FormatMetric(base), 100*reg, 100*gs.MaxRegression))
		if reg > gs.MaxRegression {
			g.Reasons = append(g.Reasons, fmt.Sprintf("%s: %s %s is %.2f%% worse than the baseline's %s (limit %.2f%%)", label, gs.Metric, FormatMetric(v), 100*reg, FormatMetric(base), 100*gs.MaxRegression))
		}
	}
	g.Failed = len(g.Reasons) > 0
	return g
}

// FormatMetric prints a metric value with five significant digits.
func FormatMetric(v float64) string { return strconv.FormatFloat(v, 'g', 5, 64) }
