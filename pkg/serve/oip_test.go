package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/model"
)

// tritonExchange is one line of testdata/tritonclient.jsonl: a request
// the Open Inference Protocol's reference client (tritonclient.http, of
// triton-inference-server/client) sent, what housectl answered, and what
// the client made of it. Recorded with
//
//	housectl serve --model models:/california@production --addr 127.0.0.1:8077 &
//	/usr/bin/python3 scripts/tritonclient/record_proxy.py 8079 127.0.0.1:8077 > exchanges.jsonl &
//	PYTHONPATH=$CLIENT/src/python/library /usr/bin/python3 scripts/tritonclient/oip_probe.py 127.0.0.1:8079 california
//
// Before issue 19, every infer call failed in the client with
// `415 Content-Type must be application/json, got ""` (tritonclient sends
// no Content-Type), and is_model_ready(model_version="1") was false.
type tritonExchange struct {
	Name            string            `json:"name"`
	Method          string            `json:"method"`
	Path            string            `json:"path"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	Status          int               `json:"status"`
	ResponseHeaders map[string]string `json:"response_headers"`
	Client          map[string]any    `json:"client"`
}

// oipResult reads an infer response as tritonclient's InferResult does:
// with Inference-Header-Content-Length, a JSON header then each output's
// binary_data_size bytes; without, JSON.
func oipResult(t *testing.T, r response) []float64 {
	t.Helper()
	body := []byte(r.body)
	var header struct {
		Outputs []struct {
			Name       string
			Datatype   string
			Shape      []int
			Data       []float64
			Parameters struct {
				BinaryDataSize *int `json:"binary_data_size"`
			}
		}
	}
	n := len(body)
	if h := r.header.Get(oipHeaderLength); h != "" {
		var err error
		if n, err = strconv.Atoi(h); err != nil || n > len(body) {
			t.Fatalf("%s %q with a body of %d bytes", oipHeaderLength, h, len(body))
		}
	}
	if err := json.Unmarshal(body[:n], &header); err != nil || len(header.Outputs) != 1 {
		t.Fatalf("response header %q: %v", body[:n], err)
	}
	o := header.Outputs[0]
	if o.Name != oipOutputName || o.Datatype != "FP64" || len(o.Shape) != 1 {
		t.Fatalf("output %+v", o)
	}
	if o.Parameters.BinaryDataSize == nil {
		if n != len(body) {
			t.Fatalf("binary data after a JSON output")
		}
		return o.Data
	}
	raw := body[n:]
	if *o.Parameters.BinaryDataSize != len(raw) || len(raw) != 8*o.Shape[0] {
		t.Fatalf("binary_data_size %d, shape %v, %d bytes", *o.Parameters.BinaryDataSize, o.Shape, len(raw))
	}
	out := make([]float64, o.Shape[0])
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out
}

// TestTritonClientRequests replays what tritonclient sent and checks
// every answer is one the client reads as it did against the real
// server: the same status, outputs in the form it asked for, and errors
// as {"error": "..."}.
func TestTritonClientRequests(t *testing.T) {
	s := californiaServer(t)
	exchanges := jsonLines[tritonExchange](t, "testdata/tritonclient.jsonl")
	if len(exchanges) < 18 {
		t.Fatalf("%d exchanges read", len(exchanges))
	}
	for _, e := range exchanges {
		body, _ := base64.StdEncoding.DecodeString(e.Body)
		req := httptest.NewRequestWithContext(context.Background(), e.Method, e.Path, bytes.NewReader(body))
		for k, v := range e.Headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		r := response{rec.Code, rec.Header(), rec.Body.String()}
		if r.code != e.Status {
			t.Errorf("%s: status %d, recorded %d: %s", e.Name, r.code, e.Status, r.body)
			continue
		}
		switch {
		case r.code >= 400:
			var eb map[string]any
			if err := json.Unmarshal([]byte(r.body), &eb); err != nil || eb["error"] == nil || len(eb) != 1 {
				t.Errorf("%s: error body %s is not {\"error\": ...}", e.Name, r.body)
			}
		case strings.HasSuffix(e.Path, "/infer"):
			want := e.Client["ok"].([]any)
			got := oipResult(t, r)
			if len(got) != len(want) {
				t.Errorf("%s: %d predictions, the client got %d", e.Name, len(got), len(want))
			}
			if (r.header.Get(oipHeaderLength) != "") != (e.ResponseHeaders["inference-header-content-length"] != "") {
				t.Errorf("%s: binary output %q, recorded %q", e.Name, r.header.Get(oipHeaderLength), e.ResponseHeaders["inference-header-content-length"])
			}
		}
	}
}

// oipBinary is a binary-extension body: the JSON header, then data.
func oipBinary(header string, data ...float64) (string, string) {
	return string(appendOIPBinary([]byte(header), data)), strconv.Itoa(len(header))
}

// TestOIPAsTheSpecSays: items 14 to 16 of issue 19, each as the Open
// Inference Protocol's REST spec (kserve/open-inference-protocol,
// required_api.md and the binary tensor extension) says.
func TestOIPAsTheSpecSays(t *testing.T) {
	s := californiaServer(t)
	row := `[8.3252, 41, 6.984127, 1.02381, 322, 2.555556, 37.88, -122.23]`
	one := func(dt, data string) string {
		return `{"inputs": [{"name": "x", "shape": [1, 8], "datatype": "` + dt + `", "data": ` + data + `}]}`
	}
	bin, binLen := oipBinary(`{"inputs": [{"name": "x", "shape": [1, 8], "datatype": "FP64", "parameters": {"binary_data_size": 64}}]}`,
		8.3252, 41, 6.984127, 1.02381, 322, 2.555556, 37.88, -122.23)
	for _, c := range []struct {
		name, method, path, ctype, body string
		headers                         []string
		code                            int
		has                             string
	}{
		// 14: the versioned forms, and {"error"} with 400 everywhere.
		{"version metadata", "GET", "/v2/models/california/versions/1", "", "", nil, 200, `"versions":["1"]`},
		{"version ready", "GET", "/v2/models/california/versions/1/ready", "", "", nil, 200, `"ready":true`},
		{"another version", "GET", "/v2/models/california/versions/2", "", "", nil, 404, `{"error":"version 2 of california is not served (version 1 is)"}`},
		{"another version ready", "GET", "/v2/models/california/versions/2/ready", "", "", nil, 404, `"error"`},
		{"unknown path under /v2", "GET", "/v2/nothing", "", "", nil, 404, `{"error":"no such endpoint: see /docs"}`},
		{"wrong method under /v2", "DELETE", "/v2/models/california", "", "", nil, 405, `{"error":"method DELETE`},
		{"out of range is 400", "POST", "/v2/models/california/infer", js, one("FP64", `[1e6, 41, 6.98, 1.02, 322, 2.55, 37.88, -122.23]`), nil, 400,
			`{"error":"input x/0/MedInc: Input should be less than or equal to`},
		{"a missing feature is 400", "POST", "/v2/models/california/infer", js, `{"inputs": [{"name": "MedInc", "shape": [1], "datatype": "FP64", "data": [8.3]}]}`, nil, 400,
			`{"error":"input HouseAge: Field required (and 6 more problems)"}`},
		// 15: no Content-Type; the binary tensor extension.
		{"JSON without Content-Type", "POST", "/v2/models/california/infer", "", one("FP64", row), nil, 200, `"outputs":[{"data":[`},
		{"binary input", "POST", "/v2/models/california/infer", "", bin, []string{oipHeaderLength, binLen}, 200, `"outputs":[{"data":[`},
		{"binary input as octet-stream", "POST", "/v2/models/california/infer", "application/octet-stream", bin, []string{oipHeaderLength, binLen}, 200, `"outputs":[{"data":[`},
		{"binary data without the header", "POST", "/v2/models/california/infer", "", bin, nil, 400, `no Inference-Header-Content-Length header`},
		{"a header longer than the body", "POST", "/v2/models/california/infer", "", bin, []string{oipHeaderLength, "9999"}, 400, `Inference-Header-Content-Length is \"9999\"`},
		{"binary size of another shape", "POST", "/v2/models/california/infer", "", strings.Replace(bin, `"binary_data_size": 64`, `"binary_data_size": 56`, 1), []string{oipHeaderLength, binLen}, 400, `binary_data_size is 56, but shape [1, 8] of FP64 needs 64 bytes`},
		{"bytes after the inputs", "POST", "/v2/models/california/infer", "", bin + "xx", []string{oipHeaderLength, binLen}, 400, `2 bytes follow`},
		{"compressed", "POST", "/v2/models/california/infer", "", one("FP64", row), []string{"Content-Encoding", "gzip"}, 415, `{"error":"Content-Encoding \"gzip\" is not supported`},
		{"another content type", "POST", "/v2/models/california/infer", "text/plain", one("FP64", row), nil, 415, `{"error":"Content-Type must be application/json`},
		// 16: datatypes enforced.
		{"INT64 holding 8.3252", "POST", "/v2/models/california/infer", js, one("INT64", row), nil, 400, `INT64 data holds 8.3252, which is not a whole number`},
		{"INT64 of whole numbers", "POST", "/v2/models/california/infer", js, one("INT64", `[8, 41, 7, 1, 322, 3, 38, -122]`), nil, 200, `"outputs"`},
		{"UINT8 holding -122", "POST", "/v2/models/california/infer", js, one("UINT8", `[8, 41, 7, 1, 32, 3, 38, -122]`), nil, 400, `UINT8 data holds -122, which is not a whole number from 0 to 255`},
		{"UINT8 holding 322", "POST", "/v2/models/california/infer", js, one("UINT8", `[8, 41, 7, 1, 322, 3, 38, 122]`), nil, 400, `UINT8 data holds 322`},
		{"lower-case fp64", "POST", "/v2/models/california/infer", js, one("fp64", row), nil, 400, `datatype \"fp64\" is not an OIP datatype: datatypes are upper case (FP64)`},
		{"strings in FP64", "POST", "/v2/models/california/infer", js, one("FP64", `["8.3252", "41", "6.98", "1.02", "322", "2.55", "37.88", "-122.23"]`), nil, 400, `FP64 data holds a string (\"8.3252\")`},
		{"null in FP64", "POST", "/v2/models/california/infer", js, one("FP64", `[null, 41, 6.98, 1.02, 322, 2.55, 37.88, -122.23]`), nil, 400, `FP64 data holds null`},
		{"FP16 over its range", "POST", "/v2/models/california/infer", js, one("FP16", `[8, 41, 7, 1, 70000, 3, 38, -122]`), nil, 400, `FP16 data holds 70000, which is outside FP16's range`},
		{"BYTES", "POST", "/v2/models/california/infer", js, one("BYTES", row), nil, 400, `datatype \"BYTES\" is not numeric`},
	} {
		req := httptest.NewRequestWithContext(context.Background(), c.method, c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		for i := 0; i+1 < len(c.headers); i += 2 {
			req.Header.Set(c.headers[i], c.headers[i+1])
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.has) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, rec.Code, rec.Body.String(), c.code, c.has)
		}
		if rec.Code >= 400 && strings.Contains(rec.Body.String(), `"detail"`) {
			t.Errorf("%s: FastAPI's detail in an OIP error: %s", c.name, rec.Body.String())
		}
	}
}

