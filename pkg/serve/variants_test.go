package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/store/storetest"
)

// variantServer serves model m as production (version 1, shift 0) and
// challenger (version 2, shift 100), and model n (version 7) beside it.
func variantServer(t *testing.T, mod func(*Options)) (*Server, map[string]*fakeSource, *storetest.Memory) {
	t.Helper()
	srcs := map[string]*fakeSource{
		"production": {version: "1", art: fitModel(t, 0)},
		"challenger": {version: "2", art: fitModel(t, 100)},
		"n":          {name: "n", version: "7", art: fitModel(t, 50)},
	}
	lg := &storetest.Memory{}
	o := Options{Registry: prometheus.NewRegistry(), Log: lg, LogOptions: store.WriterOptions{FlushInterval: time.Millisecond},
		MaxBatchRows: 5, BodyLimit: 4096, RangeTolerance: 0.25, Version: "test",
		Models: []ModelOptions{
			{Variants: []VariantOptions{
				{Name: "production", URI: "models:/m@production", Source: srcs["production"], Weight: 90},
				{Name: "challenger", URI: "models:/m@challenger", Source: srcs["challenger"], Weight: 10},
			}},
			{Variants: []VariantOptions{{URI: "models:/n@production", Source: srcs["n"]}}},
		}}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, srcs, lg
}

const oneRow = `{"a": 1, "b": 2, "c": 3}`

// Several models in one server, each under its name; the unnamed routes
// serve the first; every response names the version that served it.
func TestSeveralModels(t *testing.T) {
	s, srcs, _ := variantServer(t, func(o *Options) { o.Models[0].Variants = o.Models[0].Variants[:1] })
	for _, tt := range []struct {
		path, version string
	}{{"/predict", "1"}, {"/models/m/predict", "1"}, {"/models/n/predict", "7"}} {
		r := do(s, "POST", tt.path, js, oneRow)
		if r.code != 200 || r.json(t)["version"] != tt.version || r.header.Get("X-Housectl-Version") != tt.version {
			t.Errorf("%s: %d %s %v", tt.path, r.code, r.body, r.header)
		}
	}
	if r := do(s, "POST", "/models/n/predict/batch", js, "["+oneRow+","+oneRow+"]"); r.code != 200 || r.json(t)["model"] != "n" {
		t.Errorf("batch of n: %d %s", r.code, r.body)
	}
	if r := do(s, "POST", "/v2/models/n/infer", js, `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}`); r.code != 200 || r.json(t)["model_version"] != "7" {
		t.Errorf("OIP infer of n: %d %s", r.code, r.body)
	}
	if r := do(s, "GET", "/v2/models/n/ready", "", ""); r.code != 200 {
		t.Errorf("OIP ready of n: %d %s", r.code, r.body)
	}
	if r := do(s, "POST", "/models/x/predict", js, oneRow); r.code != 404 || !strings.Contains(r.body, "this server serves m, n") {
		t.Errorf("an unknown model: %d %s", r.code, r.body)
	}
	r := do(s, "GET", "/models", "", "")
	if r.code != 200 || !strings.Contains(r.body, `"name":"m","default":true`) || !strings.Contains(r.body, `"name":"n","default":false`) {
		t.Errorf("GET /models: %d %s", r.code, r.body)
	}
	if r := do(s, "GET", "/models/n", "", ""); r.code != 200 || r.json(t)["version"] != "7" {
		t.Errorf("GET /models/n: %d %s", r.code, r.body)
	}

	// n fails to load its next version: m serves on, n keeps its version,
	// and /ready and the metrics say so.
	srcs["n"].mu.Lock()
	srcs["n"].version, srcs["n"].fail = "8", errors.New("artifact sha256 mismatch")
	srcs["n"].mu.Unlock()
	if _, err := s.Reload(); err == nil {
		t.Fatal("a failed load was not reported")
	}
	if r := do(s, "POST", "/predict", js, oneRow); r.code != 200 {
		t.Errorf("m after n failed: %d", r.code)
	}
	if r := do(s, "GET", "/ready", "", ""); r.code != 200 || !strings.Contains(r.body, "failed to load") || !strings.Contains(r.body, "sha256 mismatch") {
		t.Errorf("/ready: %d %s", r.code, r.body)
	}
	if r := do(s, "GET", "/metrics", "", ""); !strings.Contains(r.body, `housectl_serve_model_loaded{model="n",variant=""} 0`) ||
		!strings.Contains(r.body, `housectl_serve_model_loaded{model="m",variant="production"} 1`) {
		t.Errorf("loaded gauges: %s", grepLines(r.body, "model_loaded"))
	}
}

