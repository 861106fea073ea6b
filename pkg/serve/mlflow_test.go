package serve

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/model/linear"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/store/storetest"
)

// californiaServer serves a linear model over the eight California
// Housing features, trained on values spread over their real ranges.
func californiaServer(t *testing.T) *Server {
	t.Helper()
	feats := []string{"MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"}
	ranges := [][2]float64{{0.5, 15}, {1, 52}, {1, 10}, {0.5, 2}, {3, 5000}, {1, 5}, {32, 42}, {-124.5, -114}}
	r := rand.New(rand.NewPCG(3, 4))
	n := 300
	X := model.Matrix{Rows: n, Cols: len(feats), Data: make([]float64, n*len(feats))}
	y := make([]float64, n)
	for i := range n {
		for j, rg := range ranges {
			v := rg[0] + r.Float64()*(rg[1]-rg[0])
			X.Data[j*n+i] = v
			y[i] += v / float64(j+1)
		}
	}
	m, err := linear.Trainer{Params: linear.Defaults()}.Fit(t.Context(), X, y, model.FitOptions{Rand: r})
	if err != nil {
		t.Fatal(err)
	}
	art := &model.Artifact{Header: model.Header{Kind: linear.Kind, Features: feats, Target: "y", Training: model.Summarize(X, y, feats, "y")}, Model: m}
	s, err := New(Options{Source: &fakeSource{name: "california", version: "1", art: art}, URI: "models:/california@prod", Registry: prometheus.NewRegistry(),
		Log: &storetest.Memory{}, LogOptions: store.WriterOptions{}, MaxBatchRows: 100, BodyLimit: 1 << 20, RangeTolerance: 0.25, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mlflowCase is one line of testdata/mlflow-scoring.jsonl: a request,
// and what a real MLflow 2.17.2 scoring server answered it. Recorded with
//
//	PYTHONPATH=/opt/realmlflow/site /usr/bin/python3 scripts/realmlflow/scoring_model.py /tmp/model
//	/opt/realmlflow/mlflow models serve -m /tmp/model --env-manager local -p 5055 &
//	/usr/bin/python3 scripts/realmlflow/scoring_cases.py |
//	  /usr/bin/python3 scripts/realmlflow/scoring_probe.py http://127.0.0.1:5055 > pkg/serve/testdata/mlflow-scoring.jsonl
//
// (the MLflow of ../shared/tools/realmlflow-setup.sh; the model is a
// signed scikit-learn LinearRegression over the same eight features).
type mlflowCase struct {
	Name         string  `json:"name"`
	ContentType  *string `json:"content_type"`
	Body         string  `json:"body"`
	Status       int     `json:"status"`
	ResponseType string  `json:"response_type"`
	Response     any     `json:"response"`
	ResponseText string  `json:"response_text"`
}

// mlflowDiffers are the cases where housectl answers otherwise, on
// purpose (docs/FORMATS.md lists them): the status housectl answers,
// and why.
var mlflowDiffers = map[string]struct {
	status int
	why    string
}{
	// Rows without names are taken in the model's feature order (MLflow
	// names the columns 0, 1, ... and finds every input missing).
	"instances of lists":       {200, "positional rows are the model's features in order"},
	"inputs of lists":          {200, "positional rows are the model's features in order"},
	"split columns missing":    {200, "positional rows are the model's features in order"},
	"records not objects":      {200, "positional rows are the model's features in order"},
	"instances of short lists": {400, "a positional row of the wrong length: BAD_REQUEST, not missing inputs"},
	// MLflow 2.17.2 fails with an HTML 500 when there is no Content-Type.
	"no content type": {415, "no Content-Type is MLflow's 415, not its crash"},
	// Media types are case-insensitive (RFC 9110); MLflow compares bytes.
	"json uppercase type": {200, "media types are case-insensitive"},
	// pandas takes a CSV row with one cell too many as index + row.
	"csv long row": {400, "a row longer than the header is refused, not shifted into the index"},
	// Python's json reads NaN and Infinity; they are not JSON.
	"split NaN":      {400, "NaN is not JSON"},
	"split Infinity": {400, "Infinity is not JSON"},
}

// mlflowPrefix are cases whose message ends with text of the Python
// runtime (a JSONDecodeError, pandas' tokenizer, pandas' own failure):
// only what precedes it is compared.
var mlflowPrefix = map[string]string{
	"invalid JSON":           "Invalid input. Ensure that input is a valid JSON formatted string. Error: '",
	"csv malformed":          "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '",
	"split duplicate column": "Failed to predict data '",
	"inputs ragged":          "",
	"split empty data":       "Encountered an unexpected error",
	"csv header only":        "Encountered an unexpected error",
}

var (
	// Python prints a set in its hash seed's order: compare sorted.
	pySet = regexp.MustCompile(`\{'[^{}]*'\}`)
	// MLflow prints the frame with pandas' repr; housectl its size.
	pyFrame = regexp.MustCompile(`(?s)data '.*?'(\. \nError:| with schema)`)
	// and the extra inputs of a frame from a set, in its hash order.
	pyExtras = regexp.MustCompile(`extra inputs: \[.*\]`)
)

func normalizeMLflow(msg string) string {
	msg = pySet.ReplaceAllStringFunc(msg, func(s string) string {
		items := strings.Split(s[1:len(s)-1], ", ")
		slices.Sort(items)
		return "{" + strings.Join(items, ", ") + "}"
	})
	msg = pyExtras.ReplaceAllStringFunc(msg, func(s string) string {
		items := strings.Split(strings.TrimSuffix(strings.TrimPrefix(s, "extra inputs: ["), "]"), ", ")
		slices.Sort(items)
		return "extra inputs: [" + strings.Join(items, ", ") + "]"
	})
	return pyFrame.ReplaceAllString(msg, "data '…'$1")
}

// TestInvocationsAsMLflow replays every recorded request and compares
// housectl's answer with MLflow's: the status, the content type, and for
// errors the error_code and the message.
func TestInvocationsAsMLflow(t *testing.T) {
	s := californiaServer(t)
	cases := jsonLines[mlflowCase](t, "testdata/mlflow-scoring.jsonl")
	if len(cases) < 90 {
		t.Fatalf("%d cases read", len(cases))
	}
	for _, c := range cases {
		ct := ""
		if c.ContentType != nil {
			ct = *c.ContentType
		}
		r := do(s, "POST", "/invocations", ct, c.Body)
		if d, ok := mlflowDiffers[c.Name]; ok {
			if r.code != d.status {
				t.Errorf("%s: housectl answers %d (%s), want %d: %s", c.Name, r.code, d.why, d.status, r.body)
			}
			continue
		}
		if r.code != c.Status {
			t.Errorf("%s: status %d, MLflow %d: %s", c.Name, r.code, c.Status, r.body)
			continue
		}
		if got, want := strings.Split(r.header.Get("Content-Type"), ";")[0], strings.Split(c.ResponseType, ";")[0]; got != want {
			t.Errorf("%s: content type %s, MLflow %s", c.Name, got, want)
		}
		if c.Status == 200 {
			var got struct{ Predictions []float64 }
			want, _ := c.Response.(map[string]any)["predictions"].([]any)
			if err := json.Unmarshal([]byte(r.body), &got); err != nil || len(got.Predictions) != len(want) {
				t.Errorf("%s: %d predictions, MLflow %d: %s", c.Name, len(got.Predictions), len(want), r.body)
			}
			continue
		}
		var gotMsg, wantMsg string
		if c.ResponseText != "" { // a text/plain 415
			gotMsg, wantMsg = r.body, c.ResponseText
		} else {
			want := c.Response.(map[string]any)
			var got map[string]any
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Errorf("%s: not JSON: %s", c.Name, r.body)
				continue
			}
			if got["error_code"] != want["error_code"] {
				t.Errorf("%s: error_code %v, MLflow %v", c.Name, got["error_code"], want["error_code"])
			}
			gotMsg, _ = got["message"].(string)
			wantMsg, _ = want["message"].(string)
		}
		gotMsg, wantMsg = normalizeMLflow(gotMsg), normalizeMLflow(wantMsg)
		if p, ok := mlflowPrefix[c.Name]; ok {
			if !strings.HasPrefix(gotMsg, p) || !strings.HasPrefix(wantMsg, p) {
				t.Errorf("%s: message\n%q\ndoes not start as MLflow's\n%q", c.Name, gotMsg, wantMsg)
			}
			continue
		}
		if gotMsg != wantMsg {
			t.Errorf("%s: message\n%q\nMLflow's\n%q", c.Name, gotMsg, wantMsg)
		}
	}
}

// jsonLines reads a file of recorded exchanges, one JSON value a line.
func jsonLines[T any](t *testing.T, name string) []T {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for line := range strings.Lines(string(b)) {
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, v)
	}
	return out
}

// Item 11: MLflow has no range check, so out-of-range values are
// predicted; housectl counts them by feature.
func TestInvocationsCountOutOfRange(t *testing.T) {
	s := californiaServer(t)
	body := `{"dataframe_records": [{"MedInc": 1e6, "HouseAge": 41, "AveRooms": 6.9, "AveBedrms": 1.02, "Population": 322, "AveOccup": 2.5, "Latitude": 37.88, "Longitude": -122.23},
		{"MedInc": -50, "HouseAge": 41, "AveRooms": 6.9, "AveBedrms": 1.02, "Population": 322, "AveOccup": 2.5, "Latitude": 37.88, "Longitude": -122.23, "extra": 1}]}`
	if r := do(s, "POST", "/invocations", js, body); r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	metrics := do(s, "GET", "/metrics", "", "").body
	if !strings.Contains(metrics, `housectl_serve_out_of_range_values_total{feature="MedInc"} 2`+"\n") ||
		strings.Contains(metrics, `housectl_serve_out_of_range_values_total{feature="HouseAge"}`) {
		t.Errorf("out-of-range counts:\n%s", metrics)
	}
	// /predict keeps its range check.
	r := do(s, "POST", "/predict", js, `{"MedInc": 1e6, "HouseAge": 41, "AveRooms": 6.9, "AveBedrms": 1.02, "Population": 322, "AveOccup": 2.5, "Latitude": 37.88, "Longitude": -122.23}`)
	if r.code != 422 || !strings.Contains(r.body, "less_than_equal") {
		t.Errorf("/predict out of range: %d %s", r.code, r.body)
	}
}