// The binary output, asked for with binary_data_output, holds what the
// JSON output holds, bit for bit; and the OIP routes need the key.
func TestOIPBinaryOutput(t *testing.T) {
	s := californiaServer(t)
	body := `{"inputs": [{"name": "x", "shape": [2, 8], "datatype": "FP64", "data": [[8.3252, 41, 6.984127, 1.02381, 322, 2.555556, 37.88, -122.23], [8.3014, 21, 6.238137, 0.97188, 2401, 2.109842, 37.86, -122.22]]}]`
	plain := oipResult(t, do(s, "POST", "/v2/models/california/infer", js, body+`}`))
	r := do(s, "POST", "/v2/models/california/infer", js, body+`, "parameters": {"binary_data_output": true}}`)
	if r.code != http.StatusOK || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("%d %v", r.code, r.header)
	}
	bin := oipResult(t, r)
	if len(plain) != 2 || len(bin) != 2 || plain[0] != bin[0] || plain[1] != bin[1] {
		t.Errorf("JSON %v, binary %v", plain, bin)
	}
	r = do(s, "POST", "/v2/models/california/infer", js, body+`, "outputs": [{"name": "prediction", "parameters": {"binary_data": true}}]}`)
	if got := oipResult(t, r); r.header.Get(oipHeaderLength) == "" || got[0] != plain[0] {
		t.Errorf("binary_data on the output: %v %v", r.header, got)
	}
}

