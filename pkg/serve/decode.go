package serve

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/housectl/housectl/pkg/model"
)

// FieldError is one validation problem, shaped like pydantic's (FastAPI's
// 422 "detail" entries): where (loc), what (msg), a machine-readable type.
type FieldError struct {
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Type  string `json:"type"`
	Input any    `json:"input,omitempty"`
}

// Error types (the reason label of the validation-failure metric).
const (
	errMissing  = "missing"
	errExtra    = "extra_forbidden"
	errType     = "float_parsing"
	errNull     = "null"
	errFinite   = "finite_number"
	errTooLow   = "greater_than_equal"
	errTooHigh  = "less_than_equal"
	errRowShape = "row_shape"
)

// maxListed bounds the problems a response lists (the count is complete).
const maxListed = 100

// requestError is a failure that is the client's: status, message, and
// the field problems for a 422.
type requestError struct {
	Status int
	Msg    string
	Fields []FieldError
	Total  int // all field problems, Fields may hold fewer
	Code   string
}

func (e *requestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) *requestError {
	return &requestError{Status: 400, Msg: fmt.Sprintf(format, args...), Code: "BAD_REQUEST"}
}

// table collects rows of features in the model's order and their problems.
type table struct {
	m      *Model
	rows   [][]float64
	errs   []FieldError
	nerr   int
	limit  int
	locPre []any // e.g. "body"
}

func newTable(m *Model, limit int, pre ...any) *table {
	return &table{m: m, limit: limit, locPre: pre}
}

func (t *table) fail(typ, msg string, input any, loc ...any) {
	t.nerr++
	if len(t.errs) < maxListed {
		t.errs = append(t.errs, FieldError{Loc: append(append([]any{}, t.locPre...), loc...), Msg: msg, Type: typ, Input: input})
	}
}

func (t *table) newRow() ([]float64, error) {
	if len(t.rows) >= t.limit {
		return nil, &requestError{Status: 413, Msg: fmt.Sprintf("more than %d rows in one request: split the batch (serve.max_batch_rows)", t.limit), Code: "BAD_REQUEST"}
	}
	row := make([]float64, len(t.m.Artifact.Header.Features))
	for j := range row {
		row[j] = math.NaN()
	}
	t.rows = append(t.rows, row)
	return row, nil
}

// value checks one cell given as raw JSON and stores it.
func (t *table) value(row []float64, j int, raw json.RawMessage, loc ...any) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		t.fail(errNull, "Input should be a finite number, not null", nil, loc...)
		return
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			t.fail(errType, "Input should be a valid number", string(raw), loc...)
			return
		}
		t.text(row, j, s, loc...)
		return
	case raw[0] == '{' || raw[0] == '[' || raw[0] == 't' || raw[0] == 'f':
		t.fail(errType, "Input should be a valid number", raw, loc...)
		return
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		t.fail(errType, "Input should be a valid number", string(raw), loc...)
		return
	}
	t.number(row, j, v, loc...)
}

// text checks a cell given as text (CSV, or a JSON string).
func (t *table) text(row []float64, j int, s string, loc ...any) {
	s = strings.TrimSpace(s)
	if s == "" {
		t.fail(errNull, "Input should be a finite number, not empty", s, loc...)
		return
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		t.fail(errType, "Input should be a valid number, unable to parse string as a number", s, loc...)
		return
	}
	t.number(row, j, v, loc...)
}

func (t *table) number(row []float64, j int, v float64, loc ...any) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		t.fail(errFinite, "Input should be a finite number", fmt.Sprint(v), loc...)
	case v < t.m.lo[j]:
		t.fail(errTooLow, fmt.Sprintf("Input should be greater than or equal to %g (the training data's range, widened)", t.m.lo[j]), v, loc...)
	case v > t.m.hi[j]:
		t.fail(errTooHigh, fmt.Sprintf("Input should be less than or equal to %g (the training data's range, widened)", t.m.hi[j]), v, loc...)
	default:
		row[j] = v
	}
}

