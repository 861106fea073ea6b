package serve

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/housectl/housectl/pkg/monitor"
)

// window keeps the latest predictions of the served model, feature by
// feature, for the drift metrics. Its lock is held for a few stores per
// row on the request path; the statistics are computed on a copy.
type window struct {
	mu    sync.Mutex
	cols  [][]float64 // ring per feature
	preds []float64
	next  int
	full  bool
	size  int
	owner *Model
}

// reset empties the window for model m.
func (w *window) reset(m *Model, size int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.size, w.owner, w.next, w.full = size, m, 0, false
	w.cols = make([][]float64, len(m.Artifact.Header.Features))
	for j := range w.cols {
		w.cols[j] = make([]float64, size)
	}
	w.preds = make([]float64, size)
}

// add records row i of column-major X (n rows) and its prediction.
func (w *window) add(m *Model, data []float64, n, i int, pred float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.owner != m || w.size == 0 {
		return
	}
	for j := range w.cols {
		w.cols[j][w.next] = data[j*n+i]
	}
	w.preds[w.next] = pred
	if w.next++; w.next == w.size {
		w.next, w.full = 0, true
	}
}

// snapshot copies the window's values.
func (w *window) snapshot() (*Model, [][]float64, []float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.next
	if w.full {
		n = w.size
	}
	cols := make([][]float64, len(w.cols))
	for j := range cols {
		cols[j] = append([]float64(nil), w.cols[j][:n]...)
	}
	return w.owner, cols, append([]float64(nil), w.preds[:n]...)
}

// driftMetrics are the gauges UpdateDrift sets.
type driftMetrics struct {
	featurePSI, featureKS *prometheus.GaugeVec
	predPSI, predKS, rows *prometheus.GaugeVec
}

func newDriftMetrics(reg *prometheus.Registry) *driftMetrics {
	d := &driftMetrics{
		featurePSI: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_feature_drift_psi",
			Help: "Population stability index of each feature over the drift window, against the model's training data (NaN: not enough data), by model and variant."}, []string{"model", "variant", "feature"}),
		featureKS: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_feature_drift_ks",
			Help: "Kolmogorov-Smirnov statistic of each feature over the drift window (NaN: not enough data), by model and variant."}, []string{"model", "variant", "feature"}),
		predPSI: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_prediction_drift_psi",
			Help: "PSI of the predictions over the drift window, against the training target, by model and variant."}, []string{"model", "variant"}),
		predKS: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_prediction_drift_ks",
			Help: "KS statistic of the predictions over the drift window, against the training target, by model and variant."}, []string{"model", "variant"}),
		rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_drift_window_rows",
			Help: "Predictions in the drift window, by model and variant."}, []string{"model", "variant"}),
	}
	reg.MustRegister(d.featurePSI, d.featureKS, d.predPSI, d.predKS, d.rows)
	return d
}

// clear sets every gauge of model m's variant to NaN (nothing measured
// yet).
func (d *driftMetrics) clear(m *Model, variant string) {
	l := prometheus.Labels{"model": m.Name, "variant": variant}
	d.featurePSI.DeletePartialMatch(l)
	d.featureKS.DeletePartialMatch(l)
	for _, f := range m.Artifact.Header.Features {
		d.featurePSI.WithLabelValues(m.Name, variant, f).Set(math.NaN())
		d.featureKS.WithLabelValues(m.Name, variant, f).Set(math.NaN())
	}
	d.predPSI.WithLabelValues(m.Name, variant).Set(math.NaN())
	d.predKS.WithLabelValues(m.Name, variant).Set(math.NaN())
	d.rows.WithLabelValues(m.Name, variant).Set(0)
}

// UpdateDrift computes the drift of the latest predictions of every
// served variant (at most DriftWindow of them) against its model's
// training data and sets the drift gauges. It returns the default model's
// first variant's report. Call it off the request path, e.g. on a timer.
func (s *Server) UpdateDrift() (monitor.Report, error) {
	var first monitor.Report
	var errs []error
	for i, sl := range s.slots {
		if sl.isShadow {
			continue
		}
		m, cols, preds := sl.window.snapshot()
		if m == nil {
			continue
		}
		rep, err := monitor.Drift(m.Artifact.Header, cols, preds, s.o.DriftThresholds)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", m.Name, sl.variant, err))
			continue
		}
		if i == 0 {
			first = rep
		}
		s.drift.rows.WithLabelValues(m.Name, sl.variant).Set(float64(len(preds)))
		for j, f := range m.Artifact.Header.Features {
			s.drift.featurePSI.WithLabelValues(m.Name, sl.variant, f).Set(rep.Features[j].PSI)
			s.drift.featureKS.WithLabelValues(m.Name, sl.variant, f).Set(rep.Features[j].KS)
		}
		s.drift.predPSI.WithLabelValues(m.Name, sl.variant).Set(rep.Prediction.PSI)
		s.drift.predKS.WithLabelValues(m.Name, sl.variant).Set(rep.Prediction.KS)
	}
	return first, errors.Join(errs...)
}
