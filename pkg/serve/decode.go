package serve

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
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

// value checks one cell given as raw JSON and stores it. JSON takes
// numbers as numbers: a string, even "8.3", is not one (pydantic's strict
// mode, as the README promises).
func (t *table) value(row []float64, j int, raw []byte, loc ...any) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		t.fail(errNull, "Input should be a finite number, not null", nil, loc...)
		return
	case raw[0] == '"':
		t.fail(errType, "Input should be a valid number, not a string: send numbers unquoted", unquote(raw), loc...)
		return
	case raw[0] == '{' || raw[0] == '[' || raw[0] == 't' || raw[0] == 'f':
		t.fail(errType, "Input should be a valid number", json.RawMessage(raw), loc...)
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

// object reads the next value, a JSON object of named features, into a
// new row; another kind of value is a problem of its element (loc).
func (t *table) object(in *jsonIn, loc ...any) error {
	k, err := in.peek()
	if err != nil {
		return err
	}
	if k != '{' {
		if len(loc) == 0 {
			return badRequest("the body must be a JSON object of feature names to numbers, e.g. {\"MedInc\": 8.3, ...}")
		}
		t.fail("dict_type", "Input should be an object of feature names to numbers", nil, loc...)
		return in.skip()
	}
	row, err := t.newRow()
	if err != nil {
		return err
	}
	feats := t.m.Artifact.Header.Features
	seen := make([]bool, len(feats))
	var extra []string
	err = in.members(func(key string) error {
		j, ok := t.m.index[key]
		if !ok {
			extra = append(extra, key)
			return in.skip()
		}
		seen[j] = true
		v, err := in.value()
		if err != nil {
			return err
		}
		t.value(row, j, v, append(loc, key)...)
		return nil
	})
	if err != nil {
		return err
	}
	for j, f := range feats {
		if !seen[j] {
			t.fail(errMissing, "Field required", nil, append(loc, f)...)
		}
	}
	for _, k := range extra {
		t.fail(errExtra, "Extra inputs are not permitted: the model's features are "+strings.Join(feats, ", "), nil, append(loc, k)...)
	}
	return nil
}

// array reads the next value, a JSON array holding one row in the
// model's feature order, into a new row.
func (t *table) array(in *jsonIn, loc ...any) error {
	p := len(t.m.Artifact.Header.Features)
	var cells [64]jsontext.Value
	vals := cells[:0]
	if err := in.open(); err != nil {
		return err
	}
	n := 0
	for ; ; n++ {
		k, err := in.peek()
		if err != nil {
			return err
		}
		if k == ']' {
			break
		}
		if n < p {
			v, err := in.value()
			if err != nil {
				return err
			}
			vals = append(vals, v)
		} else if err := in.skip(); err != nil {
			return err
		}
	}
	if err := in.close(); err != nil {
		return err
	}
	return t.cells(vals, n, loc...)
}