// object reads one JSON object of named features into a new row.
func (t *table) object(raw json.RawMessage, loc ...any) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		if len(loc) == 0 {
			return badRequest("the body must be a JSON object of feature names to numbers, e.g. {\"MedInc\": 8.3, ...}")
		}
		t.fail("dict_type", "Input should be an object of feature names to numbers", nil, loc...)
		return nil
	}
	row, err := t.newRow()
	if err != nil {
		return err
	}
	for j, f := range t.m.Artifact.Header.Features {
		v, ok := obj[f]
		if !ok {
			t.fail(errMissing, "Field required", nil, append(loc, f)...)
			continue
		}
		t.value(row, j, v, append(loc, f)...)
	}
	if len(obj) > len(t.m.Artifact.Header.Features) || t.nerr > 0 {
		for k := range obj {
			if _, ok := t.m.index[k]; !ok {
				t.fail(errExtra, "Extra inputs are not permitted: the model's features are "+strings.Join(t.m.Artifact.Header.Features, ", "), nil, append(loc, k)...)
			}
		}
	}
	return nil
}

// array reads one row given positionally, in the model's feature order.
func (t *table) array(raw []json.RawMessage, loc ...any) error {
	p := len(t.m.Artifact.Header.Features)
	if len(raw) != p {
		t.fail(errRowShape, fmt.Sprintf("Row should have %d values (%s), got %d", p, strings.Join(t.m.Artifact.Header.Features, ", "), len(raw)), nil, loc...)
		return nil
	}
	row, err := t.newRow()
	if err != nil {
		return err
	}
	for j, v := range raw {
		t.value(row, j, v, append(loc, t.m.Artifact.Header.Features[j])...)
	}
	return nil
}

// done returns the matrix, or a 422 listing the problems.
func (t *table) done() (model.Matrix, error) {
	if t.nerr > 0 {
		msg := fmt.Sprintf("%d invalid field(s)", t.nerr)
		return model.Matrix{}, &requestError{Status: 422, Msg: msg, Fields: t.errs, Total: t.nerr, Code: "INVALID_PARAMETER_VALUE"}
	}
	if len(t.rows) == 0 {
		return model.Matrix{}, badRequest("no rows to predict")
	}
	n, p := len(t.rows), len(t.m.Artifact.Header.Features)
	X := model.Matrix{Rows: n, Cols: p, Data: make([]float64, n*p)}
	for i, r := range t.rows {
		for j, v := range r {
			X.Data[j*n+i] = v
		}
	}
	return X, nil
}

// decodeJSON unmarshals the body, mapping syntax errors to a 400.
func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return badRequest("malformed JSON at byte %d: %v; ensure that the input is a valid JSON formatted string", se.Offset, err)
		}
		return badRequest("malformed JSON: %v", err)
	}
	return nil
}

// DecodePredict reads POST /predict: one object of named features.
func DecodePredict(m *Model, body []byte, limit int) (model.Matrix, error) {
	row := make([]float64, len(m.Artifact.Header.Features))
	if fastObject(m, body, row) {
		return model.Matrix{Rows: 1, Cols: len(row), Data: row}, nil
	}
	var raw json.RawMessage
	if err := decodeJSON(body, &raw); err != nil {
		return model.Matrix{}, err
	}
	t := newTable(m, limit, "body")
	if err := t.object(raw); err != nil {
		return model.Matrix{}, err
	}
	return t.done()
}

