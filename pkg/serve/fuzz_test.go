package serve

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/housectl/housectl/pkg/model"
)

// fuzzModel is a served model for the decoders, bounds prepared.
func fuzzModel(f *testing.F) *Model {
	f.Helper()
	m := &Model{Name: "m", Version: "1", Artifact: fitModel(f, 0)}
	if err := m.prepare(0.25, Bounds{"a": {0, 10}}); err != nil {
		f.Fatal(err)
	}
	return m
}

// checkDecoded is what every decoder promises: an error, or at least one
// row of finite, in-range values in the model's feature order.
func checkDecoded(t *testing.T, m *Model, X model.Matrix, err error) {
	checkDecodedRange(t, m, X, err, true)
}

// checkDecodedRange is checkDecoded, the range checked or not (MLflow's
// /invocations predicts values out of range).
func checkDecodedRange(t *testing.T, m *Model, X model.Matrix, err error, inRange bool) {
	if err != nil {
		var re *requestError
		if !errors.As(err, &re) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		return
	}
	if X.Rows < 1 || X.Cols != len(m.Artifact.Header.Features) || len(X.Data) != X.Rows*X.Cols {
		t.Fatalf("matrix %d×%d with %d values", X.Rows, X.Cols, len(X.Data))
	}
	for j := range X.Cols {
		for _, v := range X.Col(j) {
			if math.IsNaN(v) || math.IsInf(v, 0) || inRange && (v < m.Schema.Lo[j] || v > m.Schema.Hi[j]) {
				t.Fatalf("feature %d: %v passed validation (bounds %v, %v)", j, v, m.Schema.Lo[j], m.Schema.Hi[j])
			}
		}
	}
}

func FuzzDecodePredict(f *testing.F) {
	m := fuzzModel(f)
	for _, s := range []string{`{"a": 1, "b": 2, "c": 3}`, `{"a": "1e3", "b": null, "c": true}`, `{"a": 1e999}`, `[]`, `{"a": {"x": 1}}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		X, err := DecodePredict(m, body, 1)
		checkDecoded(t, m, X, err)
	})
}

func FuzzDecodeBatch(f *testing.F) {
	m := fuzzModel(f)
	for _, s := range []string{`{"instances": [{"a": 1, "b": 2, "c": 3}]}`, `[{"a": 1, "b": 2, "c": 3}, {}]`, `{"instances": null}`, `{"rows": []}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		X, err := DecodeBatch(m, body, 50)
		checkDecoded(t, m, X, err)
	})
}

func FuzzDecodeInvocations(f *testing.F) {
	m := fuzzModel(f)
	for _, s := range []string{
		`{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}}`,
		`{"dataframe_records": [{"a": 1, "b": 2, "c": 3}]}`,
		`{"instances": [[1, 2, 3]]}`, `{"inputs": {"a": [1], "b": [2], "c": [3]}}`, `{"inputs": [[1, 2]], "params": {"x": 1}}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("a,b,c\n1,2,3\n"), true)
	f.Add([]byte("a,b\n1,\"2\n"), true)
	f.Add([]byte(`{"instances": [{"a": 11, "b": "2", "c": true, "d": 1}], "params": {"x": 1}, "z": 0}`), false)
	f.Fuzz(func(t *testing.T, body []byte, isCSV bool) {
		inv, err := DecodeInvocations(m, body, isCSV, 50)
		checkDecodedRange(t, m, inv.X, err, false)
	})
}

func FuzzDecodeOIP(f *testing.F) {
	m := fuzzModel(f)
	for _, s := range []string{
		`{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}`,
		`{"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "b", "shape": [1], "datatype": "FP64", "data": [2]}, {"name": "c", "shape": [1], "datatype": "FP64", "data": [3]}]}`,
		`{"inputs": [{"name": "a", "shape": [-1], "datatype": "FP64", "data": []}]}`,
		`{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [[1, 2, 3], [4]]}]}`,
	} {
		f.Add([]byte(s), "")
	}
	// The binary tensor extension: a JSON header, then FP64 a, b, c.
	h := `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "parameters": {"binary_data_size": 24}}]}`
	f.Add(append([]byte(h), appendOIPBinary(nil, []float64{1, 2, 3})...), strconv.Itoa(len(h)))
	f.Fuzz(func(t *testing.T, body []byte, headerLength string) {
		req, err := DecodeOIP(m, body, headerLength, 50)
		checkDecoded(t, m, req.X, err)
	})
}

func FuzzDecodeFeedback(f *testing.F) {
	for _, s := range []string{`{"request_id": "r1", "actual": 1.5}`, `{"feedback": [{"request_id": "r1", "row": 2, "actual": 3}]}`,
		`{"request_id": "", "actual": null}`, `{"feedback": []}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fb, err := DecodeFeedback(body, 50)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if len(fb) == 0 || len(fb) > 50 {
			t.Fatalf("%d items", len(fb))
		}
		for _, x := range fb {
			if !validRequestID(x.RequestID) || x.Row < 0 || math.IsNaN(x.Actual) || math.IsInf(x.Actual, 0) {
				t.Fatalf("invalid feedback passed: %+v", x)
			}
		}
	})
}

// FuzzFastPathAgrees: whatever body the /predict fast path accepts, the
// general path accepts too, with the same row, bit for bit; the fast path
// may only decline (and leave the body to the general path).
func FuzzFastPathAgrees(f *testing.F) {
	m := fuzzModel(f)
	for _, s := range []string{`{"a": 1, "b": 2, "c": 3}`, `{"c":3,"a":1e0,"b":-0.5E+1}`, `{"a": +1, "b": 2, "c": 3}`, `{"a": .5, "b": 2, "c": 3}`,
		`{"a": 01, "b": 2, "c": 3}`, `{"a": 1., "b": 2, "c": 3}`, `{"a": 1, "b": 2, "c": 3, "a": 2}`, `{"a": 1, "b": 2, "c": 3} x`, `{"a": 1e999, "b": 2, "c": 3}`, `{"a":1,"b":2,"c":3}` + "\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		row := make([]float64, len(m.Artifact.Header.Features))
		if !m.Schema.FastObject(body, row) {
			return
		}
		X, err := decodePredict(m, body, 1)
		if err != nil {
			t.Fatalf("the fast path accepted %q, the general path refuses it: %v", body, err)
		}
		for j, v := range row {
			if math.Float64bits(v) != math.Float64bits(X.Data[j]) {
				t.Fatalf("%q: feature %d is %v on the fast path, %v on the general one", body, j, v, X.Data[j])
			}
		}
	})
}
