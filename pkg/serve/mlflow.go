package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/housectl/housectl/pkg/input"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/pyfmt"
)

// MLflow's scoring protocol (formats.md B8) as its 2.17.2 server answers
// it: lenient where pandas is (extra columns, numbers as text, no range
// check), and with its error codes and words, which clients parse. What
// each case answers was recorded from the real server in
// testdata/mlflow-scoring.jsonl.

// mlflowKeys are the scoring protocol's input fields, in the order the
// messages list them.
var mlflowKeys = []string{"dataframe_split", "dataframe_records", "instances", "inputs"}

// MLflow's messages (mlflow/pyfunc/scoring_server/__init__.py).
var (
	mlflowRequiredFormat = "The input must be a JSON dictionary with exactly one of the input fields " + pyfmt.Set(mlflowKeys)
	mlflowProtocolChange = "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are" +
		" seeing this error, you are likely using an outdated scoring request format. To resolve the" +
		" error, either update your request format or adjust your MLflow Model's requirements file to" +
		" specify an older version of MLflow (for example, change the 'mlflow' requirement specifier" +
		" to 'mlflow==1.30.0'). If you are making a request using the MLflow client" +
		" (e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in" +
		" order to use the new request format. For more information about the updated MLflow" +
		" Model scoring protocol in MLflow 2.0, see" +
		" https://mlflow.org/docs/latest/models.html#deploy-mlflow-models."
	mlflowUnexpected = "Encountered an unexpected error while evaluating the model. Verify" +
		" that the serialized input Dataframe is compatible with the model for inference."
	mlflowCSV = "Failed to parse input as a Pandas DataFrame. Ensure that the input is" +
		" a valid CSV-formatted Pandas DataFrame produced using the" +
		" `pandas.DataFrame.to_csv()` method. Error: '%s'"
)

// mlflowInvalidInput is MLflow's MlflowInvalidInputException: 400
// BAD_REQUEST, its message prefixed "Invalid input. ".
func mlflowInvalidInput(format string, args ...any) *requestError {
	return &requestError{Status: http.StatusBadRequest, Msg: "Invalid input. " + fmt.Sprintf(format, args...), Code: "BAD_REQUEST"}
}

// pyType is Python's type() of a JSON value as json.loads makes it.
func pyType(v jsontext.Value) string {
	t := "dict"
	switch v.Kind() {
	case '[':
		t = "list"
	case '"':
		t = "str"
	case 't', 'f':
		t = "bool"
	case 'n':
		t = "NoneType"
	case '0':
		t = "int"
		if bytes.ContainsAny(v, ".eE") {
			t = "float"
		}
	}
	return "<class '" + t + "'>"
}

// Invocation is a decoded /invocations request.
type Invocation struct {
	X model.Matrix
	// Ignored lists what was given and not used (extra columns, params,
	// unknown keys), for the server's log, as MLflow logs it.
	Ignored []string
	// OutOfRange counts, by feature, values outside the model's range,
	// which MLflow predicts: they are counted, not refused.
	OutOfRange []int
}

