package store

import (
	"math"
	"slices"
	"time"
)

// Summarize computes Stats over rows (any order).
func Summarize(rows []Row, buckets int) Stats {
	st := Stats{Count: int64(len(rows)), Latency: map[string]float64{}, Prediction: map[string]float64{}, ByVersion: map[string]int64{}}
	if len(rows) == 0 {
		return st
	}
	lat := make([]float64, len(rows))
	pred := make([]float64, len(rows))
	st.From, st.To = rows[0].Time, rows[0].Time
	var sum, sq float64
	for i, r := range rows {
		lat[i] = float64(r.Latency) / float64(time.Millisecond)
		pred[i] = r.Prediction
		sum += r.Prediction
		if r.Time.Before(st.From) {
			st.From = r.Time
		}
		if r.Time.After(st.To) {
			st.To = r.Time
		}
		st.ByVersion[r.Model+"@"+r.Version]++
	}
	slices.Sort(lat)
	slices.Sort(pred)
	mean := sum / float64(len(pred))
	for _, p := range pred {
		sq += (p - mean) * (p - mean)
	}
	st.Latency["p50"], st.Latency["p90"], st.Latency["p99"], st.Latency["max"] = quantile(lat, 0.5), quantile(lat, 0.9), quantile(lat, 0.99), lat[len(lat)-1]
	st.Prediction["mean"], st.Prediction["std"] = mean, math.Sqrt(sq/float64(len(pred)))
	st.Prediction["min"], st.Prediction["max"] = pred[0], pred[len(pred)-1]
	st.Prediction["p10"], st.Prediction["p50"], st.Prediction["p90"] = quantile(pred, 0.1), quantile(pred, 0.5), quantile(pred, 0.9)
	if span := st.To.Sub(st.From).Seconds(); span > 0 {
		st.PerSecond = float64(len(rows)) / span
	}
	if buckets > 0 {
		lo, hi := pred[0], pred[len(pred)-1]
		if hi == lo {
			hi = lo + 1
		}
		w := (hi - lo) / float64(buckets)
		st.Histogram = make([]Bucket, buckets)
		for i := range st.Histogram {
			st.Histogram[i] = Bucket{Lo: lo + float64(i)*w, Hi: lo + float64(i+1)*w}
		}
		for _, p := range pred {
			st.Histogram[min(buckets-1, int((p-lo)/w))].Count++
		}
	}
	return st
}

// quantile of sorted xs, linear between closest ranks.
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	lo := int(pos)
	if lo+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[lo] + (pos-float64(lo))*(xs[lo+1]-xs[lo])
}
