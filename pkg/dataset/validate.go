package dataset

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/housectl/housectl/pkg/config"
)

// Problem kinds.
const (
	KindMissingColumn   = "missing_column"
	KindExtraColumn     = "extra_column"
	KindDuplicateColumn = "duplicate_column"
	KindFieldCount      = "field_count"
	KindMalformed       = "malformed"
	KindEmptyCell       = "empty_cell"
	KindNonNumeric      = "non_numeric"
	KindNotFinite       = "not_finite"
	KindOutOfRange      = "out_of_range"
	KindUnknownCategory = "unknown_category"
	KindDuplicateRow    = "duplicate_row"
	KindNoRows          = "no_rows"
)

// Severities.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Problem is one thing wrong with the data.
type Problem struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	// Row is the 1-based data row; 0 for the header or the whole file.
	Row int `json:"row"`
	// Line is the 1-based line of the file where the row starts.
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Row > 0 {
		fmt.Fprintf(&b, "row %d (line %d)", p.Row, p.Line)
	} else if p.Line > 0 {
		fmt.Fprintf(&b, "line %d", p.Line)
	}
	if p.Column != "" {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "column %s", p.Column)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Report is the outcome of reading a file against a schema.
type Report struct {
	File     string         `json:"file"`
	Rows     int            `json:"rows"`
	Columns  []string       `json:"columns"`
	Errors   int            `json:"errors"`
	Warnings int            `json:"warnings"`
	Counts   map[string]int `json:"counts"`
	Problems []Problem      `json:"problems"`
	// Truncated is true when more problems of a kind were found than
	// Limit kept; Errors, Warnings and Counts still count them all.
	Truncated bool `json:"truncated"`
	limit     int
	kept      map[string]int // problems kept, by kind
}

// OK reports whether the data has no errors (warnings allowed).
func (r *Report) OK() bool { return r.Errors == 0 }

func (r *Report) add(p Problem) {
	if p.Severity == "" {
		p.Severity = SeverityError
	}
	if p.Severity == SeverityError {
		r.Errors++
	} else {
		r.Warnings++
	}
	r.Counts[p.Kind]++
	if !r.keeps(p.Kind) {
		r.Truncated = true
		return
	}
	if r.kept == nil {
		r.kept = map[string]int{}
	}
	r.kept[p.Kind]++
	r.Problems = append(r.Problems, p)
}

// keeps reports whether the next problem of kind would be listed (Limit
// per kind): a caller with a costly message builds it only then.
func (r *Report) keeps(kind string) bool {
	return r.limit <= 0 || r.kept[kind] < r.limit
}

// count counts a problem that is not listed.
func (r *Report) count(kind, severity string) {
	r.add(Problem{Kind: kind, Severity: severity})
}

// Frame is a parsed table in column-major order.
type Frame struct {
	// Names are the schema's columns, in schema order.
	Names []string
	Rows  int
	// Data holds column j at Data[j*Rows:(j+1)*Rows].
	Data []float64
}

// Col returns column j; the slice aliases Data.
func (f *Frame) Col(j int) []float64 { return f.Data[j*f.Rows : (j+1)*f.Rows] }

// Index returns the position of the named column, or -1.
func (f *Frame) Index(name string) int {
	for i, n := range f.Names {
		if n == name {
			return i
		}
	}
	return -1
}

// ReadOptions control Read.
type ReadOptions struct {
	Schema config.Schema
	// Name is the file name shown in the report.
	Name string
	// Limit caps the problems of each kind kept in the report (all are
	// counted); 0 keeps all.
	Limit int
	// SizeHint is the input's size in bytes, if known; it lets Read size
	// its buffers from the first row instead of growing them.
	SizeHint int64
}

