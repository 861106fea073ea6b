// Package eval computes regression metrics and knows which direction of
// each is better.
package eval

import (
	"fmt"
	"math"
	"slices"
)

// Metric names.
const (
	RMSE = "rmse"
	MAE  = "mae"
	R2   = "r2"
	MAPE = "mape"
)

// Names lists the metrics Compute returns, in display order.
var Names = []string{RMSE, MAE, R2, MAPE}

// LowerIsBetter reports the direction of a metric; unknown names are an error.
func LowerIsBetter(name string) (bool, error) {
	switch name {
	case RMSE, MAE, MAPE:
		return true, nil
	case R2:
		return false, nil
	}
	return false, fmt.Errorf("unknown metric %q: use one of %v", name, Names)
}

// Better reports whether a beats b on the metric.
func Better(name string, a, b float64) bool {
	lower, _ := LowerIsBetter(name)
	if lower {
		return a < b
	}
	return a > b
}

// Compute returns every metric of predictions against truth. MAPE is in
// percent and skips rows whose truth is 0 (scikit-learn would divide by
// epsilon); it is NaN when every truth is 0. Slices must have equal,
// non-zero length.
func Compute(truth, pred []float64) map[string]float64 {
	if len(truth) != len(pred) || len(truth) == 0 {
		panic(fmt.Sprintf("eval: %d truths and %d predictions", len(truth), len(pred)))
	}
	n := float64(len(truth))
	var sse, sae, sape, mean float64
	apeN := 0
	for i, t := range truth {
		d := pred[i] - t
		sse += d * d
		sae += math.Abs(d)
		if t != 0 {
			sape += math.Abs(d / t)
			apeN++
		}
		mean += t
	}
	mean /= n
	var sst float64
	for _, t := range truth {
		sst += (t - mean) * (t - mean)
	}
	m := map[string]float64{
		RMSE: math.Sqrt(sse / n),
		MAE:  sae / n,
		R2:   1 - sse/sst,
		MAPE: math.NaN(),
	}
	if apeN > 0 {
		m[MAPE] = 100 * sape / float64(apeN)
	}
	return m
}

// MeanStd returns the mean and population standard deviation of xs.
func MeanStd(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

// Quantiles returns the values at the given probabilities (linear
// interpolation, numpy's default); xs is not modified.
func Quantiles(xs []float64, ps []float64) []float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	out := make([]float64, len(ps))
	for i, p := range ps {
		pos := p * float64(len(s)-1)
		lo := int(math.Floor(pos))
		hi := min(lo+1, len(s)-1)
		out[i] = s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
	}
	return out
}
