package serve

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/housectl/housectl/pkg/input"
	"github.com/housectl/housectl/pkg/model"
)

// FieldError is one validation problem (input.Problem), shaped like
// pydantic's: FastAPI's 422 "detail" entries.
type FieldError = input.Problem

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

// asRequest maps the input package's errors to the client's statuses:
// malformed input 400, too many rows 413, invalid fields 422.
func asRequest(err error) error {
	var (
		se *input.SyntaxError
		tm *input.TooManyError
		ie *input.InvalidError
	)
	switch {
	case errors.As(err, &se):
		return badRequest("%s", se.Msg)
	case errors.As(err, &tm):
		what := "(serve.max_batch_rows)"
		if tm.What != "rows" {
			what = ""
		}
		return &requestError{Status: http.StatusRequestEntityTooLarge, Msg: strings.TrimSpace(tm.Error() + " " + what), Code: "BAD_REQUEST"}
	case errors.As(err, &ie):
		return &requestError{Status: http.StatusUnprocessableEntity, Msg: ie.Error(), Fields: ie.Problems, Total: ie.Total, Code: "INVALID_PARAMETER_VALUE"}
	}
	return err
}

// matrix finishes a table: its rows, or its problems as the client's error.
func matrix(t *input.Table, err error) (model.Matrix, error) {
	if err == nil {
		var X model.Matrix
		X, err = t.Done()
		if err == nil {
			return X, nil
		}
	}
	return model.Matrix{}, asRequest(err)
}

// DecodePredict reads POST /predict: one object of named features.
func DecodePredict(m *Model, body []byte, limit int) (model.Matrix, error) {
	row := make([]float64, len(m.Artifact.Header.Features))
	if m.Schema.FastObject(body, row) {
		return model.Matrix{Rows: 1, Cols: len(row), Data: row}, nil
	}
	return decodePredict(m, body, limit)
}

// decodePredict is DecodePredict's general path, which fastObject
// shortcuts: FuzzFastPathAgrees holds the two to the same answers.
func decodePredict(m *Model, body []byte, limit int) (model.Matrix, error) {
	in := input.NewJSON(body)
	t := input.NewTable(m.Schema, limit, "body")
	err := t.Object(in)
	if err == nil {
		err = in.End()
	}
	return matrix(t, err)
}

const batchShape = `the body must be {"instances": [{feature: number, ...}, ...]} or a JSON array of such objects`