// DecodeInvocations reads MLflow's scoring protocol.
func DecodeInvocations(m *Model, body []byte, csvBody bool, limit int) (Invocation, error) {
	if csvBody {
		t := mlflowTable(m, limit, "csv")
		if len(bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))) == 0 {
			return Invocation{}, badRequest(mlflowCSV, "No columns to parse from file")
		}
		return mlflowDone(t, t.CSV(body), "csv")
	}
	in := input.NewJSON(body)
	// The top level is read first, its values kept as slices of the body:
	// which format it is decides how they are read.
	top := map[string]jsontext.Value{}
	var keys []string
	var scalar jsontext.Value // a top level that is not an object
	k, err := in.Peek()
	if err == nil && k == '{' {
		err = in.Members(func(key string) error {
			keys = append(keys, key)
			v, err := in.Value()
			top[key] = v
			return err
		})
	} else if err == nil {
		scalar, err = in.Value()
	}
	if err == nil {
		err = in.End()
	}
	if se, ok := errors.AsType[*input.SyntaxError](err); ok {
		return Invocation{}, mlflowInvalidInput("Ensure that input is a valid JSON formatted string. Error: '%s'", se.Msg)
	} else if err != nil {
		return Invocation{}, asRequest(err)
	}
	switch k {
	case '{':
	case '[':
		return Invocation{}, mlflowInvalidInput("%s. Received a list.", mlflowRequiredFormat)
	default:
		return Invocation{}, mlflowInvalidInput("%s. Received unexpected input type '%s.", mlflowRequiredFormat, pyType(scalar))
	}
	var formats, ignored []string
	for _, k := range keys {
		switch {
		case k == "params":
		case slices.Contains(mlflowKeys, k):
			formats = append(formats, k)
		default:
			ignored = append(ignored, k)
		}
	}
	if len(formats) != 1 {
		return Invocation{}, badRequest("%s. Received dictionary with input fields: %s. %s", mlflowRequiredFormat, pyfmt.List(formats), mlflowProtocolChange)
	}
	var warn []string
	if len(ignored) > 0 {
		warn = append(warn, "ignoring input fields that are not "+pyfmt.Set(mlflowKeys)+" or 'params': "+pyfmt.List(ignored))
	}
	if p, ok := top["params"]; ok && p.Kind() != 'n' && string(bytes.Join(bytes.Fields(p), nil)) != "{}" {
		// MLflow's warning (mlflow/models/utils.py), the params' keys as it lists them.
		names := string(p)
		if p.Kind() == '{' {
			names = pyfmt.List(paramNames(p))
		}
		warn = append(warn, "`params` can only be specified at inference time if the model signature defines a params schema. This model does not define a params schema. Ignoring provided params: "+names)
	}
	key := formats[0]
	in = input.NewJSON(top[key])
	t := mlflowTable(m, limit, key)
	switch key {
	case "dataframe_split":
		err = dataframeSplit(t, in)
	case "dataframe_records":
		err = dataframeRecords(t, in)
	case "instances", "inputs":
		err = tensor(t, in)
	}
	inv, err := mlflowDone(t, err, key)
	inv.Ignored = append(warn, inv.Ignored...)
	return inv, err
}

// paramNames lists the keys of a params object.
func paramNames(p jsontext.Value) []string {
	var out []string
	in := input.NewJSON(p)
	_ = in.Members(func(k string) error {
		out = append(out, k)
		return in.Skip()
	})
	return out
}

func mlflowTable(m *Model, limit int, where string) *input.Table {
	t := input.NewTable(m.Schema, limit, where)
	t.AllowExtra, t.Lenient = true, true
	return t
}

// mlflowDone finishes a table read from format: its rows, or the error
// MLflow answers for the first of its problems in MLflow's order of
// checks (the frame's shape, then converting each column in the
// signature's order, then missing columns, then what the model refuses:
// nulls, NaN, no rows).
func mlflowDone(t *input.Table, err error, format string) (Invocation, error) {
	inv := Invocation{OutOfRange: t.OutOfRange}
	if len(t.Extras) > 0 {
		inv.Ignored = append(inv.Ignored, "ignoring inputs that are not features of the model: "+pyfmt.List(t.Extras))
	}
	var ie *input.InvalidError
	switch {
	case errors.As(err, &ie):
	case err != nil:
		if se, ok := errors.AsType[*input.SyntaxError](err); ok {
			if format == "csv" {
				return inv, badRequest(mlflowCSV, se.Msg)
			}
			return inv, mlflowInvalidInput("%s", se.Msg)
		}
		return inv, asRequest(err)
	case t.Problems() == 0 && t.Rows() == 0:
		if len(t.MissingInputs()) > 0 { // an empty list of records has no columns
			return inv, mlflowProblem(t, &input.InvalidError{}, format)
		}
		return inv, &requestError{Status: http.StatusBadRequest, Msg: mlflowUnexpected + " (no rows to predict)", Code: "BAD_REQUEST"}
	default:
		inv.X, err = t.Done()
		if err == nil {
			return inv, nil
		}
		if !errors.As(err, &ie) {
			return inv, asRequest(err)
		}
	}
	return inv, mlflowProblem(t, ie, format)
}

