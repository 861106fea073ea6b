package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/housectl/housectl/pkg/model"
)

// Table collects rows of features in a schema's order, and their
// problems.
type Table struct {
	s      *Schema
	rows   [][]float64
	errs   []Problem
	nerr   int
	limit  int
	locPre []any // e.g. "body"
	// AllowExtra takes rows with columns or keys that are not features
	// (they are ignored, their names kept in Extras) instead of listing
	// each as a problem.
	AllowExtra bool
	// Lenient is MLflow's scoring policy, pandas' conversions with no
	// range check: a JSON string is read as Python's float() reads text,
	// true and false are 1 and 0 (CSV's True and False too), and a value
	// outside its feature's range is taken and counted in OutOfRange.
	Lenient bool
	// OutOfRange counts, by feature, the values Lenient took outside
	// their range.
	OutOfRange []int
	// Extras are the names given that are not features (AllowExtra), in
	// the order first seen, at most MaxListed.
	Extras []string
	// absent counts, by feature, the rows read as objects that lack it;
	// missingCol marks the features a header lacks.
	absent     []int
	missingCol []bool
	headered   bool
	ncols      int
}

// NewTable starts a table of at most limit rows; every problem's location
// starts with pre (e.g. "body").
func NewTable(s *Schema, limit int, pre ...any) *Table {
	return &Table{s: s, limit: limit, locPre: pre}
}

// SetPrefix changes the start of the problems' locations.
func (t *Table) SetPrefix(pre ...any) { t.locPre = pre }

// Schema is the table's schema.
func (t *Table) Schema() *Schema { return t.s }

// Problems is the number of problems found so far.
func (t *Table) Problems() int { return t.nerr }

// Listing reports whether the next problem will be listed (past
// MaxListed, problems are only counted).
func (t *Table) Listing() bool { return len(t.errs) < MaxListed }

// Fail records a problem at loc (after the prefix).
func (t *Table) Fail(typ, msg string, input any, loc ...any) {
	t.nerr++
	if len(t.errs) < MaxListed {
		t.errs = append(t.errs, Problem{Loc: append(append([]any{}, t.locPre...), loc...), Msg: msg, Type: typ, Input: input})
	}
}

// NewRow adds a row, its cells NaN until set, or fails past the limit.
func (t *Table) NewRow() ([]float64, error) {
	if len(t.rows) >= t.limit {
		return nil, tooMany(t.limit, "rows")
	}
	row := make([]float64, len(t.s.Features))
	for j := range row {
		row[j] = math.NaN()
	}
	t.rows = append(t.rows, row)
	return row, nil
}

// Value checks one cell given as raw JSON and stores it. JSON takes
// numbers as numbers: a string, even "8.3", is not one (pydantic's strict
// mode, as the README promises).
func (t *Table) Value(row []float64, j int, raw []byte, loc ...any) {
	raw = bytes.TrimSpace(raw)
	if t.s.category(j) && len(raw) > 0 && raw[0] == '"' {
		t.label(row, j, Unquote(raw), loc...)
		return
	}
	switch {
	case t.s.category(j) && len(raw) > 0 && string(raw) != "null":
		t.Fail(Label, "Input should be one of the labels "+quoteLabels(t.s.Labels[j])+", as a string", json.RawMessage(raw), loc...)
		return
	case (len(raw) == 0 || string(raw) == "null") && t.s.nullable(j):
		row[j] = math.NaN() // missing
		return
	case len(raw) == 0 || string(raw) == "null":
		t.Fail(Null, "Input should be a finite number, not null", nil, loc...)
		return
	case raw[0] == '"' && t.Lenient:
		t.pyText(row, j, Unquote(raw), loc...)
		return
	case raw[0] == '"':
		t.Fail(NotNum, "Input should be a valid number, not a string: send numbers unquoted", Unquote(raw), loc...)
		return
	case t.Lenient && (string(raw) == "true" || string(raw) == "false"):
		t.Number(row, j, b2f(raw[0] == 't'), loc...)
		return
	case raw[0] == '{' || raw[0] == '[' || raw[0] == 't' || raw[0] == 'f':
		t.Fail(NotNum, "Input should be a valid number", json.RawMessage(raw), loc...)
		return
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		t.Fail(NotNum, "Input should be a valid number", string(raw), loc...)
		return
	}
	t.Number(row, j, v, loc...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// pyText reads a JSON string as Python's float() does: surrounding
// space is ignored, inf and nan are words, hexadecimal is not a number.
// The problem's input is the string as given, which MLflow quotes.
func (t *Table) pyText(row []float64, j int, s string, loc ...any) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) || strings.ContainsAny(s, "xX") {
		t.Fail(NotNum, "Input should be a valid number, unable to parse string as a number", s, loc...)
		return
	}
	t.Number(row, j, v, loc...)
}

