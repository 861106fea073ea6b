package dataset

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/housectl/housectl/pkg/config"
)

// InferOptions configure Infer.
type InferOptions struct {
	// Target is the column to predict; it must be numeric.
	Target string
	// MaxCategories is the most distinct labels a text column may have to
	// be proposed as a category (default 50); past it, the column looks
	// like an id or free text, and is proposed as ignored.
	MaxCategories int
	// Name names the input in messages.
	Name string
}

// Inferred is a proposed schema section and what was seen.
type Inferred struct {
	Schema config.Schema
	Rows   int
	// Warnings name the columns proposed as ignored, and why, and other
	// things to check by hand.
	Warnings []string
}

// colStats is what Infer keeps of one column.
type colStats struct {
	name          string
	empty         int
	numbers       int // cells that parse as a finite number
	min, max      float64
	integers      bool // every number is a whole number
	increasing    bool // each number is greater than the one before
	last          float64
	labels        map[string]int // distinct non-empty cells, up to a bound
	tooManyLabels bool
}

var idName = regexp.MustCompile(`(?i)(^|[_\s-])(id|uuid|guid|key|index|idx)$|^(id|uuid|guid)([_\s-]|$)`)

// Infer reads a CSV (header, then rows; quotes, CRLF and a UTF-8 BOM as
// the reader takes them) and proposes its schema: each column a number
// (every non-empty cell a finite number) with its observed range, or a
// category with its labels; nullable where a cell is empty. A column that
// is empty throughout, constant, or looks like an id (distinct whole
// numbers counting up, or a name like id; or text with more distinct
// labels than MaxCategories) is proposed with ignore: true and a warning.
func Infer(r io.Reader, o InferOptions) (*Inferred, error) {
	if o.MaxCategories <= 0 {
		o.MaxCategories = 50
	}
	cr := newCSVReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s is empty: it needs a header row and at least one data row", o.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", o.Name, err)
	}
	cols := make([]*colStats, len(header))
	seen := map[string]int{}
	for i, h := range header {
		name := strings.TrimSpace(string(h))
		if name == "" {
			return nil, fmt.Errorf("%s: column %d has no name in the header: name it", o.Name, i+1)
		}
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s: the header names %q twice (columns %d and %d): rename one", o.Name, name, j+1, i+1)
		}
		seen[name] = i
		cols[i] = &colStats{name: name, integers: true, increasing: true, min: math.Inf(1), max: math.Inf(-1), labels: map[string]int{}}
	}
	if _, ok := seen[o.Target]; !ok {
		return nil, fmt.Errorf("%s has no column %q to predict: its columns are %s", o.Name, o.Target, strings.Join(slices.Collect(func(yield func(string) bool) {
			for _, c := range cols {
				if !yield(c.name) {
					return
				}
			}
		}), ", "))
	}
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", o.Name, cr.start, err)
		}
		if len(rec) == 1 && len(rec[0]) == 0 && len(cols) > 1 {
			continue // a blank line
		}
		if len(rec) != len(cols) {
			return nil, fmt.Errorf("%s: line %d has %d fields, the header %d: fix the row (a stray comma, or an unquoted one)", o.Name, cr.start, len(rec), len(cols))
		}
		rows++
		for i, cell := range rec {
			c := cols[i]
			v := strings.TrimSpace(string(cell))
			if v == "" {
				c.empty++
				continue
			}
			if !c.tooManyLabels {
				c.labels[v]++
				if len(c.labels) > max(o.MaxCategories, 1000) {
					c.tooManyLabels = true
				}
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			if c.numbers > 0 && x <= c.last {
				c.increasing = false
			}
			c.numbers++
			c.last = x
			c.min, c.max = min(c.min, x), max(c.max, x)
			if x != math.Trunc(x) {
				c.integers = false
			}
		}
	}
	if rows == 0 {
		return nil, fmt.Errorf("%s has a header and no data rows: a schema needs at least one", o.Name)
	}
	inf := &Inferred{Rows: rows, Schema: config.Schema{Target: o.Target, Duplicates: config.DuplicatesWarn}}
	for _, c := range cols {
		col, warn := c.propose(rows, o)
		inf.Schema.Columns = append(inf.Schema.Columns, col)
		if warn != "" {
			inf.Warnings = append(inf.Warnings, warn)
		}
	}
	t, _ := inf.Schema.Column(o.Target)
	switch {
	case t.Type != config.TypeNumber:
		return nil, fmt.Errorf("%s: the target %q is not numeric (%s): housectl regresses on a number", o.Name, o.Target, describeLabels(cols[seen[o.Target]]))
	case t.Ignore:
		return nil, fmt.Errorf("%s: the target %q is %s", o.Name, o.Target, strings.TrimPrefix(inf.Warnings[len(inf.Warnings)-1], "column "+strconv.Quote(o.Target)+" "))
	case t.Nullable:
		inf.Warnings = append(inf.Warnings, fmt.Sprintf("the target %q is empty in %d row(s): housectl cannot learn from them; fill or drop them", o.Target, cols[seen[o.Target]].empty))
	}
	if len(inf.Schema.Features()) == 0 {
		inf.Warnings = append(inf.Warnings, "no column is left as a feature: un-ignore one")
	}
	return inf, nil
}

