package tree

import (
	"fmt"
	"math"
	"slices"

	"github.com/housectl/housectl/pkg/model"
)

// MaxBins is the size of a feature's histogram (codes are uint8): at
// most MaxBins-1 bins of values, and the missing code.
const MaxBins = 256

// MissingCode is the code of a missing value (NaN): past every value's
// code, since a feature has at most MaxBins-1 bins of values. A split
// sends it the way it learned (Node.Flags); where it learned none, it
// goes right, with the largest values.
const MissingCode = MaxBins - 1

// MaxFeatures bounds the number of features: a row's codes live on the
// stack during prediction.
const MaxFeatures = 512

// Binner maps raw values to bin codes. Edges[j] are feature j's ascending
// thresholds: code(x) is the first i with x <= Edges[j][i], or
// len(Edges[j]) when x is above all; NaN is MissingCode.
type Binner struct {
	Edges [][]float64

	// keys[j] holds Edges[j] as ordered integer keys, padded with the
	// largest key, for a binary search without branches (see Code).
	keys []*[MaxBins]int64
}

// newBinner returns a Binner over the given edges, sorted ascending.
func newBinner(edges [][]float64) *Binner {
	b := &Binner{Edges: edges, keys: make([]*[MaxBins]int64, len(edges))}
	for j, e := range edges {
		k := new([MaxBins]int64)
		for i := range k {
			k[i] = math.MaxInt64
		}
		for i, x := range e {
			k[i] = orderedKey(x)
		}
		b.keys[j] = k
	}
	return b
}

// lessMask is -1 (all ones) when a < b, else 0, without a branch.
func lessMask(a, b int64) int {
	var m int
	if a < b {
		m = 1
	}
	return -m
}

// orderedKey maps a non-NaN float to an integer that sorts like it, -0
// equal to +0. Integer comparisons compile to conditional moves, which a
// search over random values needs: a mispredicted branch per level costs
// more than the whole search.
func orderedKey(x float64) int64 {
	k := int64(math.Float64bits(x + 0)) // x + 0 turns -0 into +0
	if k < 0 {
		k ^= math.MaxInt64
	}
	return k
}

// NewBinner computes at most maxBins bins per feature from X: with few
// distinct values, the midpoints between consecutive ones; otherwise
// midpoints at evenly spaced quantiles (as scikit-learn's histogram
// estimators do). A category feature (levels[j] > 0 labels, its values
// label indexes) gets one bin per label, whatever maxBins, so its code is
// its label index; names are the features', for errors.
func NewBinner(X model.Matrix, maxBins int, levels []int, names []string) (*Binner, error) {
	if maxBins < 2 || maxBins > MaxBins-1 {
		return nil, fmt.Errorf("max_bins must be between 2 and %d, got %d", MaxBins-1, maxBins)
	}
	if X.Cols > MaxFeatures {
		return nil, fmt.Errorf("%d features: trees take at most %d", X.Cols, MaxFeatures)
	}
	all := make([][]float64, X.Cols)
	for j := range X.Cols {
		if j < len(levels) && levels[j] > 0 {
			if levels[j] > MaxBins-1 {
				name := fmt.Sprint("feature ", j)
				if j < len(names) {
					name = fmt.Sprintf("%q", names[j])
				}
				return nil, fmt.Errorf("category %s has %d labels: trees take at most %d; group the rare ones or make it a number", name, levels[j], MaxBins-1)
			}
			edges := make([]float64, levels[j]-1)
			for k := range edges {
				edges[k] = float64(k) + 0.5
			}
			all[j] = edges
			continue
		}
		// Missing values have a code of their own: the edges are the
		// values'.
		vals := slices.DeleteFunc(slices.Clone(X.Col(j)), math.IsNaN)
		slices.Sort(vals)
		distinct := slices.Compact(slices.Clone(vals))
		var edges []float64
		if len(distinct) <= maxBins {
			for i := 1; i < len(distinct); i++ {
				edges = append(edges, distinct[i-1]+(distinct[i]-distinct[i-1])/2)
			}
		} else if n := len(vals); n > 0 {
			for k := 1; k < maxBins; k++ {
				pos := float64(k) / float64(maxBins) * float64(n-1)
				lo := int(pos)
				hi := min(lo+1, n-1)
				e := vals[lo] + (vals[hi]-vals[lo])/2
				if len(edges) == 0 || e > edges[len(edges)-1] {
					edges = append(edges, e)
				}
			}
		}
		all[j] = edges
	}
	return newBinner(all), nil
}

// NumBins returns the number of bins of feature j.
func (b *Binner) NumBins(j int) int { return len(b.Edges[j]) + 1 }

// Code returns x's bin for feature j: the first i with x <= Edges[j][i];
// MissingCode for NaN.
func (b *Binner) Code(j int, x float64) uint8 {
	if x != x {
		return MissingCode
	}
	// The code is the number of edges below x: a fixed eight-step search
	// over the padded keys.
	k, t := orderedKey(x), b.keys[j]
	i := 0
	i += 128 & lessMask(t[127], k)
	i += 64 & lessMask(t[i+63], k)
	i += 32 & lessMask(t[i+31], k)
	i += 16 & lessMask(t[i+15], k)
	i += 8 & lessMask(t[i+7], k)
	i += 4 & lessMask(t[i+3], k)
	i += 2 & lessMask(t[i+1], k)
	i += 1 & lessMask(t[i&(MaxBins-1)], k)
	return uint8(i)
}

// Bin codes a whole matrix, column-major like X.
func (b *Binner) Bin(X model.Matrix) []uint8 {
	codes := make([]uint8, X.Rows*X.Cols)
	for j := range X.Cols {
		col, dst := X.Col(j), codes[j*X.Rows:(j+1)*X.Rows]
		for i, x := range col {
			dst[i] = b.Code(j, x)
		}
	}
	return codes
}

// Threshold is the raw value a split on (feature, bin) compares against.
func (b *Binner) Threshold(j int, bin uint8) float64 {
	if int(bin) < len(b.Edges[j]) {
		return b.Edges[j][bin]
	}
	return math.Inf(1)
}

// AppendBinary appends the edges.
func (b *Binner) AppendBinary(buf []byte) []byte {
	buf = model.AppendFloats(buf, []float64{float64(len(b.Edges))})
	for _, e := range b.Edges {
		buf = model.AppendFloats(buf, e)
	}
	return buf
}

// ReadBinner reads what AppendBinary wrote, for nfeat raw features and
// any even number of derived ones (two per rotation) after them.
func ReadBinner(r *model.Reader, nfeat int) (*Binner, error) {
	n := r.Floats(1)
	if len(n) != 1 || n[0] != math.Trunc(n[0]) || int(n[0]) < nfeat || (int(n[0])-nfeat)%2 != 0 || n[0] > MaxFeatures {
		return nil, fmt.Errorf("bin table for %v features, want %d (and two per rotation)", n, nfeat)
	}
	nb := int(n[0])
	edges := make([][]float64, nb)
	for j := range nb {
		edges[j] = r.Floats(MaxBins - 1)
		if slices.ContainsFunc(edges[j], math.IsNaN) || !slices.IsSorted(edges[j]) {
			return nil, fmt.Errorf("bin edges of feature %d are not sorted numbers", j)
		}
	}
	if r.Err() != nil {
		return nil, r.Err()
	}
	return newBinner(edges), nil
}