// Text checks a cell given as text (CSV, or a JSON string).
func (t *Table) Text(row []float64, j int, s string, loc ...any) {
	if t.s.category(j) && strings.TrimSpace(s) != "" {
		t.label(row, j, strings.TrimSpace(s), loc...)
		return
	}
	s = strings.TrimSpace(s)
	if s == "" && t.s.nullable(j) {
		row[j] = math.NaN() // missing
		return
	}
	if s == "" {
		t.Fail(Null, "Input should be a finite number, not empty", s, loc...)
		return
	}
	if t.Lenient {
		switch s {
		case "True", "TRUE", "true", "False", "FALSE", "false": // pandas' true_values and false_values
			t.Number(row, j, b2f(s[0] == 'T' || s[0] == 't'), loc...)
		default:
			t.pyText(row, j, s, loc...)
		}
		return
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		t.Fail(NotNum, "Input should be a valid number, unable to parse string as a number", s, loc...)
		return
	}
	t.Number(row, j, v, loc...)
}

// Number checks a parsed value against its feature's range and stores
// it.
func (t *Table) Number(row []float64, j int, v float64, loc ...any) {
	switch {
	case math.IsNaN(v) && t.s.nullable(j):
		row[j] = v // missing
	case math.IsNaN(v) || math.IsInf(v, 0):
		t.Fail(Finite, "Input should be a finite number", fmt.Sprint(v), loc...)
	case t.Lenient && (v < t.s.Lo[j] || v > t.s.Hi[j]):
		if t.OutOfRange == nil {
			t.OutOfRange = make([]int, len(t.s.Features))
		}
		t.OutOfRange[j]++
		row[j] = v
	case v < t.s.Lo[j]:
		t.Fail(TooLow, fmt.Sprintf("Input should be greater than or equal to %g (the training data's range, widened)", t.s.Lo[j]), v, loc...)
	case v > t.s.Hi[j]:
		t.Fail(TooHigh, fmt.Sprintf("Input should be less than or equal to %g (the training data's range, widened)", t.s.Hi[j]), v, loc...)
	default:
		row[j] = v
	}
}

// Object reads the next value, a JSON object of named features, into a
// new row; another kind of value is a problem of its element (loc).
func (t *Table) Object(in *JSON, loc ...any) error {
	k, err := in.Peek()
	if err != nil {
		return err
	}
	if k != '{' {
		if len(loc) == 0 {
			return Malformed("the body must be a JSON object of feature names to numbers, e.g. {\"MedInc\": 8.3, ...}")
		}
		t.Fail(NotDict, "Input should be an object of feature names to numbers", nil, loc...)
		return in.Skip()
	}
	row, err := t.NewRow()
	if err != nil {
		return err
	}
	feats := t.s.Features
	seen := make([]bool, len(feats))
	var extra []string
	err = in.Members(func(key string) error {
		j, ok := t.s.index[key]
		if !ok {
			if key == t.s.Ignore && key != "" {
				return in.Skip()
			}
			if t.AllowExtra {
				t.extra(key)
			} else {
				extra = append(extra, key)
			}
			return in.Skip()
		}
		seen[j] = true
		v, err := in.Value()
		if err != nil {
			return err
		}
		t.Value(row, j, v, append(loc, key)...)
		return nil
	})
	if err != nil {
		return err
	}
	for j, f := range feats {
		if !seen[j] && !t.s.nullable(j) {
			if t.absent == nil {
				t.absent = make([]int, len(feats))
			}
			t.absent[j]++
			t.Fail(Missing, "Field required", nil, append(loc, f)...)
		}
	}
	for _, k := range extra {
		t.Fail(Extra, "Extra inputs are not permitted: the model's features are "+strings.Join(feats, ", "), nil, append(loc, k)...)
	}
	return nil
}