// A model that cannot load at start does not stop the others.
func TestAModelThatFailsAtStart(t *testing.T) {
	s, _, _ := variantServer(t, func(o *Options) {
		o.Models[0].Variants = o.Models[0].Variants[:1]
		o.Models = append(o.Models, ModelOptions{Name: "broken", Variants: []VariantOptions{{URI: "models:/broken@production", Source: &fakeSource{name: "broken", version: "1", fail: errors.New("no such alias")}}}})
	})
	if r := do(s, "POST", "/predict", js, oneRow); r.code != 200 {
		t.Errorf("the default: %d", r.code)
	}
	if r := do(s, "POST", "/models/broken/predict", js, oneRow); r.code != 503 {
		t.Errorf("the broken one: %d %s", r.code, r.body)
	}
	if r := do(s, "GET", "/ready", "", ""); r.code != 200 || !strings.Contains(r.body, "no such alias") {
		t.Errorf("/ready: %d %s", r.code, r.body)
	}
}

func grepLines(body, sub string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A split sends each request to a variant by weight; a unit stays on its
// variant; a weight change moves only the units it has to.
func TestSplit(t *testing.T) {
	s, _, lg := variantServer(t, func(o *Options) { o.Models[0].UnitField = "user" })
	served := func(unit string) string {
		t.Helper()
		var r response
		if unit == "" {
			r = do(s, "POST", "/predict", js, oneRow)
		} else {
			r = do(s, "POST", "/predict", js, oneRow, "X-Housectl-Unit", unit)
		}
		if r.code != 200 || r.header.Get("X-Housectl-Version") != r.json(t)["version"] {
			t.Fatalf("%d %s %v", r.code, r.body, r.header)
		}
		return r.header.Get("X-Housectl-Variant")
	}
	counts := map[string]int{}
	for range 2000 {
		counts[served("")]++
	}
	if c := counts["challenger"]; c < 140 || c > 260 { // 10% of 2,000, ±4.7 sd
		t.Errorf("without a unit, the challenger took %d of 2,000 (want about 200): %v", c, counts)
	}
	before := map[string]string{}
	n := 0
	for i := range 2000 {
		u := fmt.Sprintf("user-%d", i)
		before[u] = served(u)
		if before[u] == "challenger" {
			n++
		}
		if again := served(u); again != before[u] {
			t.Fatalf("unit %s moved from %s to %s", u, before[u], again)
		}
	}
	if n < 140 || n > 260 {
		t.Errorf("by unit, the challenger took %d of 2,000", n)
	}
	// The field carries the unit too, and is not taken for a feature.
	r := do(s, "POST", "/predict", js, `{"a": 1, "b": 2, "c": 3, "user": "user-7"}`)
	if r.code != 200 || r.header.Get("X-Housectl-Variant") != before["user-7"] {
		t.Errorf("unit field: %d %s %v", r.code, r.body, r.header)
	}
	// 90/10 → 70/30: units only move to the challenger, about a fifth
	// of the production ones.
	if err := s.SetWeights("", Weights{"production": 70, "challenger": 30}); err != nil {
		t.Fatal(err)
	}
	moved, back := 0, 0
	for u, v := range before {
		now := served(u)
		switch {
		case v == "production" && now == "challenger":
			moved++
		case v == "challenger" && now == "production":
			back++
		}
	}
	if back != 0 || moved < 330 || moved > 560 { // 2/9 of about 1,800
		t.Errorf("after 90/10 → 70/30: %d units moved to the challenger, %d back", moved, back)
	}
	for _, bad := range []Weights{{"production": 1}, {"production": 1, "challenger": -1}, {"production": 0, "challenger": 0}, {"production": 1, "challenger": 1, "other": 1}} {
		if err := s.SetWeights("", bad); err == nil {
			t.Errorf("weights %v accepted", bad)
		}
	}
	// Every log row records its variant.
	waitRows(t, lg, 1)
	rows, _ := lg.Rows(context.Background(), store.Query{Variant: "challenger"})
	if len(rows) == 0 || rows[0].Version != "2" {
		t.Errorf("challenger rows: %d", len(rows))
	}
	if r := do(s, "GET", "/metrics", "", ""); !strings.Contains(r.body, `housectl_serve_split_weight{model="m",variant="challenger"} 0.3`) {
		t.Errorf("weight gauges: %s", grepLines(r.body, "split_weight"))
	}
}

// PUT /admin/split changes the weights of a running server; it takes the
// API keys like every other route.
func TestAdminSplit(t *testing.T) {
	s, _, _ := variantServer(t, func(o *Options) { o.APIKeys = []string{"k"} })
	if r := do(s, "PUT", "/admin/split", js, `{"weights": {"production": 0, "challenger": 1}}`); r.code != 401 {
		t.Errorf("without a key: %d", r.code)
	}
	r := do(s, "PUT", "/admin/split", js, `{"weights": {"production": 0, "challenger": 1}}`, "Authorization", "Bearer k")
	if r.code != 200 || !strings.Contains(r.body, `"variant":"challenger"`) {
		t.Fatalf("%d %s", r.code, r.body)
	}
	for range 20 {
		if r := do(s, "POST", "/predict", js, oneRow, "Authorization", "Bearer k"); r.header.Get("X-Housectl-Variant") != "challenger" {
			t.Fatalf("after 0/1: %v", r.header)
		}
	}
	if r := do(s, "PUT", "/admin/split", js, `{"weights": {"production": 1}}`, "Authorization", "Bearer k"); r.code != 422 || !strings.Contains(r.body, "challenger") {
		t.Errorf("incomplete weights: %d %s", r.code, r.body)
	}
	if r := do(s, "PUT", "/admin/split", js, `{"wait": 1}`, "Authorization", "Bearer k"); r.code != 400 {
		t.Errorf("a wrong body: %d %s", r.code, r.body)
	}
}

func waitRows(t *testing.T, lg *storetest.Memory, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if c, _ := lg.Count(context.Background(), store.Query{Shadows: store.WithShadows}); c >= int64(n) {
			return
		}
	}
	t.Fatalf("fewer than %d rows were logged", n)
}

