package monitor

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/housectl/housectl/pkg/store"
)

// Interval is a point estimate with a two-sided confidence interval.
type Interval struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// VariantStats are one variant's live accuracy over the rows with
// feedback: RMSE, MAE and bias (mean of prediction − actual), each with a
// t interval (RMSE's is the square root of the mean squared error's).
type VariantStats struct {
	Variant string   `json:"variant"`
	Version string   `json:"version"`
	N       int      `json:"n"`
	RMSE    Interval `json:"rmse"`
	MAE     Interval `json:"mae"`
	Bias    Interval `json:"bias"`
}

// Test is the comparison of B against A on the squared errors: their mean
// difference (B − A; negative: B is more accurate) with its interval, the
// t statistic, its degrees of freedom and the two-sided p-value.
type Test struct {
	Kind string   `json:"kind"` // paired (a shadow, the same rows) or welch (a split, other rows)
	Diff Interval `json:"mse_difference"`
	T    float64  `json:"t"`
	DF   float64  `json:"df"`
	P    float64  `json:"p_value"`
	// MinEffect is the smallest difference that counts: the minimum
	// effect times A's mean squared error.
	MinEffect float64 `json:"min_effect"`
	// SampleSize is, when undecided, the rows per variant a test at this
	// confidence with 80% power would need to detect MinEffect.
	SampleSize int `json:"sample_size,omitempty"`
}

// Verdicts of Compare.
const (
	VerdictBetter    = "better"
	VerdictWorse     = "worse"
	VerdictUndecided = "undecided"
)

// Comparison is the verdict on B (the challenger) against A.
type Comparison struct {
	Confidence float64      `json:"confidence"`
	A          VariantStats `json:"a"`
	B          VariantStats `json:"b"`
	Test       Test         `json:"test"`
	Verdict    string       `json:"verdict"`
	Why        string       `json:"why"`
}

// CompareOptions are the test's settings.
type CompareOptions struct {
	// Confidence of the intervals and the test (e.g. 0.95).
	Confidence float64
	// MinEffect is the smallest relative change of the mean squared error
	// that matters (0.01: 1% of A's).
	MinEffect float64
}

// tInterval is the mean of xs with its t interval.
func tInterval(xs []float64, conf float64) (mean, sd float64, iv Interval) {
	n := float64(len(xs))
	for _, x := range xs {
		mean += x
	}
	mean /= n
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	iv = Interval{Value: mean, Low: math.NaN(), High: math.NaN()}
	if len(xs) < 2 {
		return mean, math.NaN(), iv
	}
	sd = math.Sqrt(ss / (n - 1))
	h := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.5+conf/2) * sd / math.Sqrt(n)
	iv.Low, iv.High = mean-h, mean+h
	return mean, sd, iv
}

// Stats summarizes errors (prediction − actual).
func Stats(variant, version string, errs []float64, conf float64) VariantStats {
	sq := make([]float64, len(errs))
	abs := make([]float64, len(errs))
	for i, e := range errs {
		sq[i], abs[i] = e*e, math.Abs(e)
	}
	_, _, mse := tInterval(sq, conf)
	_, _, mae := tInterval(abs, conf)
	_, _, bias := tInterval(errs, conf)
	rmse := Interval{Value: math.Sqrt(mse.Value), Low: math.Sqrt(math.Max(0, mse.Low)), High: math.Sqrt(mse.High)}
	return VariantStats{Variant: variant, Version: version, N: len(errs), RMSE: rmse, MAE: mae, Bias: bias}
}

// ErrTooFew is returned when a variant has fewer than 2 rows with
// feedback: nothing can be said.
var ErrTooFew = errors.New("too few rows with feedback")

// ComparePaired compares B with A on the same rows (a shadow): a paired t
// test of the squared-error differences eb²−ea², row by row.
func ComparePaired(a, b VariantStats, ea, eb []float64, o CompareOptions) (Comparison, error) {
	if len(ea) != len(eb) {
		return Comparison{}, fmt.Errorf("paired errors: %d against %d", len(ea), len(eb))
	}
	if len(ea) < 2 {
		return Comparison{}, ErrTooFew
	}
	d := make([]float64, len(ea))
	for i := range ea {
		d[i] = eb[i]*eb[i] - ea[i]*ea[i]
	}
	mean, sd, iv := tInterval(d, o.Confidence)
	n := float64(len(d))
	t := Test{Kind: "paired", Diff: iv, DF: n - 1}
	t.T = mean / (sd / math.Sqrt(n))
	t.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: t.DF}.Survival(math.Abs(t.T))
	t.MinEffect = o.MinEffect * a.RMSE.Value * a.RMSE.Value
	c := verdict(a, b, t, o)
	if c.Verdict == VerdictUndecided && t.MinEffect > 0 {
		z := zSum(o.Confidence)
		c.Test.SampleSize = int(math.Ceil(z * z * sd * sd / (t.MinEffect * t.MinEffect)))
	}
	return c, nil
}

