package serve

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"
)

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s at %s (%s)", se.Reason, se.FieldPath, se.KeywordLocation)
		}
	}
	return b.String()
}

// /openapi.json is a valid OpenAPI 3.1 document, and the server's
// requests and responses, successes and errors, on every protocol, are
// what it says they are.
func TestOpenAPIDescribesTheServer(t *testing.T) {
	s, _, _ := newServer(t, nil)
	spec := do(s, "GET", "/openapi.json", "", "")
	if spec.code != 200 {
		t.Fatalf("GET /openapi.json: %d", spec.code)
	}
	doc, err := libopenapi.NewDocument([]byte(spec.body))
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("building a validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("not a valid OpenAPI document:%s", describe(verrs))
	}

	js := "application/json"
	row := `{"a": 1, "b": 2, "c": 3}`

	// The validator does look: a /predict answer whose prediction is a
	// string, and an undocumented status, are refused.
	for _, bad := range []struct {
		code int
		body string
	}{{200, `{"prediction": "4.5", "model": "m", "version": "1", "request_id": "r"}`}, {418, `{"detail": "teapot"}`}} {
		req := httptest.NewRequestWithContext(context.Background(), "POST", "/predict", strings.NewReader(row))
		req.Header.Set("Content-Type", js)
		resp := &http.Response{StatusCode: bad.code, Header: http.Header{"Content-Type": {js}}, Body: readCloser(bad.body), Request: req}
		if ok, _ := v.ValidateHttpResponse(req, resp); ok {
			t.Errorf("a %d response %s passed validation", bad.code, bad.body)
		}
	}
	for _, tt := range []struct {
		method, path, ctype, body string
		code                      int
	}{
		{"POST", "/predict", js, row, 200},
		{"POST", "/predict", js, `{"a": 1, "b": "x"}`, 422},
		{"POST", "/predict", js, `{"a": `, 400},
		{"POST", "/predict", "text/plain", row, 415},
		{"POST", "/predict/batch", js, `[` + row + `, ` + row + `]`, 200},
		{"POST", "/invocations", js, `{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}}`, 200},
		{"POST", "/invocations", js, `{"dataframe_records": [` + row + `]}`, 200},
		{"POST", "/invocations", js, `{"instances": [[1, 2, 3]]}`, 200},
		{"POST", "/invocations", js, `{"inputs": {"a": [1], "b": [2], "c": [3]}}`, 200},
		{"POST", "/invocations", "text/csv", "a,b,c\n1,2,3\n", 200},
		{"POST", "/invocations", js, `{"instances": [[1, 2]]}`, 400},
		{"POST", "/v2/models/m/infer", js, `{"id": "q", "inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}`, 200},
		{"POST", "/v2/models/m/infer", js, `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "BYTES", "data": [1, 2, 3]}]}`, 400},
		{"GET", "/v2/models/m", "", "", 200},
		{"GET", "/v2/health/ready", "", "", 200},
		{"GET", "/health", "", "", 200},
		{"GET", "/ready", "", "", 200},
		{"GET", "/model", "", "", 200},
		{"GET", "/models", "", "", 200},
		{"GET", "/models/m", "", "", 200},
		{"POST", "/models/m/predict", js, row, 200},
		{"POST", "/models/m/predict/batch", js, `[` + row + `]`, 200},
		{"POST", "/models/x/predict", js, row, 404},
	} {
		name := tt.method + " " + tt.path + " " + fmt.Sprint(tt.code)
		r := do(s, tt.method, tt.path, tt.ctype, tt.body)
		if r.code != tt.code {
			t.Errorf("%s: got %d %s", name, r.code, r.body)
			continue
		}
		req := httptest.NewRequestWithContext(context.Background(), tt.method, tt.path, strings.NewReader(tt.body))
		if tt.ctype != "" {
			req.Header.Set("Content-Type", tt.ctype)
		}
		resp := &http.Response{StatusCode: r.code, Header: r.header, Body: readCloser(r.body), Request: req}
		if tt.code < 300 { // a request the server accepts is one the document allows
			if ok, verrs := v.ValidateHttpRequest(req); !ok {
				t.Errorf("%s: the request does not match the document:%s", name, describe(verrs))
			}
			req = httptest.NewRequestWithContext(context.Background(), tt.method, tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp.Request = req
		}
		if ok, verrs := v.ValidateHttpResponse(req, resp); !ok {
			t.Errorf("%s: the response does not match the document:%s\n  body %s", name, describe(verrs), r.body)
		}
	}
}

type stringBody struct{ *strings.Reader }

func (stringBody) Close() error { return nil }

func readCloser(s string) stringBody { return stringBody{strings.NewReader(s)} }