// A shadow predicts every request off the response path and logs its rows
// paired with the served ones; what it does never reaches the client.
func TestShadow(t *testing.T) {
	s, srcs, lg := variantServer(t, func(o *Options) {
		o.Models[0].Variants = o.Models[0].Variants[:1]
		o.Models[0].Shadow = &VariantOptions{Name: "challenger", URI: "models:/m@challenger", Source: &fakeSource{version: "2", art: fitModel(t, 100)}}
	})
	_ = srcs
	r := do(s, "POST", "/predict/batch", js, "["+oneRow+","+oneRow+"]", "X-Request-ID", "req-1")
	if r.code != 200 || r.header.Get("X-Housectl-Version") != "1" || strings.Contains(r.body, "challenger") {
		t.Fatalf("%d %s", r.code, r.body)
	}
	waitRows(t, lg, 4)
	served, _ := lg.Rows(context.Background(), store.Query{Ascending: true})
	shadow, _ := lg.Rows(context.Background(), store.Query{Shadows: store.OnlyShadows, Ascending: true})
	if len(served) != 2 || len(shadow) != 2 {
		t.Fatalf("%d served rows, %d shadow rows", len(served), len(shadow))
	}
	for i := range 2 {
		a, b := served[i], shadow[i]
		if a.RequestID != "req-1" || b.RequestID != "req-1" || a.Row != b.Row || b.Version != "2" || b.Variant != "challenger" ||
			math.Abs(b.Prediction-a.Prediction-100) > 1e-6 {
			t.Errorf("pair %d: served %+v, shadow %+v", i, a, b)
		}
	}
	if r := do(s, "GET", "/metrics", "", ""); !strings.Contains(r.body, `housectl_serve_shadow_predictions_total{model="m",version="2"} 2`) {
		t.Errorf("shadow metrics: %s", grepLines(r.body, "shadow"))
	}
}