// mlflowProblem is the MLflow error for a table's problems (each is
// also listed, as housectl words it, in the body's "detail").
func mlflowProblem(t *input.Table, ie *input.InvalidError, format string) *requestError {
	feats := t.Schema().Features
	with := func(re *requestError) *requestError {
		re.Fields, re.Total = ie.Problems, ie.Total
		return re
	}
	// pandas builds the frame first: split rows of another length than
	// the columns (the longest row decides; shorter ones get NaN).
	if format == "dataframe_split" {
		widest := -1
		for _, p := range ie.Problems {
			if n, ok := p.Input.(int); ok && p.Type == input.RowShape {
				widest = max(widest, n)
			}
		}
		if widest >= 0 {
			ncols := t.Columns()
			if t.Rows() > 0 {
				widest = max(widest, ncols)
			}
			if widest != ncols {
				return with(mlflowInvalidInput("Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '%d columns passed, passed data had %d columns'", ncols, widest))
			}
		}
	}
	// A row given without names (housectl's reading of what MLflow would
	// name 0, 1, ...) must hold every feature, in order.
	if format != "csv" && format != "dataframe_split" {
		for _, p := range ie.Problems {
			if p.Type == input.RowShape {
				return with(mlflowInvalidInput("%s (%s)", p.Msg, locString(p.Loc)))
			}
		}
	}
	// Then each column of the signature is converted to float64, in its
	// order: the first value that is not a number is the error.
	var conv *input.Problem
	convAt := len(feats)
	for i := range ie.Problems {
		p := &ie.Problems[i]
		if p.Type != input.NotNum || len(p.Loc) == 0 {
			continue
		}
		name, _ := p.Loc[len(p.Loc)-1].(string)
		if j, ok := t.Schema().Index(name); ok && j < convAt {
			conv, convAt = p, j
		}
	}
	if conv != nil {
		exc, msg := pyConversionError(conv.Input)
		switch format {
		case "csv":
			return with(badRequest(mlflowCSV, msg))
		case "instances", "inputs":
			return with(mlflowInvalidInput("%s", msg))
		}
		return with(mlflowInvalidInput("Data is not compatible with model signature. Failed to convert column %s to type 'float64'. Error: '%s'", feats[convAt], exc))
	}
	// Then the model's signature is enforced: every input is required.
	missing := t.MissingInputs()
	var repeated []string
	for _, p := range ie.Problems {
		if p.Type == input.Repeated && len(p.Loc) > 0 {
			if name, ok := p.Loc[len(p.Loc)-1].(string); ok {
				repeated = append(repeated, name)
			}
		}
	}
	if len(missing) > 0 || len(repeated) > 0 {
		data := fmt.Sprintf("[%d rows x %d columns]", t.Rows(), len(feats)-len(missing)+len(t.Extras))
		why := "Model is missing inputs " + pyfmt.List(missing) + "."
		if len(missing) == 0 {
			why = "Columns are given more than once: " + pyfmt.List(repeated) + "."
		} else if len(t.Extras) > 0 {
			why += " Note that there were extra inputs: " + pyfmt.List(t.Extras)
		}
		return with(&requestError{Status: http.StatusBadRequest, Code: "INVALID_PARAMETER_VALUE",
			Msg: fmt.Sprintf("Failed to predict data '%s'. \nError: Failed to enforce schema of data '%s' with schema '%s'. Error: %s", data, data, mlflowSchema(feats), why)})
	}
	// What is left, nulls, NaN, infinities and short rows, the model
	// itself refuses (scikit-learn raises on NaN).
	return with(&requestError{Status: http.StatusBadRequest, Msg: mlflowUnexpected, Code: "BAD_REQUEST"})
}