// Read parses CSV data with a header row against the schema. It returns the
// frame of every row that parsed (cells with problems hold NaN) and a report
// of every problem. The error is non-nil only when the input cannot be read
// at all; bad data is reported, not returned as an error.
func Read(r io.Reader, opts ReadOptions) (*Frame, *Report, error) {
	s := opts.Schema
	// Ignored columns must be in the header, and nothing more.
	ignored := map[string]bool{}
	if slices.ContainsFunc(s.Columns, func(c config.Column) bool { return c.Ignore }) {
		s.Columns = slices.DeleteFunc(slices.Clone(s.Columns), func(c config.Column) bool {
			if c.Ignore {
				ignored[c.Name] = true
			}
			return c.Ignore
		})
	}
	rep := &Report{File: opts.Name, Counts: map[string]int{}, limit: opts.Limit, Problems: []Problem{}}
	cr := newCSVReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		rep.add(Problem{Kind: KindNoRows, Message: "the file is empty: it needs a header row and at least one data row"})
		return &Frame{}, rep, nil
	}
	var q errQuote
	if errors.As(err, &q) {
		rep.add(Problem{Kind: KindMalformed, Line: cr.start, Message: "header: " + q.msg})
		return &Frame{}, rep, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", opts.Name, err)
	}

	// Map file columns to schema columns.
	nfile := len(header)
	toSchema := make([]int, nfile) // file column -> schema index, or -1
	seen := make(map[string]int, nfile)
	for i, h := range header {
		name := strings.TrimSpace(string(h))
		rep.Columns = append(rep.Columns, name)
		toSchema[i] = -1
		if prev, dup := seen[name]; dup {
			rep.add(Problem{Kind: KindDuplicateColumn, Line: cr.start, Column: name,
				Message: fmt.Sprintf("header names %q twice (columns %d and %d): rename one", name, prev+1, i+1)})
			continue
		}
		seen[name] = i
		for j, c := range s.Columns {
			if c.Name == name {
				toSchema[i] = j
			}
		}
		if toSchema[i] < 0 && !ignored[name] {
			rep.add(Problem{Kind: KindExtraColumn, Line: cr.start, Column: name,
				Message: fmt.Sprintf("column %q is not in the schema: add it to schema.columns or drop it from the file", name)})
		}
	}
	for _, c := range opts.Schema.Columns {
		if _, ok := seen[c.Name]; !ok {
			rep.add(Problem{Kind: KindMissingColumn, Line: cr.start, Column: c.Name,
				Message: fmt.Sprintf("column %q of the schema is missing from the header", c.Name)})
		}
	}

	ncol := len(s.Columns)
	// Rows accumulate row-major in one slice (amortised growth, contiguous
	// rows for the duplicate check) and are transposed once at the end.
	var vals []float64
	cats := make([]map[string]float64, ncol)
	for j, c := range s.Columns {
		if c.Type == config.TypeCategory {
			cats[j] = make(map[string]float64, len(c.Values))
			for k, v := range c.Values {
				cats[j][v] = float64(k)
			}
		}
	}
	// Past the listed problems of a kind, the rest are only counted: their
	// messages are not built.
	describe := func(kind string) bool {
		if rep.keeps(kind) {
			return true
		}
		rep.count(kind, SeverityError)
		return false
	}
	row := 0
	var rowNum, rowLine []int32 // per frame row: data row and line, for duplicate reports
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.As(err, &q) {
			row++
			rep.add(Problem{Kind: KindMalformed, Row: row, Line: cr.start, Message: q.msg})
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s line %d: %w", opts.Name, cr.line, err)
		}
		row++
		if len(fields) != nfile {
			rep.add(Problem{Kind: KindFieldCount, Row: row, Line: cr.start,
				Message: fmt.Sprintf("has %d fields, the header has %d", len(fields), nfile)})
			continue
		}
		at := len(vals)
		if at+ncol > cap(vals) {
			vals = slices.Grow(vals, growBy(cap(vals), ncol, opts.SizeHint, cr.bytesPerRecord()))
		}
		for range ncol {
			vals = append(vals, math.NaN())
		}
		cur := vals[at : at+ncol]
		rowNum = append(rowNum, int32(row))
		rowLine = append(rowLine, int32(cr.start))
		for i, raw := range fields {
			j := toSchema[i]
			if j < 0 {
				continue
			}
			c := &s.Columns[j]
			cell := trimSpace(raw)
			if len(cell) == 0 {
				if !c.Nullable {
					rep.add(Problem{Kind: KindEmptyCell, Row: row, Line: cr.start, Column: c.Name,
						Message: "empty cell: fill it, drop the row, or mark the column nullable"})
				}
				continue
			}

			if cats[j] != nil {
				code, ok := cats[j][string(cell)]
				if !ok {
					if describe(KindUnknownCategory) {
						rep.add(Problem{Kind: KindUnknownCategory, Row: row, Line: cr.start, Column: c.Name, Value: string(cell),
							Message: fmt.Sprintf("%q is not one of the allowed values %s", cell, quoteList(c.Values))})
					}
					continue
				}
				cur[j] = code
				continue
			}
			// The string does not escape ParseFloat, whose errors we
			// replace with our own message.
			v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(cell), len(cell)), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				if describe(KindNonNumeric) {
					rep.add(Problem{Kind: KindNonNumeric, Row: row, Line: cr.start, Column: c.Name, Value: string(cell),
						Message: fmt.Sprintf("%q is not a number", cell)})
				}
				continue
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				if describe(KindNotFinite) {
					rep.add(Problem{Kind: KindNotFinite, Row: row, Line: cr.start, Column: c.Name, Value: string(cell),
						Message: fmt.Sprintf("%q is not a finite number", cell)})
				}
				continue
			}
			if (c.Min != nil && v < *c.Min) || (c.Max != nil && v > *c.Max) {
				if describe(KindOutOfRange) {
					rep.add(Problem{Kind: KindOutOfRange, Row: row, Line: cr.start, Column: c.Name, Value: string(cell),
						Message: fmt.Sprintf("%s is outside the allowed range %s", cell, rangeText(c.Min, c.Max))})
				}
			}
			cur[j] = v
		}
	}
	rep.Rows = row
	if row == 0 {
		rep.add(Problem{Kind: KindNoRows, Message: "no data rows after the header"})
	}

	f := &Frame{Names: make([]string, ncol), Rows: len(rowNum)}
	f.Data = make([]float64, ncol*f.Rows)
	for j, c := range s.Columns {
		f.Names[j] = c.Name
		col := f.Data[j*f.Rows : (j+1)*f.Rows]
		for i := range col {
			col[i] = vals[i*ncol+j]
		}
	}
	if s.Duplicates != config.DuplicatesAllow {
		sev := SeverityWarning
		if s.Duplicates == config.DuplicatesError {
			sev = SeverityError
		}
		duplicateRows(vals, ncol, func(first, repeat int) {
			if !rep.keeps(KindDuplicateRow) {
				rep.count(KindDuplicateRow, sev)
				return
			}
			rep.add(Problem{Kind: KindDuplicateRow, Severity: sev, Row: int(rowNum[repeat]), Line: int(rowLine[repeat]),
				Message: fmt.Sprintf("repeats row %d (line %d) exactly", rowNum[first], rowLine[first])})
		})
	}
	return f, rep, nil
}