// A category feature comes as a BYTES tensor of labels (its metadata says
// BYTES); an unknown label is a 400 naming the known ones.
func TestOIPCategoryLabels(t *testing.T) {
	art := fitModel(t, 0)
	h := art.Header
	h.Categories = map[string][]string{"c": {"x", "y", "z"}}
	src := &fakeSource{version: "1", art: &model.Artifact{Header: h, Model: art.Model}}
	s, _, _ := newServer(t, func(o *Options) { o.Source = src })
	r := do(s, "GET", "/v2/models/m", "", "")
	if !strings.Contains(r.body, `{"datatype":"BYTES","name":"c","shape":[-1]}`) {
		t.Errorf("metadata: %s", r.body)
	}
	body := `{"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1, 1]},
		{"name": "b", "shape": [2], "datatype": "FP64", "data": [2, 2]},
		{"name": "c", "shape": [2, 1], "datatype": "BYTES", "data": ["y", "z"]}]}`
	r = do(s, "POST", "/v2/models/m/infer", js, body)
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	want := []float64{art.Model.Predict([]float64{1, 2, 1}), art.Model.Predict([]float64{1, 2, 2})}
	got := r.json(t)["outputs"].([]any)[0].(map[string]any)["data"].([]any)
	if got[0].(float64) != want[0] || got[1].(float64) != want[1] {
		t.Errorf("predictions %v, want %v", got, want)
	}
	r = do(s, "POST", "/v2/models/m/infer", js, strings.Replace(body, `"z"]`, `"w"]`, 1))
	if r.code != 400 || !strings.Contains(r.body, `one of the labels \"x\", \"y\" or \"z\"`) {
		t.Errorf("an unknown label: %d %s", r.code, r.body)
	}
	r = do(s, "POST", "/v2/models/m/infer", js, strings.Replace(body, `"data": ["y", "z"]`, `"data": [1, 2]`, 1))
	if r.code != 400 || !strings.Contains(r.body, "send each label as a string") {
		t.Errorf("codes in a BYTES tensor: %d %s", r.code, r.body)
	}
}
