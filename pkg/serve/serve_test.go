package serve

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/model/linear"
	"github.com/housectl/housectl/pkg/monitor"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/store/storetest"
)

var feats = []string{"a", "b", "c"}

// fitModel is y = 1 + 2a - b + 0.5c (+ shift) on a, b, c in [0, 10].
func fitModel(t testing.TB, shift float64) *model.Artifact {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	n := 200
	X := model.Matrix{Rows: n, Cols: 3, Data: make([]float64, 3*n)}
	y := make([]float64, n)
	for i := range n {
		a, b, c := r.Float64()*10, r.Float64()*10, r.Float64()*10
		X.Data[i], X.Data[n+i], X.Data[2*n+i] = a, b, c
		y[i] = 1 + 2*a - b + 0.5*c + shift
	}
	m, err := linear.Trainer{Params: linear.Defaults()}.Fit(t.Context(), X, y, model.FitOptions{Rand: r})
	if err != nil {
		t.Fatal(err)
	}
	return &model.Artifact{Header: model.Header{Kind: linear.Kind, Features: feats, Target: "y", Training: model.Summarize(X, y, feats, "y")}, Model: m}
}

// fakeSource serves whatever version it holds.
type fakeSource struct {
	mu      sync.Mutex
	name    string // "m" when empty
	version string
	art     *model.Artifact
	fail    error
}

func (f *fakeSource) Resolve() (Ident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Ident{Name: cmp.Or(f.name, "m"), Version: f.version, SHA256: "sha-" + f.version}, nil
}

func (f *fakeSource) Load(id Ident) (*Model, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	return &Model{Name: id.Name, Version: id.Version, RunID: "run-" + id.Version, URI: "models:/" + id.Name + "@prod", SHA256: id.SHA256, Artifact: f.art}, nil
}

// waitLogged waits until the log holds n rows (the writer flushes every
// millisecond in these tests) and returns them, oldest first.
func waitLogged(t testing.TB, lg *storetest.Memory, n int) []store.Row {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); lg.Len() < n && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
	}
	rows, _ := lg.Rows(context.Background(), store.Query{Ascending: true})
	if len(rows) != n {
		t.Fatalf("%d rows logged, want %d", len(rows), n)
	}
	return rows
}

func newServer(t testing.TB, mod func(*Options)) (*Server, *fakeSource, *storetest.Memory) {
	t.Helper()
	src := &fakeSource{version: "1", art: fitModel(t, 0)}
	lg := &storetest.Memory{}
	o := Options{Source: src, URI: "models:/m@prod", Registry: prometheus.NewRegistry(), Log: lg, LogOptions: store.WriterOptions{FlushInterval: time.Millisecond},
		MaxBatchRows: 5, BodyLimit: 4096, RangeTolerance: 0.25, Version: "test"}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, src, lg
}