// growBy says how many values to add to a buffer of capacity have: the
// estimated total when the input size is known, else as many as it holds
// (doubling, so that growing costs at most twice the final size).
func growBy(have, ncol int, sizeHint int64, bytesPerRow float64) int {
	if have == 0 && sizeHint > 0 && bytesPerRow > 0 {
		return int(float64(sizeHint)/bytesPerRow*1.05+16) * ncol
	}
	return max(have, 1024*ncol)
}

// duplicateRows calls found with each pair (first, repeat) of 0-based
// rows of the row-major vals (ncol values a row) whose cells are
// bit-for-bit equal, in the order of the repeats.
func duplicateRows(vals []float64, ncol int, found func(first, repeat int)) {
	if ncol == 0 || len(vals) == 0 {
		return
	}
	rows := len(vals) / ncol
	first := make(map[uint64]int, rows)
	for i := range rows {
		r := vals[i*ncol : (i+1)*ncol]
		h := uint64(14695981039346656037)
		for _, v := range r {
			h ^= math.Float64bits(v)
			h *= 1099511628211
			h ^= h >> 29
		}
		prev, ok := first[h]
		if !ok {
			first[h] = i
			continue
		}
		p := vals[prev*ncol : (prev+1)*ncol]
		same := true
		for j := range r {
			if math.Float64bits(r[j]) != math.Float64bits(p[j]) {
				same = false
				break
			}
		}
		if same {
			found(prev, i)
		}
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func rangeText(lo, hi *float64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("[%g, %g]", *lo, *hi)
	case lo != nil:
		return fmt.Sprintf("[%g, +inf)", *lo)
	case hi != nil:
		return fmt.Sprintf("(-inf, %g]", *hi)
	}
	return "(-inf, +inf)"
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
