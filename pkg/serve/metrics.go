package serve

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, on its own registry.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	predictions *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	values      prometheus.Histogram
	modelInfo   *prometheus.GaugeVec
	validation  *prometheus.CounterVec
	// outOfRange counts values outside a feature's range that were
	// predicted anyway (MLflow's /invocations has no range check).
	outOfRange *prometheus.CounterVec
	reloads    *prometheus.CounterVec
	logWritten prometheus.Counter
	logDropped prometheus.Counter
	inflight   prometheus.Gauge
	// budgetRefused counts large bodies refused (503) for want of body
	// budget.
	budgetRefused prometheus.Counter
	// The variants of served models: each one's share of the traffic,
	// whether it is loaded, and the shadows' work.
	weight            *prometheus.GaugeVec
	loaded            *prometheus.GaugeVec
	shadowPredictions *prometheus.CounterVec
	shadowDropped     prometheus.Counter
	shadowFailures    prometheus.Counter

	reqChildren, durChildren sync.Map
}

// routeCode keys the cached children of the request metrics.
type routeCode struct {
	route string
	code  int
}

// observe counts a request and its duration, caching the label children
// (a label lookup hashes every value, on every request otherwise).
func (m *metrics) observe(route string, code int, d time.Duration) {
	c, ok := m.reqChildren.Load(routeCode{route, code})
	if !ok {
		c, _ = m.reqChildren.LoadOrStore(routeCode{route, code}, m.requests.WithLabelValues(route, strconv.Itoa(code)))
	}
	c.(prometheus.Counter).Inc()
	h, ok := m.durChildren.Load(route)
	if !ok {
		h, _ = m.durChildren.LoadOrStore(route, m.duration.WithLabelValues(route))
	}
	h.(prometheus.Observer).Observe(d.Seconds())
}

func newMetrics(reg *prometheus.Registry, queueDepth func() float64) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "housectl_serve_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "housectl_serve_request_duration_seconds", Help: "Time to serve a request, by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "housectl_serve_predictions_total", Help: "Predictions made (rows), by model, version and variant (the alias of a split; \"\" otherwise).",
		}, []string{"model", "version", "variant"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "housectl_serve_prediction_duration_seconds", Help: "Time to serve a prediction request, by model and variant.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"model", "variant"}),
		values: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "housectl_serve_prediction_value", Help: "Predicted values.",
			Buckets: prometheus.LinearBuckets(0.5, 0.5, 10),
		}),
		modelInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "housectl_serve_model_info", Help: "The served models: 1 for each loaded name, version, run and variant (\"\" for a model served as one; shadow:ALIAS for a shadow).",
		}, []string{"name", "version", "run", "variant"}),
		validation: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "housectl_serve_validation_failures_total", Help: "Invalid input fields, by reason.",
		}, []string{"reason"}),
		outOfRange: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "housectl_serve_out_of_range_values_total", Help: "Input values outside the model's range that were predicted anyway (/invocations, as MLflow does), by feature.",
		}, []string{"feature"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "housectl_serve_model_reloads_total", Help: "Model (re)loads by result: loaded or error.",
		}, []string{"result"}),
		logWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "housectl_serve_prediction_log_written_total", Help: "Predictions written to the prediction log.",
		}),
		logDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "housectl_serve_prediction_log_dropped_total", Help: "Predictions the log dropped (full queue or failed writes).",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "housectl_serve_requests_in_flight", Help: "Requests being served.",
		}),
		weight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "housectl_serve_split_weight", Help: "Each variant's share of its model's traffic (0 to 1), by model and variant.",
		}, []string{"model", "variant"}),
		loaded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "housectl_serve_model_loaded", Help: "1 when the variant (or shadow:ALIAS) of a served model is loaded, 0 when its last load failed.",
		}, []string{"model", "variant"}),
		shadowPredictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "housectl_serve_shadow_predictions_total", Help: "Predictions a shadow made (rows), by model and version.",
		}, []string{"model", "version"}),
		shadowDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "housectl_serve_shadow_dropped_total", Help: "Rows the shadow did not predict because its queue was full.",
		}),
		shadowFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "housectl_serve_shadow_failures_total", Help: "Rows the shadow failed to predict (no model loaded, other features, a panic); never returned to a client.",
		}),
		budgetRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "housectl_serve_body_budget_refused_total", Help: "Large requests refused (503) because serve.body_budget was in use by others for longer than the read timeout.",
		}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "housectl_serve_prediction_log_queue_depth", Help: "Predictions waiting to be written to the log.",
	}, queueDepth)
	reg.MustRegister(m.requests, m.duration, m.predictions, m.latency, m.values, m.modelInfo, m.validation, m.outOfRange, m.reloads,
		m.logWritten, m.logDropped, m.inflight, m.budgetRefused, depth,
		m.weight, m.loaded, m.shadowPredictions, m.shadowDropped, m.shadowFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