type response struct {
	code   int
	header http.Header
	body   string
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func do(s http.Handler, method, path, ctype, body string, headers ...string) response {
	req := httptest.NewRequestWithContext(context.Background(), method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

const js = "application/json"

func TestPredictionRoutes(t *testing.T) {
	s, _, lg := newServer(t, nil)
	want := 1 + 2*1.0 - 2 + 0.5*3 // a=1, b=2, c=3
	near := func(v any) bool { f, ok := v.(float64); return ok && math.Abs(f-want) < 1e-9 }
	preds := func(r response, key string) []any {
		t.Helper()
		if r.code != 200 {
			t.Fatalf("status %d: %s", r.code, r.body)
		}
		p, _ := r.json(t)[key].([]any)
		return p
	}

	r := do(s, "POST", "/predict", js, `{"a": 1, "b": 2, "c": 3}`)
	if m := r.json(t); r.code != 200 || !near(m["prediction"]) || m["version"] != "1" || m["request_id"] == "" {
		t.Errorf("/predict: %d %s", r.code, r.body)
	}
	if p := preds(do(s, "POST", "/predict/batch", js, `{"instances": [{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2.0, "c": 3}]}`), "predictions"); len(p) != 2 || !near(p[1]) {
		t.Errorf("batch: %v", p)
	}
	if p := preds(do(s, "POST", "/predict/batch", js, `[{"a": 1, "b": 2, "c": 3}]`), "predictions"); len(p) != 1 || !near(p[0]) {
		t.Errorf("bare array batch: %v", p)
	}
	for name, body := range map[string]string{
		"dataframe_split":   `{"dataframe_split": {"columns": ["c", "b", "a"], "data": [[3, 2, 1], [3, 2, 1]], "index": [0, 1]}}`,
		"dataframe_records": `{"dataframe_records": [{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3}]}`,
		"instances rows":    `{"instances": [[1, 2, 3], [1, 2, 3]]}`,
		"instances dicts":   `{"instances": [{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3}]}`,
		"inputs columns":    `{"inputs": {"a": [1, 1], "b": [2, 2], "c": [3, 3]}, "params": {}}`,
	} {
		if p := preds(do(s, "POST", "/invocations", js, body), "predictions"); len(p) != 2 || !near(p[0]) || !near(p[1]) {
			t.Errorf("invocations %s: %v", name, p)
		}
	}
	if p := preds(do(s, "POST", "/invocations", "text/csv; charset=utf-8", "b,a,c\n2,1,3\n2,1,3\n"), "predictions"); len(p) != 2 || !near(p[0]) {
		t.Errorf("invocations CSV: %v", p)
	}
	if p := preds(do(s, "POST", "/invocations", "text/csv", "\xef\xbb\xbfb,a,c\n2,1,3\n"), "predictions"); len(p) != 1 || !near(p[0]) {
		t.Errorf("invocations CSV with a byte-order mark: %v", p)
	}
	for name, body := range map[string]string{
		"one tensor": `{"id": "q1", "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [[1, 2, 3], [1, 2, 3]]}], "outputs": [{"name": "prediction"}]}`,
		"per feature": `{"id": "q1", "inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1, 1]},
			{"name": "b", "shape": [2, 1], "datatype": "INT64", "data": [2, 2]}, {"name": "c", "shape": [2], "datatype": "FP32", "data": [3, 3]}]}`,
	} {
		r := do(s, "POST", "/v2/models/m/infer", js, body)
		m := r.json(t)
		outs, _ := m["outputs"].([]any)
		if r.code != 200 || m["id"] != "q1" || m["model_version"] != "1" || len(outs) != 1 {
			t.Fatalf("OIP %s: %d %s", name, r.code, r.body)
		}
		if d := outs[0].(map[string]any)["data"].([]any); len(d) != 2 || !near(d[0]) {
			t.Errorf("OIP %s: %v", name, d)
		}
	}
	// Every row was logged with its features.
	rows := waitLogged(t, lg, 1+2+1+1+2*5+2+2*2)
	if first := rows[0]; first.Features["b"] != 2 || len(first.Features) != 3 || first.Model != "m" || first.RequestID == "" {
		t.Errorf("first log record %+v", first)
	}

	for path, check := range map[string]func(response) bool{
		"/health":            func(r response) bool { return r.code == 200 && strings.Contains(r.body, `"ok"`) },
		"/ready":             func(r response) bool { return r.code == 200 && strings.Contains(r.body, `"version":"1"`) },
		"/v2/health/live":    func(r response) bool { return r.code == 200 },
		"/v2/health/ready":   func(r response) bool { return r.code == 200 },
		"/v2":                func(r response) bool { return r.code == 200 && strings.Contains(r.body, `"housectl"`) },
		"/v2/models/m":       func(r response) bool { return r.code == 200 && strings.Contains(r.body, `"name":"a"`) },
		"/v2/models/m/ready": func(r response) bool { return r.code == 200 },
		"/v2/models/other":   func(r response) bool { return r.code == 404 && strings.Contains(r.body, `"error"`) },
		"/model": func(r response) bool {
			return r.code == 200 && strings.Contains(r.body, `"run_id":"run-1"`) && strings.Contains(r.body, `"features":[{"name":"a"`)
		},
		"/openapi.json": func(r response) bool {
			return r.code == 200 && strings.Contains(r.body, `"openapi":"3.1.0"`) && strings.Contains(r.body, `"/v2/models/{name}/infer"`)
		},
		"/docs":    func(r response) bool { return r.code == 200 && strings.Contains(r.body, "/openapi.json") },
		"/ping":    func(r response) bool { return r.code == 200 && r.body == "\n" },
		"/version": func(r response) bool { return r.code == 200 && r.body == "test" },
		"/metrics": func(r response) bool {
			return r.code == 200 && strings.Contains(r.body, `housectl_serve_predictions_total{model="m",variant="",version="1"} 21`) &&
				strings.Contains(r.body, `housectl_serve_model_info{name="m",run="run-1",variant="",version="1"} 1`) &&
				strings.Contains(r.body, "go_goroutines") && strings.Contains(r.body, "housectl_serve_request_duration_seconds_bucket")
		},
	} {
		if r := do(s, "GET", path, "", ""); !check(r) {
			t.Errorf("GET %s: %d %.300s", path, r.code, r.body)
		}
	}
}

func TestErrors(t *testing.T) {
	s, _, _ := newServer(t, nil)
	for _, tc := range []struct {
		name, method, path, ctype, body string
		code                            int
		has                             []string
	}{
		{"malformed JSON", "POST", "/predict", js, `{"a": 1,`, 400, []string{`"detail":"malformed JSON`}},
		{"not an object", "POST", "/predict", js, `[1, 2, 3]`, 400, []string{"JSON object of feature names"}},
		{"no content type", "POST", "/predict", "", `{}`, 415, []string{"Content-Type must be application/json"}},
		{"wrong content type", "POST", "/predict", "text/plain", `{}`, 415, nil},
		{"other charset", "POST", "/predict", "application/json; charset=latin1", `{}`, 415, []string{"UTF-8"}},
		{"body over the limit", "POST", "/predict/batch", js, `[` + strings.Repeat(`{"a":1,"b":2,"c":3},`, 300) + `{}]`, 413, []string{"over the limit of 4096 bytes"}},
		{"too many rows", "POST", "/predict/batch", js, `[` + strings.Repeat(`{"a":1,"b":2,"c":3},`, 5) + `{"a":1,"b":2,"c":3}]`, 413, []string{"more than 5 rows"}},
		{"every field named", "POST", "/predict", js, `{"a": "x", "b": null, "d": 1, "c": 1e999}`, 422, []string{
			`"loc":["body","a"]`, `"type":"float_parsing"`, `"loc":["body","b"]`, `"type":"null"`,
			`"loc":["body","c"]`, `"type":"finite_number"`, `"loc":["body","d"]`, `"type":"extra_forbidden"`, `"error_count":4`}},
		{"missing and out of range", "POST", "/predict", js, `{"a": -100, "b": 2}`, 422, []string{`"type":"greater_than_equal"`, `"loc":["body","c"]`, `"type":"missing"`}},
		{"NaN as a string", "POST", "/predict", js, `{"a": "NaN", "b": 2, "c": 3}`, 422, []string{`"type":"float_parsing"`, "not a string"}},
		// Issue 17: a number sent as a JSON string is not a number (the
		// README's promise); it used to be parsed.
		{"number as a string", "POST", "/predict", js, `{"a": "8.3", "b": 2, "c": 3}`, 422, []string{`"loc":["body","a"]`, "not a string", `"input":"8.3"`}},
		{"number as a string in a batch", "POST", "/predict/batch", js, `{"instances": [{"a": 1, "b": "2", "c": 3}]}`, 422, []string{`"loc":["body","instances",0,"b"]`, "not a string"}},
		// A key twice in one object: a proxy reading the first value and
		// housectl the last would disagree, so neither is taken.
		{"duplicate key", "POST", "/predict", js, `{"a": 1, "b": 2, "c": 3, "a": 9}`, 400, []string{"a key is given twice in one object (at /a)"}},
		{"duplicate key in a batch", "POST", "/predict/batch", js, `[{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3, "b": 2}]`, 400, []string{"given twice", "/1/b"}},
		{"duplicate key in mlflow", "POST", "/invocations", js, `{"dataframe_records": [{"a": 1, "a": 1, "b": 2, "c": 3}]}`, 400, []string{"given twice"}},
		{"duplicate top-level key", "POST", "/invocations", js, `{"inputs": [[1, 2, 3]], "inputs": [[1, 2, 3]]}`, 400, []string{"given twice"}},
		{"duplicate key in oip", "POST", "/v2/models/m/infer", js, `{"inputs": [{"name": "a", "name": "b", "shape": [1], "datatype": "FP64", "data": [1]}]}`, 400, []string{"given twice"}},
		{"two JSON values", "POST", "/predict", js, `{"a": 1, "b": 2, "c": 3} {"a": 1}`, 400, []string{"more than one JSON value"}},
		{"JSON number forms", "POST", "/predict", js, `{"a": +1, "b": 2, "c": 3}`, 400, []string{"malformed JSON"}},
		{"batch rows located", "POST", "/predict/batch", js, `{"instances": [{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2}]}`, 422, []string{`"loc":["body","instances",1,"c"]`}},
		{"mlflow keys", "POST", "/invocations", js, `{"instances": [[1,2,3]], "inputs": [[1,2,3]]}`, 400, []string{`"error_code":"BAD_REQUEST"`, "exactly one of the input fields"}},
		{"mlflow invalid JSON", "POST", "/invocations", js, `{`, 400, []string{"Ensure that input is a valid JSON formatted string"}},
		{"mlflow content type", "POST", "/invocations", "text/xml", `x`, 415, []string{"This predictor only supports the following content types"}},
		// Issue 19: /invocations answers as MLflow does, 400s with its
		// error codes (TestInvocationsAsMLflow has the recorded cases).
		{"mlflow short row", "POST", "/invocations", js, `{"instances": [[1, 2]]}`, 400, []string{`"error_code":"BAD_REQUEST"`, `"type":"row_shape"`, "Row should have 3 values (a, b, c), got 2 (instances/0)"}},
		{"mlflow csv missing column", "POST", "/invocations", "text/csv", "a,b\n1,2\n", 400, []string{`"error_code":"INVALID_PARAMETER_VALUE"`, "Model is missing inputs ['c'].", `"loc":["csv","header","c"]`}},
		{"oip unknown output", "POST", "/v2/models/m/infer", js, `{"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}], "outputs": [{"name": "proba"}]}`, 400, []string{`"error":"requested output \"proba\" does not exist: the model has one output, \"prediction\""`}},
		{"oip bytes", "POST", "/v2/models/m/infer", js, `{"inputs": [{"name": "a", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}`, 400, []string{`"error":"input \"a\": datatype \"BYTES\" is not numeric`}},
		{"oip shape", "POST", "/v2/models/m/infer", js, `{"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1]}]}`, 400, []string{"shape [2] does not match"}},
		{"oip wrong model", "POST", "/v2/models/zzz/infer", js, `{}`, 404, []string{"not served here"}},
		{"unknown path", "GET", "/nope", "", "", 404, []string{`"detail":"no such endpoint`}},
		{"wrong method", "GET", "/predict", "", "", 405, nil},
	} {
		r := do(s, tc.method, tc.path, tc.ctype, tc.body)
		if r.code != tc.code {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.code, tc.code, r.body)
			continue
		}
		for _, h := range tc.has {
			if !strings.Contains(r.body, h) {
				t.Errorf("%s: body lacks %s: %s", tc.name, h, r.body)
			}
		}
		if strings.Contains(r.body, "goroutine") || strings.Contains(r.body, "/work/") || strings.Contains(r.body, ".go:") {
			t.Errorf("%s: internals leak: %s", tc.name, r.body)
		}
	}
	if r := do(s, "GET", "/metrics", "", ""); !strings.Contains(r.body, `housectl_serve_validation_failures_total{reason="float_parsing"}`) ||
		!strings.Contains(r.body, `housectl_serve_requests_total{code="422",route="POST /predict"}`) {
		t.Errorf("metrics miss the failures: %.2000s", r.body)
	}
}

// A known path asked with another method is a 405 whose Allow header
// lists the methods the path takes (RFC 9110).
func TestMethodNotAllowedSaysAllow(t *testing.T) {
	s, _, _ := newServer(t, nil)
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "/predict", "POST"},
		{"PUT", "/predict/batch", "POST"},
		{"POST", "/health", "GET, HEAD"},
		{"DELETE", "/v2/models/m", "GET, HEAD"},
		{"GET", "/v2/models/m/infer", "POST"},
	} {
		r := do(s, tc.method, tc.path, js, "")
		if r.code != 405 || r.header.Get("Allow") != tc.allow || !strings.Contains(r.body, "(allowed: "+tc.allow+")") {
			t.Errorf("%s %s: %d, Allow %q, %s; want 405, Allow %q", tc.method, tc.path, r.code, r.header.Get("Allow"), r.body, tc.allow)
		}
	}
	if r := do(s, "GET", "/nope", "", ""); r.code != 404 || r.header.Get("Allow") != "" {
		t.Errorf("unknown path: %d, Allow %q", r.code, r.header.Get("Allow"))
	}
}