// Array reads the next value, a JSON array holding one row in the
// model's feature order, into a new row.
func (t *Table) Array(in *JSON, loc ...any) error {
	p := len(t.s.Features)
	var cells [64]jsontext.Value
	vals := cells[:0]
	if err := in.Open(); err != nil {
		return err
	}
	n := 0
	for ; ; n++ {
		k, err := in.Peek()
		if err != nil {
			return err
		}
		if k == ']' {
			break
		}
		if n < p {
			v, err := in.Value()
			if err != nil {
				return err
			}
			vals = append(vals, v)
		} else if err := in.Skip(); err != nil {
			return err
		}
	}
	if err := in.Close(); err != nil {
		return err
	}
	return t.Cells(vals, n, loc...)
}

// Cells stores one positional row of raw values (n of them, of which vals
// holds the first p), or records its wrong length.
func (t *Table) Cells(vals []jsontext.Value, n int, loc ...any) error {
	feats := t.s.Features
	if n != len(feats) {
		t.Fail(RowShape, fmt.Sprintf("Row should have %d values (%s), got %d", len(feats), strings.Join(feats, ", "), n), nil, loc...)
		return nil
	}
	row, err := t.NewRow()
	if err != nil {
		return err
	}
	for j, v := range vals {
		t.Value(row, j, v, append(loc, feats[j])...)
	}
	return nil
}

// Done returns the matrix, or a 422 listing the problems.
func (t *Table) Done() (model.Matrix, error) {
	if t.nerr > 0 {
		return model.Matrix{}, &InvalidError{Problems: t.errs, Total: t.nerr}
	}
	if len(t.rows) == 0 {
		return model.Matrix{}, Malformed("no rows to predict")
	}
	n, p := len(t.rows), len(t.s.Features)
	X := model.Matrix{Rows: n, Cols: p, Data: make([]float64, n*p)}
	for i, r := range t.rows {
		for j, v := range r {
			X.Data[j*n+i] = v
		}
	}
	return X, nil
}

// MaxColumns bounds the names of columns a request may give: the model's
// features, and a few wrong ones to report.
func (t *Table) MaxColumns() int { return 4*len(t.s.Features) + 16 }

// Strings reads an array of at most limit strings.
func (in *JSON) Strings(limit int, what string) ([]string, error) {
	var out []string
	err := in.Elems(limit, what, func(int) error {
		v, err := in.Value()
		if err != nil {
			return err
		}
		if v.Kind() != '"' {
			return Malformed("%s must be strings, got %s", what, v)
		}
		out = append(out, Unquote(v))
		return nil
	})
	return out, err
}

// Header matches column names to features: idx[c] is column c's feature
// (-1: not one). It records unknown, repeated and missing columns and
// reports whether there were none.
func (t *Table) Header(cols []string, where string) ([]int, bool) {
	t.headered, t.ncols = true, len(cols)
	idx := make([]int, len(cols))
	seen := make(map[string]bool, len(cols))
	feats := t.s.Features
	for c, name := range cols {
		j, ok := t.s.index[name]
		idx[c] = j
		if !ok {
			idx[c] = -1
			if t.AllowExtra {
				t.extra(name)
			} else {
				t.Fail(Extra, "Extra inputs are not permitted: the model's features are "+strings.Join(feats, ", "), nil, where, name)
			}
		}
		if seen[name] && (ok || !t.AllowExtra) {
			t.Fail(Repeated, "column given twice", nil, where, name)
		}
		seen[name] = true
	}
	for j, f := range feats {
		if !seen[f] && !t.s.nullable(j) {
			if t.missingCol == nil {
				t.missingCol = make([]bool, len(feats))
			}
			t.missingCol[j] = true
			t.Fail(Missing, "Field required", nil, where, f)
		}
	}
	return idx, t.nerr == 0
}

