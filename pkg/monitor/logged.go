package monitor

import (
	"context"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/housectl/housectl/pkg/eval"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/store"
)

// Columns turns logged predictions of a model into its features' columns
// (in the header's order; a row that lacks a feature adds nothing to its
// column) and the predictions.
func Columns(h model.Header, rows []store.Row) ([][]float64, []float64) {
	cols := make([][]float64, len(h.Features))
	preds := make([]float64, 0, len(rows))
	for _, r := range rows {
		for j, f := range h.Features {
			if x, ok := r.Features[f]; ok && !math.IsNaN(x) { // a missing value is not in the distribution
				cols[j] = append(cols[j], x)
			}
		}
		preds = append(preds, r.Prediction)
	}
	return cols, preds
}

// DriftOf measures the drift of logged predictions (rows of the model
// whose header is h) against its training data.
func DriftOf(h model.Header, rows []store.Row, t Thresholds) (Report, []float64, error) {
	cols, preds := Columns(h, rows)
	rep, err := Drift(h, cols, preds, t)
	return rep, preds, err
}

// LoggedDrift reads the served predictions a model version logged in
// [from, to) and measures their drift against its training data (h).
func LoggedDrift(ctx context.Context, s store.Store, h model.Header, name, version string, from, to time.Time, t Thresholds) (Report, []float64, error) {
	rows, err := s.Rows(ctx, store.Query{From: from, To: to, Model: name, Version: version})
	if err != nil {
		return Report{}, nil, err
	}
	return DriftOf(h, rows, t)
}

// Perf is the live accuracy of one model version over a window, or over
// one bucket of it.
type Perf struct {
	Version string    `json:"version"`
	From    time.Time `json:"from,omitzero"` // the bucket's start; zero for the whole window
	Rows    int       `json:"rows"`
	RMSE    float64   `json:"rmse"`
	MAE     float64   `json:"mae"`
	R2      float64   `json:"r2"`
}

// Performance is the accuracy of logged predictions that have their true
// values (joined), per version over the whole window and, with bucket > 0,
// per version and bucket of that length from from. It is sorted by
// version, then time; R² is 0 where it is undefined (one row, or constant
// true values).
func Performance(joined []store.Joined, from time.Time, bucket time.Duration) []Perf {
	type key struct {
		version string
		bucket  int64
	}
	groups := map[key][]store.Joined{}
	for _, j := range joined {
		groups[key{j.Version, -1}] = append(groups[key{j.Version, -1}], j)
		if bucket > 0 {
			b := j.Time.Sub(from).Nanoseconds() / bucket.Nanoseconds()
			groups[key{j.Version, b}] = append(groups[key{j.Version, b}], j)
		}
	}
	out := make([]Perf, 0, len(groups))
	for k, js := range groups {
		truth, pred := make([]float64, len(js)), make([]float64, len(js))
		for i, j := range js {
			truth[i], pred[i] = j.Actual, j.Prediction
		}
		m := eval.Compute(truth, pred)
		p := Perf{Version: k.version, Rows: len(js), RMSE: m[eval.RMSE], MAE: m[eval.MAE], R2: m[eval.R2]}
		if k.bucket >= 0 {
			p.From = from.Add(time.Duration(k.bucket) * bucket)
		}
		if math.IsNaN(p.R2) || math.IsInf(p.R2, 0) {
			p.R2 = 0
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Perf) int {
		if a.Version != b.Version {
			x, _ := strconv.Atoi(a.Version)
			y, _ := strconv.Atoi(b.Version)
			return x - y
		}
		return a.From.Compare(b.From)
	})
	return out
}