func TestAuthAndRequestIDs(t *testing.T) {
	s, _, _ := newServer(t, func(o *Options) { o.APIKeys = []string{"k1", "secret-2"} })
	body := `{"a": 1, "b": 2, "c": 3}`
	for _, tc := range []struct {
		headers []string
		code    int
	}{
		{nil, 401},
		{[]string{"Authorization", "Bearer nope"}, 401},
		{[]string{"X-API-Key", "k1x"}, 401},
		{[]string{"Authorization", "Bearer secret-2"}, 200},
		{[]string{"Authorization", "bearer k1"}, 200},
		{[]string{"X-API-Key", "k1"}, 200},
	} {
		r := do(s, "POST", "/predict", js, body, tc.headers...)
		if r.code != tc.code {
			t.Errorf("%v: %d, want %d", tc.headers, r.code, tc.code)
		}
		if r.code == 401 && (r.header.Get("WWW-Authenticate") == "" || strings.Contains(r.body, "secret")) {
			t.Errorf("401 without a challenge, or leaking: %s", r.body)
		}
	}
	if r := do(s, "GET", "/health", "", ""); r.code != 200 {
		t.Errorf("/health needs no key: %d", r.code)
	}
	if r := do(s, "GET", "/model", "", ""); r.code != 401 {
		t.Errorf("/model without a key: %d", r.code)
	}
	r := do(s, "POST", "/predict", js, body, "X-API-Key", "k1", "X-Request-ID", "abc-123")
	if r.header.Get("X-Request-ID") != "abc-123" || r.json(t)["request_id"] != "abc-123" {
		t.Errorf("request id not honoured: %v %s", r.header, r.body)
	}
	r = do(s, "POST", "/predict", js, body, "X-API-Key", "k1", "X-Request-ID", "bad id\x01")
	if id := r.header.Get("X-Request-ID"); id == "" || strings.Contains(id, "bad") {
		t.Errorf("a bad request id was kept: %q", id)
	}
}

