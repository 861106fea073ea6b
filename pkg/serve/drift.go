package serve

import (
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
	predPSI, predKS, rows prometheus.Gauge
}

func newDriftMetrics(reg *prometheus.Registry) *driftMetrics {
	d := &driftMetrics{
		featurePSI: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_feature_drift_psi",
			Help: "Population stability index of each feature over the drift window, against the model's training data (NaN: not enough data)."}, []string{"feature"}),
		featureKS: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_feature_drift_ks",
			Help: "Kolmogorov-Smirnov statistic of each feature over the drift window (NaN: not enough data)."}, []string{"feature"}),
		predPSI: prometheus.NewGauge(prometheus.GaugeOpts{Name: "housectl_serve_prediction_drift_psi",
			Help: "PSI of the predictions over the drift window, against the training target."}),
		predKS: prometheus.NewGauge(prometheus.GaugeOpts{Name: "housectl_serve_prediction_drift_ks",
			Help: "KS statistic of the predictions over the drift window, against the training target."}),
		rows: prometheus.NewGauge(prometheus.GaugeOpts{Name: "housectl_serve_drift_window_rows",
			Help: "Predictions in the drift window."}),
	}
	reg.MustRegister(d.featurePSI, d.featureKS, d.predPSI, d.predKS, d.rows)
	return d
}

// clear sets every gauge of model m to NaN (nothing measured yet).
func (d *driftMetrics) clear(m *Model) {
	d.featurePSI.Reset()
	d.featureKS.Reset()
	for _, f := range m.Artifact.Header.Features {
		d.featurePSI.WithLabelValues(f).Set(math.NaN())
		d.featureKS.WithLabelValues(f).Set(math.NaN())
	}
	d.predPSI.Set(math.NaN())
	d.predKS.Set(math.NaN())
	d.rows.Set(0)
}

// UpdateDrift computes the drift of the latest predictions (at most
// DriftWindow of them) against the served model's training data and sets
// the drift gauges. Call it off the request path, e.g. on a timer.
func (s *Server) UpdateDrift() (monitor.Report, error) {
	m, cols, preds := s.def.window.snapshot()
	if m == nil {
		return monitor.Report{}, nil
	}
	rep, err := monitor.Drift(m.Artifact.Header, cols, preds, s.o.DriftThresholds)
	if err != nil {
		return rep, err
	}
	s.drift.rows.Set(float64(len(preds)))
	for j, f := range m.Artifact.Header.Features {
		s.drift.featurePSI.WithLabelValues(f).Set(rep.Features[j].PSI)
		s.drift.featureKS.WithLabelValues(f).Set(rep.Features[j].KS)
	}
	s.drift.predPSI.Set(rep.Prediction.PSI)
	s.drift.predKS.Set(rep.Prediction.KS)
	return rep, nil
}