// A shadow that cannot keep up drops work (counted), and a failing one is
// counted; neither touches the responses. On shutdown every queued shadow
// row is logged before the log closes.
func TestShadowQueueAndShutdown(t *testing.T) {
	block := make(chan struct{})
	slow := &fakeSource{version: "2", art: fitModel(t, 100)}
	slow.art = &model.Artifact{Header: slow.art.Header, Model: &blockingModel{Model: slow.art.Model, block: block}}
	s, _, lg := variantServer(t, func(o *Options) {
		o.Models[0].Variants = o.Models[0].Variants[:1]
		o.Models[0].Shadow = &VariantOptions{Name: "challenger", URI: "models:/m@challenger", Source: slow}
		o.ShadowQueue = 2
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0") //nolint:noctx // a test listener
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	// The workers take one job each and block; 2 more fill the queue; the
	// rest are dropped. Every response is 200.
	for i := range 20 {
		if r := do(s, "POST", "/predict", js, oneRow); r.code != 200 {
			t.Fatalf("request %d: %d", i, r.code)
		}
	}
	if r := do(s, "GET", "/metrics", "", ""); !strings.Contains(r.body, "housectl_serve_shadow_dropped_total") || strings.Contains(r.body, "housectl_serve_shadow_dropped_total 0\n") {
		t.Errorf("drops: %s", grepLines(r.body, "shadow_dropped"))
	}
	close(block)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	served, _ := lg.Count(context.Background(), store.Query{})
	shadows, _ := lg.Count(context.Background(), store.Query{Shadows: store.OnlyShadows})
	m := grepLines(do(s, "GET", "/metrics", "", "").body, "shadow_dropped_total")
	var dropped int64
	_, _ = fmt.Sscanf(strings.TrimPrefix(m, "housectl_serve_shadow_dropped_total "), "%d", &dropped)
	if served != 20 || shadows+dropped != 20 || shadows == 0 {
		t.Errorf("after shutdown: %d served rows, %d shadow rows, %d dropped", served, shadows, dropped)
	}
}

// blockingModel waits for block before each batch prediction (the
// shadow's path); Predict, the load check's, does not wait.
type blockingModel struct {
	model.Model
	block chan struct{}
}

func (b *blockingModel) PredictBatch(X model.Matrix, dst []float64) {
	<-b.block
	b.Model.PredictBatch(X, dst)
}

// Feedback joined to predictions moves the live RMSE and MAE gauges of
// the version (and of its shadow) that made them.
func TestLiveAccuracyGauges(t *testing.T) {
	s, _, lg := variantServer(t, func(o *Options) {
		o.Models[0].Variants = o.Models[0].Variants[:1]
		o.Models[0].Shadow = &VariantOptions{Name: "challenger", URI: "models:/m@challenger", Source: &fakeSource{version: "2", art: fitModel(t, 100)}}
		o.LiveWindow = 2
		o.RMSERegression = 0.25
	})
	// a=1,b=2,c=3 predicts 2.5 (production) and 102.5 (the shadow).
	for i := range 3 {
		if r := do(s, "POST", "/predict", js, oneRow, "X-Request-ID", fmt.Sprint("q", i)); r.code != 200 {
			t.Fatal(r.body)
		}
	}
	waitRows(t, lg, 6)
	// Actual values 1.5, 3.5 and 4.5: production's errors 1, -1, -2; the
	// window of 2 keeps the last two: RMSE sqrt(2.5), MAE 1.5.
	r := do(s, "POST", "/feedback", js, `{"feedback": [{"request_id": "q0", "actual": 1.5}, {"request_id": "q1", "actual": 3.5}, {"request_id": "q2", "actual": 4.5}]}`)
	if r.code != 202 || r.json(t)["matched"] != 3.0 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	m := do(s, "GET", "/metrics", "", "").body
	value := func(series string) float64 {
		for _, l := range strings.Split(m, "\n") {
			if v, ok := strings.CutPrefix(l, series+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		t.Errorf("no %s in\n%s", series, grepLines(m, "live_"))
		return math.NaN()
	}
	for series, want := range map[string]float64{
		`housectl_serve_live_rmse{model="m",variant="production",version="1"}`:                 math.Sqrt(2.5),
		`housectl_serve_live_mae{model="m",variant="production",version="1"}`:                  1.5,
		`housectl_serve_live_feedback_rows{model="m",variant="production",version="1"}`:        2,
		`housectl_serve_feedback_joined_total{model="m",variant="production",version="1"}`:     3,
		`housectl_serve_live_mae{model="m",variant="shadow:challenger",version="2"}`:           98.5,
		`housectl_serve_live_feedback_rows{model="m",variant="shadow:challenger",version="2"}`: 2,
		`housectl_serve_live_rmse_regression_threshold`:                                        0.25,
	} {
		if got := value(series); math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}