func TestRateLimit(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, _, _ := newServer(t, func(o *Options) { o.RateLimit, o.RateBurst, o.Now = 1, 2, clock })
	body := `{"a": 1, "b": 2, "c": 3}`
	codes := []int{}
	for range 3 {
		codes = append(codes, do(s, "POST", "/predict", js, body).code)
	}
	r := do(s, "POST", "/predict", js, body)
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 || r.code != 429 || r.header.Get("Retry-After") != "1" {
		t.Fatalf("codes %v then %d, Retry-After %q", codes, r.code, r.header.Get("Retry-After"))
	}
	// Another client has its own bucket; after a second the first has a token.
	req := httptest.NewRequestWithContext(t.Context(), "POST", "/predict", strings.NewReader(body))
	req.Header.Set("Content-Type", js)
	req.RemoteAddr = "10.0.0.9:5555"
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("another client was limited: %d", rec.Code)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if r := do(s, "POST", "/predict", js, body); r.code != 200 {
		t.Errorf("after a second: %d", r.code)
	}
}

// panicModel fails inside Predict.
type panicModel struct{ model.Model }

func (panicModel) Predict([]float64) float64 { panic("boom at /secret/path.go:12") }

func TestInternalErrorsAreGeneric(t *testing.T) {
	var logged bytes.Buffer
	s, src, _ := newServer(t, nil)
	art := *src.art
	good := art.Model
	src.art = &model.Artifact{Header: art.Header, Model: panicModel{good}}
	src.version = "2"
	// The test prediction on load refuses a panicking model.
	if swapped, err := s.Reload(); swapped || err == nil || !strings.Contains(err.Error(), "test prediction") {
		t.Fatalf("a panicking model was taken: %v", err)
	}
	// Serve it anyway, to see the request path's recovery.
	cur := s.Current()
	s.def.variants[0].model.Store(&Model{Name: "m", Version: "2", Artifact: src.art, Schema: cur.Schema, versionValue: []string{"2"}})
	s.o.Logger = newTestLogger(&logged)
	r := do(s, "POST", "/predict", js, `{"a": 1, "b": 2, "c": 3}`)
	if r.code != 500 || strings.Contains(r.body, "boom") || strings.Contains(r.body, "secret") || !strings.Contains(r.body, "request id") {
		t.Errorf("500: %d %s", r.code, r.body)
	}
	if !strings.Contains(logged.String(), "boom") || !strings.Contains(logged.String(), r.header.Get("X-Request-ID")) {
		t.Errorf("the log lacks the panic and the request id: %s", logged.String())
	}
}

