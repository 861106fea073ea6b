package model

import (
	"math"
	"testing"
)

// Missing values are counted and left out of a column's statistics; a
// column with none missing is summarized as before.
func TestSummarizeLeavesMissingOut(t *testing.T) {
	nan := math.NaN()
	X := Matrix{Rows: 5, Cols: 2, Data: []float64{1, nan, 3, nan, 5, nan, nan, nan, nan, nan}}
	s := Summarize(X, []float64{1, 2, 3, 4, 5}, []string{"a", "b"}, "y")
	a, b, y := s[0], s[1], s[2]
	if a.Count != 3 || a.Missing != 2 || a.Mean != 3 || a.Min != 1 || a.Max != 5 || a.Deciles[10] != 5 {
		t.Errorf("a: %+v", a)
	}
	if b.Count != 0 || b.Missing != 5 || b.Mean != 0 || len(b.Deciles) != 0 {
		t.Errorf("an all-missing column: %+v", b)
	}
	if y.Count != 5 || y.Missing != 0 || y.Mean != 3 {
		t.Errorf("y: %+v", y)
	}
}