// DecodeBatch reads POST /predict/batch: {"instances": [{...}, ...]} or a
// bare array of objects. It stops at the first element over limit.
func DecodeBatch(m *Model, body []byte, limit int) (model.Matrix, error) {
	in := input.NewJSON(body)
	t := input.NewTable(m.Schema, limit, "body")
	rows := func(pre ...any) error {
		if k, err := in.Peek(); err != nil {
			return err
		} else if k != '[' {
			return badRequest(batchShape)
		}
		t.SetPrefix(pre...)
		return in.Elems(limit, "rows", func(i int) error { return t.Object(in, i) })
	}
	k, err := in.Peek()
	if err != nil {
		return model.Matrix{}, asRequest(err)
	}
	switch k {
	case '{':
		found := false
		err = in.Members(func(key string) error {
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
		err = in.End()
	}
	return matrix(t, err)
}

// mlflowKeys are the scoring protocol's input fields.
var mlflowKeys = []string{"dataframe_split", "dataframe_records", "instances", "inputs"}

// DecodeInvocations reads MLflow's scoring protocol (formats.md B8).
func DecodeInvocations(m *Model, body []byte, csvBody bool, limit int) (model.Matrix, error) {
	if csvBody {
		t := input.NewTable(m.Schema, limit, "csv")
		return matrix(t, t.CSV(body))
	}
	in := input.NewJSON(body)
	// The top level is read first, its values kept as slices of the body:
	// which format it is decides how they are read.
	top := map[string]jsontext.Value{}
	var present []string
	k, err := in.Peek()
	if err == nil && k == '{' {
		err = in.Members(func(key string) error {
			present = append(present, key)
			v, err := in.Value()
			top[key] = v
			return err
		})
	}
	if err == nil {
		err = in.End()
	}
	if se, ok := errors.AsType[*input.SyntaxError](err); ok {
		// MLflow's wording, which its clients look for.
		return model.Matrix{}, badRequest("Invalid input. Ensure that input is a valid JSON formatted string. Error: %v", se.Msg)
	} else if err != nil {
		return model.Matrix{}, asRequest(err)
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
	in = input.NewJSON(top[key])
	t := input.NewTable(m.Schema, limit, key)
	switch key {
	case "dataframe_split":
		err = dataframeSplit(t, in)
	case "dataframe_records":
		if k, _ := in.Peek(); k != '[' {
			return model.Matrix{}, badRequest("dataframe_records must be a list of objects")
		}
		err = in.Elems(limit, "rows", func(i int) error { return t.Object(in, i) })
	case "instances", "inputs":
		err = tensor(t, in)
	}
	return matrix(t, err)
}

const splitShape = `dataframe_split must be {"columns": [...], "data": [[...], ...]}`

// dataframeSplit reads pandas' split orient: named columns, rows of cells.
func dataframeSplit(t *input.Table, in *input.JSON) error {
	if k, err := in.Peek(); err != nil || k != '{' {
		return badRequest(splitShape)
	}
	var cols []string
	var data jsontext.Value
	err := in.Members(func(key string) error {
		var err error
		switch key {
		case "columns":
			if k, _ := in.Peek(); k != '[' {
				return badRequest(splitShape)
			}
			cols, err = in.Strings(t.MaxColumns(), "columns")
			if cols == nil && err == nil {
				cols = []string{}
			}
		case "data":
			data, err = in.Value()
		case "index":
			err = in.Skip()
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
	idx, ok := t.Header(cols, "columns")
	if !ok {
		return nil
	}
	if data == nil {
		return badRequest(splitShape)
	}
	in = input.NewJSON(data)
	if k, err := in.Peek(); err != nil || k != '[' {
		return badRequest(splitShape)
	}
	return in.Elems(t.Limit(), "rows", func(i int) error { return t.NamedRow(in, cols, idx, "data", i) })
}

// tensor reads TF-serving style input: a list of rows (objects or arrays)
// or an object of columns.
func tensor(t *input.Table, in *input.JSON) error {
	k, err := in.Peek()
	if err != nil {
		return err
	}
	switch k {
	case '{':
		var cols []string
		var data [][]jsontext.Value
		n := -1
		err := in.Members(func(key string) error {
			if k, err := in.Peek(); err != nil || k != '[' {
				return badRequest("an object of columns must map each feature to a list of values")
			}
			cols = append(cols, key)
			if len(cols) > t.MaxColumns() {
				return badRequest("more than %d columns", t.MaxColumns())
			}
			var vals []jsontext.Value
			_, known := t.Schema().Index(key)
			err := in.Elems(t.Limit(), "rows", func(int) error {
				if !known {
					return in.Skip()
				}
				v, err := in.Value()
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
		return t.Columnar(cols, data, "columns")
	case '[':
		return in.Elems(t.Limit(), "rows", func(i int) error {
			k, err := in.Peek()
			if err != nil {
				return err
			}
			switch k {
			case '{':
				return t.Object(in, i)
			case '[':
				return t.Array(in, i)
			}
			t.Fail(input.RowShape, "Row should be a list of numbers or an object of features", nil, i)
			return in.Skip()
		})
	}
	return badRequest("expected a list of rows or an object of columns")
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
func readTensor(in *input.JSON, i int) (oipTensor, error) {
	var tt oipTensor
	if k, err := in.Peek(); err != nil || k != '{' {
		return tt, badRequest("input %d is not a tensor object {\"name\", \"shape\", \"datatype\", \"data\"}", i)
	}
	err := in.Members(func(key string) error {
		switch key {
		case "name", "datatype":
			v, err := in.Value()
			if err != nil {
				return err
			}
			if v.Kind() != '"' {
				return badRequest("input %d: %s must be a string", i, key)
			}
			if key == "name" {
				tt.Name = input.Unquote(v)
			} else {
				tt.Datatype = input.Unquote(v)
			}
			return nil
		case "shape":
			if k, err := in.Peek(); err != nil || k != '[' {
				return badRequest("input %d: shape must be a list of whole numbers", i)
			}
			return in.Elems(maxRank, "dimensions", func(int) error {
				v, err := in.Value()
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
			v, err := in.Value()
			tt.Data = v
			return err
		case "parameters":
			return in.Skip()
		}
		return badRequest("not an inference request: input %d has an unknown field %q", i, key)
	})
	return tt, err
}

// leaves reads a tensor's data, nested no deeper than rank, into its
// values in row-major order; it stops with an error past want values.
func leaves(data jsontext.Value, rank, want int, name string) ([]jsontext.Value, error) {
	in := input.NewJSON(data)
	out := make([]jsontext.Value, 0, want)
	var walk func(depth int) error
	walk = func(depth int) error {
		k, err := in.Peek()
		if err != nil {
			return err
		}
		if k != '[' {
			if len(out) == want {
				return badRequest("input %q holds more values than its shape", name)
			}
			v, err := in.Value()
			out = append(out, v)
			return err
		}
		if depth == rank {
			return badRequest("input %q: data is nested deeper than its shape", name)
		}
		return in.Elems(want+1, "values", func(int) error { return walk(depth + 1) })
	}
	if k, err := in.Peek(); err != nil || k != '[' {
		return nil, badRequest("input %q: data is not a list of numbers", name)
	}
	if err := walk(0); err != nil {
		if _, ok := errors.AsType[*input.TooManyError](err); ok {
			return nil, badRequest("input %q holds more values than its shape", name)
		}
		return nil, err
	}
	return out, nil
}

// DecodeOIP reads an OIP v2 infer request: one FP64/FP32/INT tensor per
// feature (shape [N] or [N, 1]), or one tensor of shape [N, features].
func DecodeOIP(m *Model, body []byte, limit int) (model.Matrix, string, error) {
	in := input.NewJSON(body)
	if k, err := in.Peek(); err != nil {
		return model.Matrix{}, "", err
	} else if k != '{' {
		return model.Matrix{}, "", badRequest(`not an inference request: the body must be an object with "inputs"`)
	}
	var id string
	var inputs []oipTensor
	hasInputs := false
	p := len(m.Artifact.Header.Features)
	err := in.Members(func(key string) error {
		switch key {
		case "id":
			v, err := in.Value()
			if err != nil {
				return err
			}
			if v.Kind() != '"' {
				return badRequest(`not an inference request: "id" must be a string`)
			}
			id = input.Unquote(v)
			return nil
		case "parameters":
			return in.Skip()
		case "inputs":
			hasInputs = true
			if k, err := in.Peek(); err != nil || k != '[' {
				return badRequest(`not an inference request: "inputs" must be a list of tensors`)
			}
			return in.Elems(4*p+16, "inputs", func(i int) error {
				tt, err := readTensor(in, i)
				inputs = append(inputs, tt)
				return err
			})
		case "outputs":
			if k, err := in.Peek(); err != nil || k != '[' {
				return badRequest(`not an inference request: "outputs" must be a list of {"name"}`)
			}
			return in.Elems(16, "outputs", func(int) error {
				var name string
				if k, err := in.Peek(); err != nil || k != '{' {
					return badRequest(`not an inference request: "outputs" must be a list of {"name"}`)
				}
				if err := in.Members(func(k string) error {
					if k == "parameters" {
						return in.Skip()
					}
					if k != "name" {
						return badRequest("not an inference request: an output has an unknown field %q", k)
					}
					v, err := in.Value()
					name = input.Unquote(v)
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
		err = in.End()
	}
	if err != nil {
		return model.Matrix{}, id, asRequest(err)
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
			return model.Matrix{}, id, asRequest(&input.TooManyError{Limit: limit, What: "rows"})
		}
	}
	t := input.NewTable(m.Schema, limit, "inputs")
	if len(inputs) == 1 && len(inputs[0].Shape) == 2 && inputs[0].Shape[1] == p {
		tt := inputs[0]
		flat, err := leaves(tt.Data, 2, tt.Shape[0]*p, tt.Name)
		if err == nil && len(flat) != tt.Shape[0]*p {
			err = badRequest("input %q: shape %v needs %d values", tt.Name, tt.Shape, tt.Shape[0]*p)
		}
		if err != nil {
			return model.Matrix{}, id, asRequest(err)
		}
		for i := range tt.Shape[0] {
			if err := t.Cells(flat[i*p:(i+1)*p], p, tt.Name, i); err != nil {
				return model.Matrix{}, id, asRequest(err)
			}
		}
		X, err := matrix(t, nil)
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
			return model.Matrix{}, id, asRequest(err)
		}
		if c > 0 && len(flat) != len(data[0]) {
			return model.Matrix{}, id, badRequest("input %q has %d values, the first input %d", tt.Name, len(flat), len(data[0]))
		}
		cols, data = append(cols, tt.Name), append(data, flat)
	}
	X, err := matrix(t, t.Columnar(cols, data, "inputs"))
	return X, id, err
}