// NamedRow reads the next value, a JSON array of cells for the columns
// cols (their features idx), into a new row.
func (t *Table) NamedRow(in *JSON, cols []string, idx []int, loc ...any) error {
	if k, err := in.Peek(); err != nil {
		return err
	} else if k != '[' {
		t.Fail(RowShape, fmt.Sprintf("row should be a list of %d values", len(cols)), nil, loc...)
		return in.Skip()
	}
	var cells [64]jsontext.Value
	vals := cells[:0]
	if err := in.Open(); err != nil {
		return err
	}
	n := 0
	for ; ; n++ {
		k, err := in.Peek()
		if err != nil {
			return err
		}
		if k == ']' {
			break
		}
		if n < len(cols) {
			v, err := in.Value()
			if err != nil {
				return err
			}
			vals = append(vals, v)
		} else if err := in.Skip(); err != nil {
			return err
		}
	}
	if err := in.Close(); err != nil {
		return err
	}
	if n != len(cols) {
		t.Fail(RowShape, fmt.Sprintf("row has %d values for %d columns", n, len(cols)), n, loc...)
		return nil
	}
	row, err := t.NewRow()
	if err != nil {
		return err
	}
	for c, v := range vals {
		if idx[c] >= 0 {
			t.Value(row, idx[c], v, append(loc, cols[c])...)
		}
	}
	return nil
}

// Columnar stores rows given as named columns of equal length: data[c]
// holds column cols[c]'s cells.
func (t *Table) Columnar(cols []string, data [][]jsontext.Value, where string) error {
	idx, ok := t.Header(cols, where)
	if !ok && !t.Lenient {
		return nil
	}
	n := 0
	for c := range cols {
		if idx[c] >= 0 {
			n = len(data[c])
			break
		}
	}
	for i := range n {
		row, err := t.NewRow()
		if err != nil {
			return err
		}
		for c := range cols {
			if idx[c] >= 0 {
				t.Value(row, idx[c], data[c][i], where, i, cols[c])
			}
		}
	}
	return nil
}

// extra keeps the name of a column or key that is not a feature.
func (t *Table) extra(name string) {
	if len(t.Extras) < MaxListed && !slices.Contains(t.Extras, name) {
		t.Extras = append(t.Extras, name)
	}
}

// Columns is the number of columns the header named.
func (t *Table) Columns() int { return t.ncols }

// Rows is the number of rows read so far.
func (t *Table) Rows() int { return len(t.rows) }

// MissingInputs are the features no row has: missing from the header,
// or, with no header, from every row read as an object (an empty batch
// of objects lacks them all).
// A feature some rows lack is not one (those rows have a null).
func (t *Table) MissingInputs() []string {
	var out []string
	for j, f := range t.s.Features {
		if t.headered && t.missingCol != nil && t.missingCol[j] ||
			!t.headered && (len(t.rows) == 0 || t.absent != nil && t.absent[j] == len(t.rows)) {
			out = append(out, f)
		}
	}
	return out
}

// Limit is the most rows the table takes.
func (t *Table) Limit() int { return t.limit }

// Err is the table's problems as an InvalidError, or nil when there are
// none (for readers of other records than rows, which collect problems
// the same way).
func (t *Table) Err() error {
	if t.nerr > 0 {
		return &InvalidError{Problems: t.errs, Total: t.nerr}
	}
	return nil
}

// label stores a category feature's label as its code: an unknown label is
// missing when the schema says so, else refused, naming the known ones.
func (t *Table) label(row []float64, j int, s string, loc ...any) {
	if code, ok := t.s.labelIndex[j][s]; ok {
		row[j] = float64(code)
		return
	}
	if t.s.UnseenMissing {
		row[j] = math.NaN()
		return
	}
	t.Fail(Label, "Input should be one of the labels "+quoteLabels(t.s.Labels[j]), s, loc...)
}

// quoteLabels lists labels for a message: 'a', 'b' or 'c'.
func quoteLabels(labels []string) string {
	q := make([]string, len(labels))
	for i, l := range labels {
		q[i] = strconv.Quote(l)
	}
	if len(q) > 1 {
		return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
	}
	return strings.Join(q, "")
}