// nanModel predicts NaN: prepare refuses it.
type nanModel struct{ model.Model }

func (nanModel) Predict([]float64) float64 { return math.NaN() }

func TestReloadSwapsAndRefusesBrokenVersions(t *testing.T) {
	s, src, _ := newServer(t, nil)
	body := `{"a": 1, "b": 2, "c": 3}`
	if swapped, err := s.Reload(); swapped || err != nil {
		t.Fatalf("nothing moved, yet %v %v", swapped, err)
	}
	src.mu.Lock()
	src.version, src.art = "2", fitModel(t, 100)
	src.mu.Unlock()
	if swapped, err := s.Reload(); !swapped || err != nil {
		t.Fatalf("swap: %v %v", swapped, err)
	}
	if m := do(s, "POST", "/predict", js, body).json(t); m["version"] != "2" || m["prediction"].(float64) < 100 {
		t.Errorf("after the swap: %v", m)
	}
	// A version that cannot load, or predicts NaN, is refused.
	src.mu.Lock()
	src.version, src.fail = "3", errors.New("sha256 mismatch")
	src.mu.Unlock()
	if swapped, err := s.Reload(); swapped || err == nil {
		t.Errorf("a broken version was taken: %v", err)
	}
	src.mu.Lock()
	art := fitModel(t, 0)
	src.version, src.fail, src.art = "4", nil, &model.Artifact{Header: art.Header, Model: nanModel{art.Model}}
	src.mu.Unlock()
	if swapped, err := s.Reload(); swapped || err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("a NaN model was taken: %v", err)
	}
	if m := do(s, "POST", "/predict", js, body).json(t); m["version"] != "2" {
		t.Errorf("the old version should keep serving: %v", m)
	}
	if r := do(s, "GET", "/metrics", "", ""); !strings.Contains(r.body, `housectl_serve_model_reloads_total{result="error"} 2`) ||
		!strings.Contains(r.body, `housectl_serve_model_info{name="m",run="run-2",variant="",version="2"} 1`) || strings.Contains(r.body, `run="run-1"`) {
		t.Errorf("reload metrics: %.3000s", r.body)
	}
}