// DecodeBatch reads POST /predict/batch: {"instances": [{...}, ...]} or a
// bare array of objects.
func DecodeBatch(m *Model, body []byte, limit int) (model.Matrix, error) {
	var raw json.RawMessage
	if err := decodeJSON(body, &raw); err != nil {
		return model.Matrix{}, err
	}
	var items []json.RawMessage
	pre := []any{"body"}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		var env struct {
			Instances *[]json.RawMessage `json:"instances"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&env); err != nil || env.Instances == nil {
			return model.Matrix{}, badRequest(`the body must be {"instances": [{feature: number, ...}, ...]} or a JSON array of such objects`)
		}
		items, pre = *env.Instances, []any{"body", "instances"}
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return model.Matrix{}, badRequest(`the body must be {"instances": [{feature: number, ...}, ...]} or a JSON array of such objects`)
	}
	t := newTable(m, limit, pre...)
	for i, it := range items {
		if err := t.object(it, i); err != nil {
			return model.Matrix{}, err
		}
	}
	return t.done()
}

// mlflowKeys are the scoring protocol's input fields.
var mlflowKeys = []string{"dataframe_split", "dataframe_records", "instances", "inputs"}

// DecodeInvocations reads MLflow's scoring protocol (formats.md B8).
func DecodeInvocations(m *Model, body []byte, csvBody bool, limit int) (model.Matrix, error) {
	if csvBody {
		return decodeCSV(m, body, limit)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return model.Matrix{}, badRequest("Invalid input. Ensure that input is a valid JSON formatted string. Error: %v", err)
		}
		obj = nil
	}
	var present []string
	for k := range obj {
		present = append(present, k)
	}
	var key string
	n := 0
	for _, k := range mlflowKeys {
		if _, ok := obj[k]; ok {
			key, n = k, n+1
		}
	}
	if obj == nil || n != 1 {
		return model.Matrix{}, badRequest("The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}. Received dictionary with input fields: %q. IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0.", present)
	}
	for k := range obj {
		if k != key && k != "params" {
			return model.Matrix{}, badRequest("unknown field %q next to %q", k, key)
		}
	}
	if p, ok := obj["params"]; ok && string(bytes.TrimSpace(p)) != "null" && string(bytes.TrimSpace(p)) != "{}" {
		return model.Matrix{}, badRequest("this model takes no inference params")
	}
	raw := obj[key]
	t := newTable(m, limit, key)
	switch key {
	case "dataframe_split":
		var ds struct {
			Columns []string            `json:"columns"`
			Data    [][]json.RawMessage `json:"data"`
			Index   json.RawMessage     `json:"index"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ds); err != nil || ds.Columns == nil {
			return model.Matrix{}, badRequest(`dataframe_split must be {"columns": [...], "data": [[...], ...]}`)
		}
		if err := t.columns(ds.Columns, ds.Data); err != nil {
			return model.Matrix{}, err
		}
	case "dataframe_records":
		var recs []json.RawMessage
		if err := json.Unmarshal(raw, &recs); err != nil {
			return model.Matrix{}, badRequest("dataframe_records must be a list of objects")
		}
		for i, r := range recs {
			if err := t.object(r, i); err != nil {
				return model.Matrix{}, err
			}
		}
	case "instances", "inputs":
		if err := t.tensor(raw); err != nil {
			return model.Matrix{}, err
		}
	}
	return t.done()
}

// columns reads rows whose cells follow the named columns.
func (t *table) columns(cols []string, data [][]json.RawMessage) error {
	idx := make([]int, len(cols))
	seen := map[string]bool{}
	for c, name := range cols {
		j, ok := t.m.index[name]
		if !ok {
			t.fail(errExtra, "Extra inputs are not permitted: the model's features are "+strings.Join(t.m.Artifact.Header.Features, ", "), nil, "columns", name)
		}
		if seen[name] {
			t.fail("duplicate", "column given twice", nil, "columns", name)
		}
		seen[name] = true
		idx[c] = j
		if !ok {
			idx[c] = -1
		}
	}
	for _, f := range t.m.Artifact.Header.Features {
		if !seen[f] {
			t.fail(errMissing, "Field required", nil, "columns", f)
		}
	}
	if t.nerr > 0 {
		return nil
	}
	for i, cells := range data {
		if len(cells) != len(cols) {
			t.fail(errRowShape, fmt.Sprintf("row has %d values for %d columns", len(cells), len(cols)), nil, "data", i)
			continue
		}
		row, err := t.newRow()
		if err != nil {
			return err
		}
		for c, v := range cells {
			t.value(row, idx[c], v, "data", i, cols[c])
		}
	}
	return nil
}

