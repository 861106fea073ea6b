package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	// (they are ignored) instead of listing each as a problem.
	AllowExtra bool
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
	switch {
	case len(raw) == 0 || string(raw) == "null":
		t.Fail(Null, "Input should be a finite number, not null", nil, loc...)
		return
	case raw[0] == '"':
		t.Fail(NotNum, "Input should be a valid number, not a string: send numbers unquoted", Unquote(raw), loc...)
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

// Text checks a cell given as text (CSV, or a JSON string).
func (t *Table) Text(row []float64, j int, s string, loc ...any) {
	s = strings.TrimSpace(s)
	if s == "" {
		t.Fail(Null, "Input should be a finite number, not empty", s, loc...)
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
	case math.IsNaN(v) || math.IsInf(v, 0):
		t.Fail(Finite, "Input should be a finite number", fmt.Sprint(v), loc...)
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
			if !t.AllowExtra {
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
		if !seen[j] {
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
	idx := make([]int, len(cols))
	seen := make(map[string]bool, len(cols))
	feats := t.s.Features
	for c, name := range cols {
		j, ok := t.s.index[name]
		idx[c] = j
		if !ok {
			idx[c] = -1
			if !t.AllowExtra {
				t.Fail(Extra, "Extra inputs are not permitted: the model's features are "+strings.Join(feats, ", "), nil, where, name)
			}
		}
		if seen[name] && (ok || !t.AllowExtra) {
			t.Fail(Repeated, "column given twice", nil, where, name)
		}
		seen[name] = true
	}
	for _, f := range feats {
		if !seen[f] {
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
		t.Fail(RowShape, fmt.Sprintf("row has %d values for %d columns", n, len(cols)), nil, loc...)
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
	if !ok {
		return nil
	}
	n := 0
	if len(data) > 0 {
		n = len(data[0])
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
