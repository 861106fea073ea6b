// Package tree holds the histogram regression tree that the random forest
// and gradient boosting share: feature binning, the grower, and the flat
// tree used for prediction.
//
// Features are binned once into at most 255 bins (uint8 codes). A split
// sends code <= Bin to the left. A tree is a flat slice of 8-byte nodes in
// preorder (the left child follows its parent), leaf values apart; a row
// is binned once per prediction and the walk compares small integers, so
// prediction does not allocate.
//
// Batches (PredictBatch) sum each tree over a block of rows in one of three
// layouts: leaf masks for trees of at most 64 leaves (fast.go), packed
// 32-bit nodes walked a vector of rows at a time (walk.go, with AVX-512 and
// AVX2 kernels in walk_amd64.s), or the eight-lane walk over the nodes for
// trees that fit neither. One row (Predict) walks all the trees of an
// ensemble side by side over one packed array (Ensemble.Prepare). Every
// layout adds the trees in order, so a batch gives the same bits as
// Predict.
package tree

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/housectl/housectl/pkg/model"
)

// MaxBins is the most bins a feature can have (codes are uint8).
const MaxBins = 256

// MaxFeatures bounds the number of features: a row's codes live on the
// stack during prediction.
const MaxFeatures = 512

// Binner maps raw values to bin codes. Edges[j] are feature j's ascending
// thresholds: code(x) is the first i with x <= Edges[j][i], or
// len(Edges[j]) when x is above all (NaN falls in the last bin).
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
// estimators do).
func NewBinner(X model.Matrix, maxBins int) (*Binner, error) {
	if maxBins < 2 || maxBins > MaxBins {
		return nil, fmt.Errorf("max_bins must be between 2 and %d, got %d", MaxBins, maxBins)
	}
	if X.Cols > MaxFeatures {
		return nil, fmt.Errorf("%d features: trees take at most %d", X.Cols, MaxFeatures)
	}
	all := make([][]float64, X.Cols)
	for j := range X.Cols {
		vals := slices.Clone(X.Col(j))
		slices.Sort(vals)
		distinct := slices.Compact(slices.Clone(vals))
		var edges []float64
		if len(distinct) <= maxBins {
			for i := 1; i < len(distinct); i++ {
				edges = append(edges, distinct[i-1]+(distinct[i]-distinct[i-1])/2)
			}
		} else {
			n := len(vals)
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

// Code returns x's bin for feature j: the first i with x <= Edges[j][i]
// (NaN, above every edge, falls in the last bin).
func (b *Binner) Code(j int, x float64) uint8 {
	if x != x {
		return uint8(len(b.Edges[j]))
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

// predictBlocks sums trees over many rows fast: rows are binned in blocks,
// and each tree is applied to a whole block before the next (it stays in
// cache); blocks are shared among workers. The sum for each row is taken
// in tree order, so results do not depend on the workers or the layouts.
func predictBlocks(e *Ensemble, X model.Matrix, dst []float64, workers int) {
	b, trees, base, scale := e.Binner, e.Trees, e.Base, e.Scale
	workers = max(1, workers)
	var walked, plain bool
	for _, t := range trees {
		walked = walked || t.packed != nil
		plain = plain || (t.packed == nil && t.masks == nil)
	}
	// Leaf masks work best on blocks whose scratch stays in L1. A walked
	// tree is fetched into cache once per block, so those take one block
	// per worker, up to 4,096 rows.
	block := 256
	if walked || plain {
		block = min(4096, (X.Rows+workers-1)/workers)
		block = max(laneGroup, (block+laneGroup-1)/laneGroup*laneGroup)
	}
	nblocks := (X.Rows + block - 1) / block
	work := make(chan int, nblocks)
	for i := range nblocks {
		work <- i
	}
	close(work)
	nraw, p := X.Cols, len(b.Edges)
	run := func() {
		cols := make([]uint8, p*block) // column-major within the block
		var codes, lanes []uint8
		var exit []int32
		if plain {
			codes = make([]uint8, block*p) // row-major, for sumBlock
		}
		if walked {
			lanes = make([]uint8, block*laneStride+4) // for walkRows
			exit = make([]int32, block)
		}
		acc := make([]float64, block)
		m := make([]uint64, block)
		var u, v []float64
		if len(e.Rotations) > 0 {
			u, v = make([]float64, block), make([]float64, block)
		}
		for bi := range work {
			start := bi * block
			n := min(block, X.Rows-start)
			for j := range nraw {
				col, dst := X.Col(j)[start:start+n], cols[j*block:j*block+n]
				for i, x := range col {
					dst[i] = b.Code(j, x)
				}
			}
			for k, r := range e.Rotations {
				a, c := X.Col(r.A)[start:start+n], X.Col(r.B)[start:start+n]
				for i := range a {
					u[i], v[i] = r.Apply(a[i], c[i])
				}
				j := nraw + 2*k
				for i := range n {
					cols[j*block+i] = b.Code(j, u[i])
					cols[(j+1)*block+i] = b.Code(j+1, v[i])
				}
			}
			if plain {
				for j := range p {
					for i, c := range cols[j*block : j*block+n] {
						codes[i*p+j] = c
					}
				}
			}
			npad := (n + laneGroup - 1) / laneGroup * laneGroup
			if walked {
				for j := range min(p, laneStride) {
					for i, c := range cols[j*block : j*block+n] {
						lanes[i*laneStride+j] = c
					}
				}
			}
			clear(acc[:n])
			// Trees are added in order whatever their layout, so the sum
			// has the same bits as Predict's.
			for k := 0; k < len(trees); {
				e := k + 1
				for e < len(trees) && layout(trees[e]) == layout(trees[k]) {
					e++
				}
				switch layout(trees[k]) {
				case byMasks:
					for _, t := range trees[k:e] {
						sumMasks(t, cols, block, n, m, acc)
					}
				case byWalk:
					sumWalked(trees[k:e], lanes[:npad*laneStride+4], exit[:npad], n, acc)
				default:
					sumBlock(trees[k:e], codes, p, n, acc[:n])
				}
				k = e
			}
			for r := range n {
				dst[start+r] = base + acc[r]*scale
			}
		}
	}
	workers = min(workers, nblocks)
	if workers == 1 {
		run()
		return
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(run)
	}
	wg.Wait()
}

// The ways predictBlocks sums a tree.
const (
	byMasks = iota // leaf masks (at most 64 leaves)
	byWalk         // the packed walk
	byNodes        // the eight-lane walk over nodes, for the rest
)

func layout(t *Tree) int {
	switch {
	case t.masks != nil:
		return byMasks
	case t.packed != nil:
		return byWalk
	}
	return byNodes
}