// tensor reads TF-serving style input: a list of rows (objects or arrays)
// or an object of columns.
func (t *table) tensor(raw json.RawMessage) error {
	b := bytes.TrimSpace(raw)
	if len(b) > 0 && b[0] == '{' {
		var cols map[string][]json.RawMessage
		if err := json.Unmarshal(b, &cols); err != nil {
			return badRequest("an object of columns must map each feature to a list of values")
		}
		names := make([]string, 0, len(cols))
		n := -1
		for k, v := range cols {
			names = append(names, k)
			if n >= 0 && len(v) != n {
				return badRequest("columns have different lengths")
			}
			n = len(v)
		}
		data := make([][]json.RawMessage, max(n, 0))
		for i := range data {
			data[i] = make([]json.RawMessage, len(names))
			for c, k := range names {
				data[i][c] = cols[k][i]
			}
		}
		return t.columns(names, data)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return badRequest("expected a list of rows or an object of columns")
	}
	for i, it := range items {
		it = bytes.TrimSpace(it)
		switch {
		case len(it) > 0 && it[0] == '{':
			if err := t.object(it, i); err != nil {
				return err
			}
		case len(it) > 0 && it[0] == '[':
			var cells []json.RawMessage
			if err := json.Unmarshal(it, &cells); err != nil {
				return badRequest("row %d is not a list of numbers", i)
			}
			if err := t.array(cells, i); err != nil {
				return err
			}
		default:
			t.fail(errRowShape, "Row should be a list of numbers or an object of features", nil, i)
		}
	}
	return nil
}

// decodeCSV reads a header row and rows, columns matched by name.
func decodeCSV(m *Model, body []byte, limit int) (model.Matrix, error) {
	// A spreadsheet's byte-order mark is not part of the first column's
	// name (pandas, behind MLflow's server, drops it too).
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
	r.ReuseRecord = false
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return model.Matrix{}, badRequest("the CSV body is empty: it needs a header row")
	}
	if err != nil {
		return model.Matrix{}, badRequest("malformed CSV: %v", err)
	}
	t := newTable(m, limit, "csv")
	idx := make([]int, len(header))
	seen := map[string]bool{}
	for c, name := range header {
		name = strings.TrimSpace(name)
		header[c] = name
		j, ok := m.index[name]
		idx[c] = j
		if !ok {
			idx[c] = -1
			t.fail(errExtra, "Extra inputs are not permitted: the model's features are "+strings.Join(m.Artifact.Header.Features, ", "), nil, "header", name)
		}
		seen[name] = true
	}
	for _, f := range m.Artifact.Header.Features {
		if !seen[f] {
			t.fail(errMissing, "Field required", nil, "header", f)
		}
	}
	if t.nerr > 0 {
		return t.done()
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return model.Matrix{}, badRequest("malformed CSV: %v", err)
		}
		row, err := t.newRow()
		if err != nil {
			return model.Matrix{}, err
		}
		for c, s := range rec {
			t.text(row, idx[c], s, "row", line-1, header[c])
		}
	}
	return t.done()
}

// oipRequest is an Open Inference Protocol (KServe v2) infer request.
type oipRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Inputs     []oipTensor     `json:"inputs"`
	Outputs    []oipOutput     `json:"outputs,omitempty"`
}