// CompareWelch compares B with A on other rows (a split): Welch's
// unequal-variance t test of the two variants' squared errors.
func CompareWelch(a, b VariantStats, ea, eb []float64, o CompareOptions) (Comparison, error) {
	if len(ea) < 2 || len(eb) < 2 {
		return Comparison{}, ErrTooFew
	}
	sq := func(es []float64) []float64 {
		out := make([]float64, len(es))
		for i, e := range es {
			out[i] = e * e
		}
		return out
	}
	ma, sa, _ := tInterval(sq(ea), o.Confidence)
	mb, sb, _ := tInterval(sq(eb), o.Confidence)
	na, nb := float64(len(ea)), float64(len(eb))
	va, vb := sa*sa/na, sb*sb/nb
	se := math.Sqrt(va + vb)
	df := (va + vb) * (va + vb) / (va*va/(na-1) + vb*vb/(nb-1))
	t := Test{Kind: "welch", DF: df, T: (mb - ma) / se}
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	h := dist.Quantile(0.5+o.Confidence/2) * se
	t.Diff = Interval{Value: mb - ma, Low: mb - ma - h, High: mb - ma + h}
	t.P = 2 * dist.Survival(math.Abs(t.T))
	t.MinEffect = o.MinEffect * ma
	c := verdict(a, b, t, o)
	if c.Verdict == VerdictUndecided && t.MinEffect > 0 {
		z := zSum(o.Confidence)
		c.Test.SampleSize = int(math.Ceil(z * z * (sa*sa + sb*sb) / (t.MinEffect * t.MinEffect)))
	}
	return c, nil
}

// zSum is z(1−α/2) + z(0.8): a two-sided test at the confidence with
// 80% power.
func zSum(conf float64) float64 {
	n := distuv.UnitNormal
	return n.Quantile(0.5+conf/2) + n.Quantile(0.8)
}

// verdict: B is better when the whole interval of the squared-error
// difference is below 0 and its estimate is past the minimum effect;
// worse in the mirror case; undecided otherwise.
func verdict(a, b VariantStats, t Test, o CompareOptions) Comparison {
	c := Comparison{Confidence: o.Confidence, A: a, B: b, Test: t}
	pct := fmt.Sprintf("%.0f%%", 100*o.Confidence)
	switch {
	case t.Diff.High < 0 && t.Diff.Value <= -t.MinEffect:
		c.Verdict = VerdictBetter
		c.Why = fmt.Sprintf("%s's squared error is lower by %.4g (%s interval %.4g to %.4g), past the minimum effect %.4g", b.Variant, -t.Diff.Value, pct, -t.Diff.High, -t.Diff.Low, t.MinEffect)
	case t.Diff.Low > 0 && t.Diff.Value >= t.MinEffect:
		c.Verdict = VerdictWorse
		c.Why = fmt.Sprintf("%s's squared error is higher by %.4g (%s interval %.4g to %.4g), past the minimum effect %.4g", b.Variant, t.Diff.Value, pct, t.Diff.Low, t.Diff.High, t.MinEffect)
	default:
		c.Verdict = VerdictUndecided
		c.Why = fmt.Sprintf("the difference of squared errors, %.4g, has a %s interval of %.4g to %.4g, which does not clear the minimum effect %.4g on one side", t.Diff.Value, pct, t.Diff.Low, t.Diff.High, t.MinEffect)
	}
	return c
}

// Pairs are the feedback-joined rows of two variants, split into what
// each comparison needs.
type Pairs struct {
	// A and B are each variant's errors (prediction − actual) over its
	// served rows, for a split; for a shadow B is the shadow's rows.
	A, B []float64
	// PairedA and PairedB are the errors of the rows both predicted (a
	// served row and its shadow), in the same order.
	PairedA, PairedB []float64
	VersionA         string
	VersionB         string
}

// Collect sorts joined rows into the errors of variants a and b. Each
// variant keeps the rows of its newest version in the rows (the one it
// serves now). Shadow rows of b are paired with a's served rows by request
// id and row.
func Collect(rows []store.Joined, a, b string) Pairs {
	var p Pairs
	newest := map[string]int64{}
	version := map[string]string{}
	for _, r := range rows {
		if (r.Variant == a || r.Variant == b) && r.ID > newest[r.Variant] {
			newest[r.Variant], version[r.Variant] = r.ID, r.Version
		}
	}
	p.VersionA, p.VersionB = version[a], version[b]
	type key struct {
		id  string
		row int
	}
	served := map[key]float64{}
	for _, r := range rows {
		e := r.Prediction - r.Actual
		switch {
		case r.Variant == a && r.Version == p.VersionA && !r.Shadow:
			p.A = append(p.A, e)
			served[key{r.RequestID, r.Row.Row}] = e
		case r.Variant == b && r.Version == p.VersionB:
			p.B = append(p.B, e)
		}
	}
	for _, r := range rows {
		if r.Variant == b && r.Version == p.VersionB && r.Shadow {
			if ea, ok := served[key{r.RequestID, r.Row.Row}]; ok {
				p.PairedA = append(p.PairedA, ea)
				p.PairedB = append(p.PairedB, r.Prediction-r.Actual)
			}
		}
	}
	return p
}