// cells stores one positional row of raw values (n of them, of which vals
// holds the first p), or records its wrong length.
func (t *table) cells(vals []jsontext.Value, n int, loc ...any) error {
	feats := t.m.Artifact.Header.Features
	if n != len(feats) {
		t.fail(errRowShape, fmt.Sprintf("Row should have %d values (%s), got %d", len(feats), strings.Join(feats, ", "), n), nil, loc...)
		return nil
	}
	row, err := t.newRow()
	if err != nil {
		return err
	}
	for j, v := range vals {
		t.value(row, j, v, append(loc, feats[j])...)
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

// DecodePredict reads POST /predict: one object of named features.
func DecodePredict(m *Model, body []byte, limit int) (model.Matrix, error) {
	row := make([]float64, len(m.Artifact.Header.Features))
	if fastObject(m, body, row) {
		return model.Matrix{Rows: 1, Cols: len(row), Data: row}, nil
	}
	return decodePredict(m, body, limit)
}

// decodePredict is DecodePredict's general path, which fastObject
// shortcuts: FuzzFastPathAgrees holds the two to the same answers.
func decodePredict(m *Model, body []byte, limit int) (model.Matrix, error) {
	in := newJSONIn(body)
	t := newTable(m, limit, "body")
	if err := t.object(in); err != nil {
		return model.Matrix{}, err
	}
	if err := in.end(); err != nil {
		return model.Matrix{}, err
	}
	return t.done()
}

const batchShape = `the body must be {"instances": [{feature: number, ...}, ...]} or a JSON array of such objects`

// DecodeBatch reads POST /predict/batch: {"instances": [{...}, ...]} or a
// bare array of objects. It stops at the first element over limit.
func DecodeBatch(m *Model, body []byte, limit int) (model.Matrix, error) {
	in := newJSONIn(body)
	t := newTable(m, limit, "body")
	rows := func(pre ...any) error {
		if k, err := in.peek(); err != nil {
			return err
		} else if k != '[' {
			return badRequest(batchShape)
		}
		t.locPre = pre
		return in.elems(limit, "rows", func(i int) error { return t.object(in, i) })
	}
	k, err := in.peek()
	if err != nil {
		return model.Matrix{}, err
	}
	switch k {
	case '{':
		found := false
		err = in.members(func(key string) error {
			if key != "instances" {
				return badRequest(batchShape+": unknown key %q", key)
			}
			found = true
			return rows("body", "instances")
		})
		if err == nil && !found {
			err = badRequest(batchShape)
		}
	case '[':
		err = rows("body")
	default:
		err = badRequest(batchShape)
	}
	if err == nil {
		err = in.end()
	}
	if err != nil {
		return model.Matrix{}, err
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
	in := newJSONIn(body)
	// The top level is read first, its values kept as slices of the body:
	// which format it is decides how they are read.
	top := map[string]jsontext.Value{}
	var present []string
	k, err := in.peek()
	if err == nil && k == '{' {
		err = in.members(func(key string) error {
			present = append(present, key)
			v, err := in.value()
			top[key] = v
			return err
		})
	}
	if err == nil {
		err = in.end()
	}
	if re, ok := errors.AsType[*requestError](err); ok {
		// MLflow's wording, which its clients look for.
		return model.Matrix{}, badRequest("Invalid input. Ensure that input is a valid JSON formatted string. Error: %v", re.Msg)
	} else if err != nil {
		return model.Matrix{}, err
	}
	var key string
	n := 0
	for _, k := range mlflowKeys {
		if _, ok := top[k]; ok {
			key, n = k, n+1
		}
	}
	if k != '{' || n != 1 {
		return model.Matrix{}, badRequest("The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}. Received dictionary with input fields: %q. IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0.", present)
	}
	for _, k := range present {
		if k != key && k != "params" {
			return model.Matrix{}, badRequest("unknown field %q next to %q", k, key)
		}
	}
	if p, ok := top["params"]; ok && string(p) != "null" && string(bytes.Join(bytes.Fields(p), nil)) != "{}" {
		return model.Matrix{}, badRequest("this model takes no inference params")
	}
	in = newJSONIn(top[key])
	t := newTable(m, limit, key)
	switch key {
	case "dataframe_split":
		err = t.dataframeSplit(in)
	case "dataframe_records":
		if k, _ := in.peek(); k != '[' {
			return model.Matrix{}, badRequest("dataframe_records must be a list of objects")
		}
		err = in.elems(limit, "rows", func(i int) error { return t.object(in, i) })
	case "instances", "inputs":
		err = t.tensor(in)
	}
	if err != nil {
		return model.Matrix{}, err
	}
	return t.done()
}

const splitShape = `dataframe_split must be {"columns": [...], "data": [[...], ...]}`

// maxColumns bounds the names of columns a request may give: the model's
// features, and a few wrong ones to report.
func (t *table) maxColumns() int { return 4*len(t.m.Artifact.Header.Features) + 16 }

// strings reads an array of at most limit strings.
func (in *jsonIn) strings(limit int, what string) ([]string, error) {
	var out []string
	err := in.elems(limit, what, func(int) error {
		v, err := in.value()
		if err != nil {
			return err
		}
		if v.Kind() != '"' {
			return badRequest("%s must be strings, got %s", what, v)
		}
		out = append(out, unquote(v))
		return nil
	})
	return out, err
}

// dataframeSplit reads pandas' split orient: named columns, rows of cells.
func (t *table) dataframeSplit(in *jsonIn) error {
	if k, err := in.peek(); err != nil || k != '{' {
		return badRequest(splitShape)
	}
	var cols []string
	var data jsontext.Value
	err := in.members(func(key string) error {
		var err error
		switch key {
		case "columns":
			if k, _ := in.peek(); k != '[' {
				return badRequest(splitShape)
			}
			cols, err = in.strings(t.maxColumns(), "columns")
			if cols == nil && err == nil {
				cols = []string{}
			}
		case "data":
			data, err = in.value()
		case "index":
			err = in.skip()
		default:
			err = badRequest(splitShape+": unknown key %q", key)
		}
		return err
	})
	if err != nil {
		return err
	}
	if cols == nil {
		return badRequest(splitShape)
	}
	idx, ok := t.header(cols, "columns")
	if !ok {
		return nil
	}
	if data == nil {
		return badRequest(splitShape)
	}
	in = newJSONIn(data)
	if k, err := in.peek(); err != nil || k != '[' {
		return badRequest(splitShape)
	}
	return in.elems(t.limit, "rows", func(i int) error { return t.namedRow(in, cols, idx, "data", i) })
}

// header matches column names to features: idx[c] is column c's feature
// (-1: not one). It records unknown, repeated and missing columns and
// reports whether there were none.
func (t *table) header(cols []string, where string) ([]int, bool) {
	idx := make([]int, len(cols))
	seen := make(map[string]bool, len(cols))
	feats := t.m.Artifact.Header.Features
	for c, name := range cols {
		j, ok := t.m.index[name]
		idx[c] = j
		if !ok {
			idx[c] = -1
			t.fail(errExtra, "Extra inputs are not permitted: the model's features are "+strings.Join(feats, ", "), nil, where, name)
		}
		if seen[name] {
			t.fail("duplicate", "column given twice", nil, where, name)
		}
		seen[name] = true
	}
	for _, f := range feats {
		if !seen[f] {
			t.fail(errMissing, "Field required", nil, where, f)
		}
	}
	return idx, t.nerr == 0
}

// namedRow reads the next value, a JSON array of cells for the columns
// cols (their features idx), into a new row.
func (t *table) namedRow(in *jsonIn, cols []string, idx []int, loc ...any) error {
	if k, err := in.peek(); err != nil {
		return err
	} else if k != '[' {
		t.fail(errRowShape, fmt.Sprintf("row should be a list of %d values", len(cols)), nil, loc...)
		return in.skip()
	}
	var cells [64]jsontext.Value
	vals := cells[:0]
	if err := in.open(); err != nil {
		return err
	}
	n := 0
	for ; ; n++ {
		k, err := in.peek()
		if err != nil {
			return err
		}
		if k == ']' {
			break
		}
		if n < len(cols) {
			v, err := in.value()
			if err != nil {
				return err
			}
			vals = append(vals, v)
		} else if err := in.skip(); err != nil {
			return err
		}
	}
	if err := in.close(); err != nil {
		return err
	}
	if n != len(cols) {
		t.fail(errRowShape, fmt.Sprintf("row has %d values for %d columns", n, len(cols)), nil, loc...)
		return nil
	}
	row, err := t.newRow()
	if err != nil {
		return err
	}
	for c, v := range vals {
		t.value(row, idx[c], v, append(loc, cols[c])...)
	}
	return nil
}

// columnar stores rows given as named columns of equal length: data[c]
// holds column cols[c]'s cells.
func (t *table) columnar(cols []string, data [][]jsontext.Value, where string) error {
	idx, ok := t.header(cols, where)
	if !ok {
		return nil
	}
	n := 0
	if len(data) > 0 {
		n = len(data[0])
	}
	for i := range n {
		row, err := t.newRow()
		if err != nil {
			return err
		}
		for c := range cols {
			t.value(row, idx[c], data[c][i], where, i, cols[c])
		}
	}
	return nil
}

// tensor reads TF-serving style input: a list of rows (objects or arrays)
// or an object of columns.
func (t *table) tensor(in *jsonIn) error {
	k, err := in.peek()
	if err != nil {
		return err
	}
	switch k {
	case '{':
		var cols []string
		var data [][]jsontext.Value
		n := -1
		err := in.members(func(key string) error {
			if k, err := in.peek(); err != nil || k != '[' {
				return badRequest("an object of columns must map each feature to a list of values")
			}
			cols = append(cols, key)
			if len(cols) > t.maxColumns() {
				return badRequest("more than %d columns", t.maxColumns())
			}
			var vals []jsontext.Value
			_, known := t.m.index[key]
			err := in.elems(t.limit, "rows", func(int) error {
				if !known {
					return in.skip()
				}
				v, err := in.value()
				vals = append(vals, v)
				return err
			})
			if err != nil {
				return err
			}
			if known {
				if n >= 0 && len(vals) != n {
					return badRequest("columns have different lengths")
				}
				n = len(vals)
			}
			data = append(data, vals)
			return nil
		})
		if err != nil {
			return err
		}
		return t.columnar(cols, data, "columns")
	case '[':
		return in.elems(t.limit, "rows", func(i int) error {
			k, err := in.peek()
			if err != nil {
				return err
			}
			switch k {
			case '{':
				return t.object(in, i)
			case '[':
				return t.array(in, i)
			}
			t.fail(errRowShape, "Row should be a list of numbers or an object of features", nil, i)
			return in.skip()
		})
	}
	return badRequest("expected a list of rows or an object of columns")
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

// oipOutputName is the one output a housectl model has.
const oipOutputName = "prediction"

// oipTensor is one input tensor of an infer request, its data kept as a
// slice of the body until its shape is known.
type oipTensor struct {
	Name     string
	Shape    []int
	Datatype string
	Data     jsontext.Value
}

// maxRank bounds the dimensions of an input tensor.
const maxRank = 8

// oipTensor reads one input tensor object.
func (in *jsonIn) oipTensor(i int) (oipTensor, error) {
	var tt oipTensor
	if k, err := in.peek(); err != nil || k != '{' {
		return tt, badRequest("input %d is not a tensor object {\"name\", \"shape\", \"datatype\", \"data\"}", i)
	}
	err := in.members(func(key string) error {
		switch key {
		case "name", "datatype":
			v, err := in.value()
			if err != nil {
				return err
			}
			if v.Kind() != '"' {
				return badRequest("input %d: %s must be a string", i, key)
			}
			if key == "name" {
				tt.Name = unquote(v)
			} else {
				tt.Datatype = unquote(v)
			}
			return nil
		case "shape":
			if k, err := in.peek(); err != nil || k != '[' {
				return badRequest("input %d: shape must be a list of whole numbers", i)
			}
			return in.elems(maxRank, "dimensions", func(int) error {
				v, err := in.value()
				if err != nil {
					return err
				}
				d, err := strconv.Atoi(string(v))
				if err != nil {
					return badRequest("input %d: shape must be a list of whole numbers, got %s", i, v)
				}
				tt.Shape = append(tt.Shape, d)
				return nil
			})
		case "data":
			v, err := in.value()
			tt.Data = v
			return err
		case "parameters":
			return in.skip()
		}
		return badRequest("not an inference request: input %d has an unknown field %q", i, key)
	})
	return tt, err
}

// leaves reads a tensor's data, nested no deeper than rank, into its
// values in row-major order; it stops with an error past want values.
func leaves(data jsontext.Value, rank, want int, name string) ([]jsontext.Value, error) {
	in := newJSONIn(data)
	out := make([]jsontext.Value, 0, want)
	var walk func(depth int) error
	walk = func(depth int) error {
		k, err := in.peek()
		if err != nil {
			return err
		}
		if k != '[' {
			if len(out) == want {
				return badRequest("input %q holds more values than its shape", name)
			}
			v, err := in.value()
			out = append(out, v)
			return err
		}
		if depth == rank {
			return badRequest("input %q: data is nested deeper than its shape", name)
		}
		return in.elems(want+1, "values", func(int) error { return walk(depth + 1) })
	}
	if k, err := in.peek(); err != nil || k != '[' {
		return nil, badRequest("input %q: data is not a list of numbers", name)
	}
	if err := walk(0); err != nil {
		var re *requestError
		if errors.As(err, &re) && re.Status == http.StatusRequestEntityTooLarge {
			return nil, badRequest("input %q holds more values than its shape", name)
		}
		return nil, err
	}
	return out, nil
}

// DecodeOIP reads an OIP v2 infer request: one FP64/FP32/INT tensor per
// feature (shape [N] or [N, 1]), or one tensor of shape [N, features].
func DecodeOIP(m *Model, body []byte, limit int) (model.Matrix, string, error) {
	in := newJSONIn(body)
	if k, err := in.peek(); err != nil {
		return model.Matrix{}, "", err
	} else if k != '{' {
		return model.Matrix{}, "", badRequest(`not an inference request: the body must be an object with "inputs"`)
	}
	var id string
	var inputs []oipTensor
	hasInputs := false
	p := len(m.Artifact.Header.Features)
	err := in.members(func(key string) error {
		switch key {
		case "id":
			v, err := in.value()
			if err != nil {
				return err
			}
			if v.Kind() != '"' {
				return badRequest(`not an inference request: "id" must be a string`)
			}
			id = unquote(v)
			return nil
		case "parameters":
			return in.skip()
		case "inputs":
			hasInputs = true
			if k, err := in.peek(); err != nil || k != '[' {
				return badRequest(`not an inference request: "inputs" must be a list of tensors`)
			}
			return in.elems(4*p+16, "inputs", func(i int) error {
				tt, err := in.oipTensor(i)
				inputs = append(inputs, tt)
				return err
			})
		case "outputs":
			if k, err := in.peek(); err != nil || k != '[' {
				return badRequest(`not an inference request: "outputs" must be a list of {"name"}`)
			}
			return in.elems(16, "outputs", func(int) error {
				var name string
				if k, err := in.peek(); err != nil || k != '{' {
					return badRequest(`not an inference request: "outputs" must be a list of {"name"}`)
				}
				if err := in.members(func(k string) error {
					if k == "parameters" {
						return in.skip()
					}
					if k != "name" {
						return badRequest("not an inference request: an output has an unknown field %q", k)
					}
					v, err := in.value()
					name = unquote(v)
					return err
				}); err != nil {
					return err
				}
				if name != oipOutputName {
					return badRequest("requested output %q does not exist: the model has one output, %q", name, oipOutputName)
				}
				return nil
			})
		}
		return badRequest("not an inference request: unknown field %q", key)
	})
	if err == nil {
		err = in.end()
	}
	if err != nil {
		return model.Matrix{}, id, err
	}
	if !hasInputs || len(inputs) == 0 {
		return model.Matrix{}, id, badRequest(`"inputs" is required: one tensor per feature, or one tensor of shape [N, %d]`, p)
	}
	for _, tt := range inputs {
		switch strings.ToUpper(tt.Datatype) {
		case "FP64", "FP32", "FP16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64":
		default:
			return model.Matrix{}, id, badRequest("input %q: datatype %q is not numeric: use FP64", tt.Name, tt.Datatype)
		}
		for _, d := range tt.Shape {
			if d < 0 {
				return model.Matrix{}, id, badRequest("input %q: shape %v has a negative dimension", tt.Name, tt.Shape)
			}
		}
		if len(tt.Shape) > 0 && tt.Shape[0] > limit {
			return model.Matrix{}, id, tooMany(limit, "rows")
		}
	}
	t := newTable(m, limit, "inputs")
	if len(inputs) == 1 && len(inputs[0].Shape) == 2 && inputs[0].Shape[1] == p {
		tt := inputs[0]
		flat, err := leaves(tt.Data, 2, tt.Shape[0]*p, tt.Name)
		if err == nil && len(flat) != tt.Shape[0]*p {
			err = badRequest("input %q: shape %v needs %d values", tt.Name, tt.Shape, tt.Shape[0]*p)
		}
		if err != nil {
			return model.Matrix{}, id, err
		}
		for i := range tt.Shape[0] {
			if err := t.cells(flat[i*p:(i+1)*p], p, tt.Name, i); err != nil {
				return model.Matrix{}, id, err
			}
		}
		X, err := t.done()
		return X, id, err
	}
	cols := make([]string, 0, len(inputs))
	data := make([][]jsontext.Value, 0, len(inputs))
	for c, tt := range inputs {
		if len(tt.Shape) == 0 || len(tt.Shape) > 2 || len(tt.Shape) == 2 && tt.Shape[1] != 1 {
			return model.Matrix{}, id, badRequest("input %q: shape %v is not [N] or [N, 1] (want one tensor per feature, or one input of shape [N, %d])", tt.Name, tt.Shape, p)
		}
		flat, err := leaves(tt.Data, len(tt.Shape), tt.Shape[0], tt.Name)
		if err == nil && len(flat) != tt.Shape[0] {
			err = badRequest("input %q: shape %v does not match its %d values", tt.Name, tt.Shape, len(flat))
		}
		if err != nil {
			return model.Matrix{}, id, err
		}
		if c > 0 && len(flat) != len(data[0]) {
			return model.Matrix{}, id, badRequest("input %q has %d values, the first input %d", tt.Name, len(flat), len(data[0]))
		}
		cols, data = append(cols, tt.Name), append(data, flat)
	}
	if err := t.columnar(cols, data, "inputs"); err != nil {
		return model.Matrix{}, id, err
	}
	X, err := t.done()
	return X, id, err
}