// mlflowSchema is MLflow's str() of a signature of double columns.
func mlflowSchema(feats []string) string {
	parts := make([]string, len(feats))
	for j, f := range feats {
		parts[j] = pyfmt.Repr(f) + ": double (required)"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyConversionError is the exception float64 conversion raises for a
// value that is not a number: its repr() and its str().
func pyConversionError(v any) (string, string) {
	switch v := v.(type) {
	case string:
		msg := "could not convert string to float: " + pyfmt.Repr(v)
		return "ValueError(" + pyfmt.Repr(msg) + ")", msg
	case json.RawMessage:
		if len(v) > 0 && v[0] == '[' {
			return "ValueError('setting an array element with a sequence.')", "setting an array element with a sequence."
		}
	}
	msg := "float() argument must be a string or a real number, not 'dict'"
	return "TypeError(" + pyfmt.Repr(msg) + ")", msg
}

// dataframeSplit reads pandas' split orient: named columns (without
// them, rows in the model's feature order, which MLflow would name 0, 1,
// ...), rows of cells, an index that is not used.
func dataframeSplit(t *input.Table, in *input.JSON) error {
	if err := frameKind(in, '{', "Dataframe split format must be a dictionary"); err != nil {
		return err
	}
	var cols []string
	var data jsontext.Value
	var keys []string
	err := in.Members(func(key string) error {
		keys = append(keys, key)
		var err error
		switch key {
		case "columns":
			if k, _ := in.Peek(); k != '[' {
				return mlflowInvalidInput("Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: 'columns must be a list of names'")
			}
			cols, err = in.Strings(t.MaxColumns(), "columns")
			if cols == nil && err == nil {
				cols = []string{}
			}
		case "data":
			data, err = in.Value()
		default:
			err = in.Skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	extra := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "columns" || k == "data" || k == "index" })
	if data == nil || len(extra) > 0 {
		return mlflowInvalidInput("Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got %s.'", pyfmt.Set(keys))
	}
	in = input.NewJSON(data)
	if k, err := in.Peek(); err != nil || k != '[' {
		return mlflowInvalidInput("Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: 'data must be a list of rows'")
	}
	if cols == nil {
		return in.Elems(t.Limit(), "rows", func(i int) error { return t.Array(in, "data", i) })
	}
	idx, _ := t.Header(cols, "columns")
	return in.Elems(t.Limit(), "rows", func(i int) error { return t.NamedRow(in, cols, idx, "data", i) })
}

// frameKind requires the next value to be of kind want (an object or a
// list), or is MLflow's error, which names what it got as MLflow does.
func frameKind(in *input.JSON, want jsontext.Kind, must string) error {
	k, err := in.Peek()
	if err != nil || k == want {
		return err
	}
	what := map[jsontext.Kind]string{'[': "list", '{': "dictionary"}[k]
	if what == "" {
		v, _ := in.Value()
		what = "type " + pyType(v)
	}
	return mlflowInvalidInput("%s. Got %s.", must, what)
}

// dataframeRecords reads pandas' records orient: a list of objects (a
// list of lists is rows in the model's feature order).
func dataframeRecords(t *input.Table, in *input.JSON) error {
	if err := frameKind(in, '[', "Dataframe records format must be a list of records"); err != nil {
		return err
	}
	return in.Elems(t.Limit(), "rows", func(i int) error { return row(t, in, i) })
}

// row reads one row: an object of features, or a list in the model's
// feature order.
func row(t *input.Table, in *input.JSON, i int) error {
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
}

// tensor reads TF-serving style input: a list of rows (objects or
// lists), or an object of columns, each a list of values or one value
// for every row (as pandas broadcasts it).
func tensor(t *input.Table, in *input.JSON) error {
	k, err := in.Peek()
	if err != nil {
		return err
	}
	switch k {
	case '[':
		return in.Elems(t.Limit(), "rows", func(i int) error { return row(t, in, i) })
	case '{':
	default:
		return mlflowInvalidInput("Ensure that the input is a valid JSON-formatted string.\nError: expected a list of rows or an object of columns")
	}
	var cols []string
	var data [][]jsontext.Value
	n := -1
	err = in.Members(func(key string) error {
		cols = append(cols, key)
		if len(cols) > t.MaxColumns() {
			return mlflowInvalidInput("more than %d columns", t.MaxColumns())
		}
		_, known := t.Schema().Index(key)
		k, err := in.Peek()
		if err != nil {
			return err
		}
		if k != '[' { // one value for every row
			v, err := in.Value()
			data = append(data, []jsontext.Value{v})
			return err
		}
		var vals []jsontext.Value
		err = in.Elems(t.Limit(), "rows", func(int) error {
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
				return &requestError{Status: http.StatusBadRequest, Code: "INVALID_PARAMETER_VALUE", Msg: "There was an error casting the input data to a DataFrame: All arrays must be of the same length"}
			}
			n = len(vals)
		}
		data = append(data, vals)
		return nil
	})
	if err != nil {
		return err
	}
	if n < 0 {
		n = 1
	}
	for c, vals := range data {
		if len(vals) == 1 && n != 1 {
			if _, known := t.Schema().Index(cols[c]); known {
				data[c] = slices.Repeat(vals, n)
			}
		}
	}
	return t.Columnar(cols, data, "columns")
}

// locString writes a problem's location as a path: instances/0/MedInc.
func locString(loc []any) string {
	parts := make([]string, len(loc))
	for i, l := range loc {
		parts[i] = fmt.Sprint(l)
	}
	return strings.Join(parts, "/")
}
