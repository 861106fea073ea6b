package serve

import (
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/housectl/housectl/pkg/store"
)

// live keeps the rolling accuracy of every served version from the
// feedback POST /feedback joins to its predictions: per model, version and
// variant (a shadow's as shadow:ALIAS), the last LiveWindow errors, and
// gauges of their RMSE and MAE. Feedback sent to the log by other means
// (housectl predictions feedback) is not seen here: monitor performance
// reads it from the log.
type live struct {
	mu      sync.Mutex
	size    int
	windows map[liveKey]*errWindow

	rmse, mae, rows *prometheus.GaugeVec
	joined          *prometheus.CounterVec
	testRMSE        *prometheus.GaugeVec
	threshold       prometheus.Gauge
}

type liveKey struct{ model, version, variant string }

// errWindow is a ring of the latest errors with running sums.
type errWindow struct {
	errs      []float64
	next, n   int
	sq, abs   float64
	sinceSync int
}

func (w *errWindow) add(e float64) {
	if w.n == len(w.errs) {
		old := w.errs[w.next]
		w.sq -= old * old
		w.abs -= math.Abs(old)
	} else {
		w.n++
	}
	w.errs[w.next] = e
	w.sq += e * e
	w.abs += math.Abs(e)
	w.next = (w.next + 1) % len(w.errs)
	// Running sums drift with subtraction: recompute them now and then.
	if w.sinceSync++; w.sinceSync == len(w.errs) {
		w.sinceSync, w.sq, w.abs = 0, 0, 0
		for _, x := range w.errs[:w.n] {
			w.sq += x * x
			w.abs += math.Abs(x)
		}
	}
}

func newLive(reg *prometheus.Registry, size int, threshold float64) *live {
	labels := []string{"model", "version", "variant"}
	l := &live{size: size, windows: map[liveKey]*errWindow{},
		rmse: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_live_rmse",
			Help: "RMSE of the latest predictions with an actual value (POST /feedback), by model, version and variant (a shadow's as shadow:ALIAS)."}, labels),
		mae: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_live_mae",
			Help: "MAE of the latest predictions with an actual value, by model, version and variant."}, labels),
		rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_live_feedback_rows",
			Help: "Predictions with an actual value behind the live RMSE and MAE (at most monitor.live_window)."}, labels),
		joined: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "housectl_serve_feedback_joined_total",
			Help: "Predictions that feedback joined, by model, version and variant."}, labels),
		testRMSE: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "housectl_serve_model_test_rmse",
			Help: "The test RMSE a served version was registered with: what its live RMSE is held against."}, []string{"model", "version"}),
		threshold: prometheus.NewGauge(prometheus.GaugeOpts{Name: "housectl_serve_live_rmse_regression_threshold",
			Help: "monitor.rmse_regression: the fraction by which the live RMSE may exceed the test RMSE before the alert fires."}),
	}
	l.threshold.Set(threshold)
	reg.MustRegister(l.rmse, l.mae, l.rows, l.joined, l.testRMSE, l.threshold)
	return l
}

// observe takes the predictions a feedback joined.
func (l *live) observe(js []store.Joined) {
	l.mu.Lock()
	defer l.mu.Unlock()
	touched := map[liveKey]bool{}
	for _, j := range js {
		k := liveKey{j.Model, j.Version, j.Variant}
		if j.Shadow {
			k.variant = "shadow:" + j.Variant
		}
		w := l.windows[k]
		if w == nil {
			w = &errWindow{errs: make([]float64, l.size)}
			l.windows[k] = w
		}
		w.add(j.Prediction - j.Actual)
		touched[k] = true
		l.joined.WithLabelValues(k.model, k.version, k.variant).Inc()
	}
	for k := range touched {
		w := l.windows[k]
		n := float64(w.n)
		l.rmse.WithLabelValues(k.model, k.version, k.variant).Set(math.Sqrt(math.Max(0, w.sq) / n))
		l.mae.WithLabelValues(k.model, k.version, k.variant).Set(math.Max(0, w.abs) / n)
		l.rows.WithLabelValues(k.model, k.version, k.variant).Set(n)
	}
}