func describeLabels(c *colStats) string {
	labels := slices.Sorted(func(yield func(string) bool) {
		for l := range c.labels {
			if !yield(l) {
				return
			}
		}
	})
	if len(labels) > 3 {
		labels = append(labels[:3], "…")
	}
	return "values such as " + strings.Join(labels, ", ")
}

// propose is a column's schema entry, and a warning when it is ignored.
func (c *colStats) propose(rows int, o InferOptions) (config.Column, string) {
	col := config.Column{Name: c.name, Type: config.TypeNumber, Nullable: c.empty > 0}
	filled := rows - c.empty
	ignore := func(format string, args ...any) (config.Column, string) {
		col.Ignore = true
		col.Min, col.Max, col.Values = nil, nil, nil
		if col.Type == config.TypeCategory {
			col.Type = config.TypeNumber // an ignored column is not read: its type is moot
		}
		return col, fmt.Sprintf("column %q "+format+": proposed as ignore: true", append([]any{c.name}, args...)...)
	}
	switch {
	case filled == 0:
		return ignore("is empty in all %d rows", rows)
	case c.numbers == filled:
		lo, hi := c.min, c.max
		col.Min, col.Max = &lo, &hi
		if c.name == o.Target {
			return col, ""
		}
		if rows > 1 && len(c.labels) == 1 && !c.tooManyLabels && c.empty == 0 {
			return ignore("holds one value, %s, in every row: it carries nothing to learn", strconv.FormatFloat(lo, 'g', -1, 64))
		}
		distinct := !c.tooManyLabels && len(c.labels) == filled
		if filled > 1 && c.integers && (distinct || c.tooManyLabels && c.increasing) && (c.increasing || idName.MatchString(c.name)) {
			return ignore("looks like an id (whole numbers, each different%s)", map[bool]string{true: ", counting up", false: ""}[c.increasing])
		}
		return col, ""
	}
	col.Type = config.TypeCategory
	if c.tooManyLabels || len(c.labels) > o.MaxCategories {
		n := strconv.Itoa(len(c.labels))
		if c.tooManyLabels {
			n = "over " + n
		}
		return ignore("is text with %s distinct values in %d rows (more than %d): an id or free text, not a category", n, rows, o.MaxCategories)
	}
	if rows > 1 && len(c.labels) == 1 && c.empty == 0 {
		for l := range c.labels {
			return ignore("holds one value, %q, in every row: it carries nothing to learn", l)
		}
	}
	if c.numbers > 0 {
		// Mostly text with some numbers: a category whose labels include
		// the numbers as written.
		col.Values = labelsByCount(c.labels)
		return col, fmt.Sprintf("column %q mixes numbers (%d cells) and text (%d cells): proposed as a category of all %d labels; check it", c.name, c.numbers, filled-c.numbers, len(c.labels))
	}
	col.Values = labelsByCount(c.labels)
	return col, ""
}

// labelsByCount lists labels, the most frequent first (ties by label).
func labelsByCount(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	return out
}