// Requests in flight across many swaps never fail.
func TestSwapUnderLoad(t *testing.T) {
	s, src, _ := newServer(t, nil)
	ts := httptest.NewServer(s)
	defer ts.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed, done int64
	var mu sync.Mutex
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/predict", strings.NewReader(`{"a": 1, "b": 2, "c": 3}`))
				req.Header.Set("Content-Type", js)
				resp, err := ts.Client().Do(req)
				mu.Lock()
				done++
				if err != nil || resp.StatusCode != 200 {
					failed++
				}
				mu.Unlock()
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			}
		})
	}
	for v := 2; v < 12; v++ {
		src.mu.Lock()
		src.version, src.art = string(rune('0'+v%10))+"x", fitModel(t, float64(v))
		src.mu.Unlock()
		if _, err := s.Reload(); err != nil {
			t.Error(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failed != 0 || done == 0 {
		t.Errorf("%d of %d requests failed across swaps", failed, done)
	}
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// BenchmarkPredictHandler is one /predict request through the whole
// handler (request id, metrics, access log to io.Discard, decode,
// validate, predict, log record), without the network.
func BenchmarkPredictHandler(b *testing.B) {
	s, _, _ := newServer(b, func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
		o.Log = &storetest.Memory{}
	})
	body := []byte(`{"a": 1.5, "b": 2.25, "c": 3}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequestWithContext(b.Context(), "POST", "/predict", bytes.NewReader(body))
		req.Header.Set("Content-Type", js)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Body.String())
		}
	}
}

// The drift gauges: NaN until enough rows, then small for traffic like the
// training data and large when a feature shifts; a swap starts over.
func TestDriftMetrics(t *testing.T) {
	s, src, _ := newServer(t, func(o *Options) {
		o.DriftWindow = 500
		o.DriftThresholds = monitor.Thresholds{PSIWarn: 0.1, PSIAlert: 0.25, KSWarn: 0.1, KSAlert: 0.2, MinRows: 100}
		o.MaxBatchRows, o.BodyLimit = 1000, 1<<20
	})
	r := rand.New(rand.NewPCG(5, 6))
	batch := func(shiftA float64) string {
		var b strings.Builder
		b.WriteString(`{"instances": [`)
		for i := range 200 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"a": %g, "b": %g, "c": %g}`, math.Min(r.Float64()*10+shiftA, 12), r.Float64()*10, r.Float64()*10)
		}
		b.WriteString("]}")
		return b.String()
	}
	gauge := func(name string) string {
		body := do(s, "GET", "/metrics", "", "").body
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, name+" ") {
				return strings.TrimPrefix(line, name+" ")
			}
		}
		return "missing"
	}
	if g := gauge(`housectl_serve_feature_drift_psi{feature="a",model="m",variant=""}`); g != "NaN" {
		t.Errorf("before any traffic: %s", g)
	}
	if r := do(s, "POST", "/predict/batch", js, batch(0)); r.code != 200 {
		t.Fatal(r.body)
	}
	rep, err := s.UpdateDrift()
	// The reference is 200 training rows: sampling noise alone reaches a
	// warning, never an alert.
	if err != nil || rep.Rows != 200 || rep.Status == monitor.StatusAlert {
		t.Fatalf("like training: %+v %v", rep, err)
	}
	if g := gauge(`housectl_serve_drift_window_rows{model="m",variant=""}`); g != "200" {
		t.Errorf("window rows %s", g)
	}
	for range 3 {
		do(s, "POST", "/predict/batch", js, batch(3))
	}
	rep, _ = s.UpdateDrift()
	if rep.Rows != 500 || rep.Features[0].Status != monitor.StatusAlert || rep.Features[1].Status == monitor.StatusAlert {
		t.Errorf("a shifted by 3: %+v", rep.Features)
	}
	if g := gauge(`housectl_serve_feature_drift_psi{feature="a",model="m",variant=""}`); g == "NaN" || g == "missing" {
		t.Errorf("psi gauge: %s", g)
	}
	src.mu.Lock()
	src.version = "2"
	src.mu.Unlock()
	if _, err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if rep, _ := s.UpdateDrift(); rep.Rows != 0 || gauge(`housectl_serve_drift_window_rows{model="m",variant=""}`) != "0" {
		t.Errorf("after a swap the window should be empty: %d rows", rep.Rows)
	}
}

// readAll returns the whole body whether its declared length is right,
// short, unknown or over the limit, and passes on a read error.
func TestReadAll(t *testing.T) {
	body := strings.Repeat("x", 700)
	for _, c := range []struct {
		name     string
		declared int64
	}{{"exact", 700}, {"short", 10}, {"zero", 0}, {"unknown", -1}, {"at the limit", 1000}} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(iotest.HalfReader(strings.NewReader(body)), c.declared, 1000)
			if err != nil || string(got) != body {
				t.Errorf("%d bytes, %v", len(got), err)
			}
		})
	}
	empty, err := readAll(strings.NewReader(""), 0, 1000)
	if err != nil || len(empty) != 0 {
		t.Errorf("empty body: %q, %v", empty, err)
	}
	boom := errors.New("connection reset")
	if _, err := readAll(iotest.ErrReader(boom), 100, 1000); !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
}
