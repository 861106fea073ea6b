// Package input turns rows of named features into a model's input matrix,
// with one validation policy wherever rows come from: every protocol of
// the server (JSON objects, positional arrays, named columns, CSV, OIP
// tensors) and batch predict's CSV and JSON-lines files.
//
// Nouns:
//   - Schema: what a model takes: its features in order and the range of
//     each (the training range widened, and the configuration's).
//   - Table: rows being read into the schema's order, and the problems
//     found, each a Problem shaped like pydantic's (loc, msg, type).
//   - JSON: a reader of a JSON body token by token (jsontext), so that a
//     batch stops at its row limit.
//
// The policy: a number is a JSON number, or the text of one in CSV; null,
// an empty cell, NaN and ±Inf are refused; a value outside its feature's
// range is refused; every problem is listed (up to MaxListed) and counted.
// A row limit is a TooManyError; malformed input a SyntaxError; invalid
// fields an InvalidError.
package input

import (
	"fmt"
	"math"
	"slices"

	"github.com/housectl/housectl/pkg/model"
)

// Bounds are extra per-feature limits [min, max] (from the configuration's
// schema).
type Bounds map[string][2]float64

// Schema is what a model takes.
type Schema struct {
	// Features are the names, in the model's order.
	Features []string
	// Lo and Hi bound each feature (±Inf: unbounded).
	Lo, Hi []float64
	// Ignore is a key an object may carry besides the features, which is
	// skipped: the unit key of a traffic split, say ("": none).
	Ignore string
	// Nullable marks the features that may be missing (the model's
	// header says which): null, an empty cell, NaN or an absent key is a
	// missing value (NaN), which the model handles as it learned to.
	Nullable []bool
	// Labels are each category feature's labels (nil for a number): its
	// value is the label's index. UnseenMissing takes a label the model
	// does not know as a missing value; otherwise it is refused.
	Labels        [][]string
	labelIndex    []map[string]int
	UnseenMissing bool
	index         map[string]int
}

// NewSchema makes the schema of a model whose header is h: each feature
// bounded by its training range widened by tol of its width on each side
// (tol < 0: no training bound), intersected with bounds.
func NewSchema(h model.Header, tol float64, bounds Bounds) (*Schema, error) {
	p := len(h.Features)
	if p == 0 {
		return nil, fmt.Errorf("the model names no features")
	}
	s := &Schema{Features: h.Features, Lo: make([]float64, p), Hi: make([]float64, p), Nullable: make([]bool, p), index: make(map[string]int, p)}
	for j, f := range h.Features {
		if _, dup := s.index[f]; dup {
			return nil, fmt.Errorf("the model names feature %q twice", f)
		}
		s.index[f] = j
		s.Lo[j], s.Hi[j] = math.Inf(-1), math.Inf(1)
		if tol >= 0 && j < len(h.Training) && h.Training[j].Name == f {
			st := h.Training[j]
			w := (st.Max - st.Min) * tol
			s.Lo[j], s.Hi[j] = st.Min-w, st.Max+w
		}
		if b, ok := bounds[f]; ok {
			s.Lo[j], s.Hi[j] = math.Max(s.Lo[j], b[0]), math.Min(s.Hi[j], b[1])
		}
		s.Nullable[j] = slices.Contains(h.Nullable, f)
		if labels, ok := h.Categories[f]; ok {
			if s.Labels == nil {
				s.Labels, s.labelIndex = make([][]string, p), make([]map[string]int, p)
			}
			s.Labels[j], s.labelIndex[j] = labels, make(map[string]int, len(labels))
			for i, l := range labels {
				s.labelIndex[j][l] = i
			}
		}
	}
	return s, nil
}

// Index returns a feature's position.
func (s *Schema) Index(name string) (int, bool) {
	j, ok := s.index[name]
	return j, ok
}

// nullable reports whether feature j may be missing.
func (s *Schema) nullable(j int) bool { return j < len(s.Nullable) && s.Nullable[j] }

// category reports whether feature j takes labels.
func (s *Schema) category(j int) bool { return s.Labels != nil && s.Labels[j] != nil }