// oipOutput is a requested output of an OIP infer request.
type oipOutput struct {
	Name       string          `json:"name"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// oipOutputName is the one output a housectl model has.
const oipOutputName = "prediction"

type oipTensor struct {
	Name       string            `json:"name"`
	Shape      []int             `json:"shape"`
	Datatype   string            `json:"datatype"`
	Parameters json.RawMessage   `json:"parameters,omitempty"`
	Data       []json.RawMessage `json:"data"`
}

// flatten turns nested data into its leaves (row-major).
func flatten(data []json.RawMessage, out []json.RawMessage) ([]json.RawMessage, error) {
	for _, d := range data {
		d = bytes.TrimSpace(d)
		if len(d) > 0 && d[0] == '[' {
			var inner []json.RawMessage
			if err := json.Unmarshal(d, &inner); err != nil {
				return nil, err
			}
			var err error
			if out, err = flatten(inner, out); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// DecodeOIP reads an OIP v2 infer request: one FP64/FP32/INT tensor per
// feature (shape [N] or [N, 1]), or one tensor of shape [N, features].
func DecodeOIP(m *Model, body []byte, limit int) (model.Matrix, string, error) {
	var req oipRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return model.Matrix{}, "", badRequest("malformed JSON at byte %d: %v", se.Offset, err)
		}
		return model.Matrix{}, "", badRequest("not an inference request: %v", err)
	}
	for _, o := range req.Outputs {
		if o.Name != oipOutputName {
			return model.Matrix{}, req.ID, badRequest("requested output %q does not exist: the model has one output, %q", o.Name, oipOutputName)
		}
	}
	if len(req.Inputs) == 0 {
		return model.Matrix{}, req.ID, badRequest(`"inputs" is required: one tensor per feature, or one tensor of shape [N, %d]`, len(m.Artifact.Header.Features))
	}
	p := len(m.Artifact.Header.Features)
	t := newTable(m, limit, "inputs")
	for _, in := range req.Inputs {
		switch strings.ToUpper(in.Datatype) {
		case "FP64", "FP32", "FP16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64":
		default:
			return model.Matrix{}, req.ID, badRequest("input %q: datatype %q is not numeric: use FP64", in.Name, in.Datatype)
		}
	}
	if len(req.Inputs) == 1 && len(req.Inputs[0].Shape) == 2 && req.Inputs[0].Shape[1] == p {
		in := req.Inputs[0]
		flat, err := flatten(in.Data, nil)
		if err != nil || len(flat) != in.Shape[0]*p {
			return model.Matrix{}, req.ID, badRequest("input %q: shape %v needs %d values", in.Name, in.Shape, in.Shape[0]*p)
		}
		for i := range in.Shape[0] {
			if err := t.array(flat[i*p:(i+1)*p], in.Name, i); err != nil {
				return model.Matrix{}, req.ID, err
			}
		}
		X, err := t.done()
		return X, req.ID, err
	}
	cols := make([]string, 0, len(req.Inputs))
	var data [][]json.RawMessage
	for c, in := range req.Inputs {
		flat, err := flatten(in.Data, nil)
		if err != nil {
			return model.Matrix{}, req.ID, badRequest("input %q: data is not a list of numbers", in.Name)
		}
		size := 1
		for _, d := range in.Shape {
			size *= d
		}
		if len(in.Shape) == 0 || in.Shape[0] < 0 || size != len(flat) || len(in.Shape) > 2 || len(in.Shape) == 2 && in.Shape[1] != 1 {
			return model.Matrix{}, req.ID, badRequest("input %q: shape %v does not match its %d values (want [N] or [N, 1] per feature, or one input of shape [N, %d])", in.Name, in.Shape, len(flat), p)
		}
		if c == 0 {
			data = make([][]json.RawMessage, len(flat))
			for i := range data {
				data[i] = make([]json.RawMessage, len(req.Inputs))
			}
		} else if len(flat) != len(data) {
			return model.Matrix{}, req.ID, badRequest("input %q has %d values, the first input %d", in.Name, len(flat), len(data))
		}
		for i, v := range flat {
			data[i][c] = v
		}
		cols = append(cols, in.Name)
	}
	if err := t.columns(cols, data); err != nil {
		return model.Matrix{}, req.ID, err
	}
	X, err := t.done()
	return X, req.ID, err
}
