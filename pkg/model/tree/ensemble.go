package tree

import (
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/housectl/housectl/pkg/model"
)

// Ensemble is the prediction side of a tree ensemble:
// Base + Scale·Σ trees. A random forest is Base 0, Scale 1/len(Trees);
// gradient boosting is its initial prediction and Scale 1.
type Ensemble struct {
	Binner *Binner
	Trees  []*Tree
	Base   float64
	Scale  float64
	// Gain is each binned feature's total split gain (raw features, then
	// two per rotation), for importances.
	Gain []float64
	// Rotations derive features from the raw ones; their bins follow the
	// raw features' in Binner.
	Rotations []Rotation

	row *rowPack // one-row layout, set by Prepare for these Trees
	// missLeft: some split sends missing values left, which the fast
	// layouts do not know (they send MissingCode right, with the largest
	// values). A row with a missing value then walks the nodes instead.
	missLeft bool
	// sets: some tree splits on category sets, which only the plain walk
	// and leaf masks evaluate. One row then walks the nodes.
	sets bool
}

// learnedMissing reports whether any split of the trees sends missing
// values left.
func learnedMissing(trees []*Tree) bool {
	for _, t := range trees {
		for _, n := range t.Nodes {
			if n.Feature != leafFeature && n.Flags&MissingLeft != 0 {
				return true
			}
		}
	}
	return false
}

// Prepare builds the prediction layouts once the trees are final (a fit
// or a load ends with it): each tree's (see the package doc), then the row
// pack of them all. No tree may change afterwards (Tree.Scale panics).
// Predict and PredictBatch work without it, more slowly.
func (e *Ensemble) Prepare() {
	for _, t := range e.Trees {
		t.prepare()
	}
	e.missLeft = learnedMissing(e.Trees)
	e.sets = slices.ContainsFunc(e.Trees, (*Tree).HasSets)
	if !e.sets {
		e.row = packRows(e.Trees)
	}
}

// NumFeatures is the number of raw inputs.
func (e *Ensemble) NumFeatures() int { return len(e.Binner.Edges) - 2*len(e.Rotations) }

// Predict bins the row on the stack and sums the trees. It does not
// allocate, and adds in the same order as PredictBatch, so both give the
// same bits.
func (e *Ensemble) Predict(row []float64) float64 {
	var buf [MaxFeatures]uint8
	codes := buf[:len(e.Binner.Edges)]
	p := e.NumFeatures()
	for j := range p {
		codes[j] = e.Binner.Code(j, row[j])
	}
	for k, r := range e.Rotations {
		u, v := r.Apply(row[r.A], row[r.B])
		codes[p+2*k] = e.Binner.Code(p+2*k, u)
		codes[p+2*k+1] = e.Binner.Code(p+2*k+1, v)
	}
	if e.sets || e.row == nil && slices.ContainsFunc(e.Trees, (*Tree).HasSets) ||
		(e.missLeft || e.row == nil && learnedMissing(e.Trees)) && slices.Contains(codes, MissingCode) {
		// Category sets, or a missing value where a split learned to send
		// it left: walk the nodes, summing in tree order as the batch path
		// does.
		var s float64
		for _, t := range e.Trees {
			s += t.Predict(codes)
		}
		return e.Base + s*e.Scale
	}
	if rp := e.row; rp != nil && len(rp.roots) == len(e.Trees) {
		return e.Base + rp.sum((*[laneStride]uint8)(buf[:laneStride]))*e.Scale
	}
	return e.Base + SumRow(e.Trees, codes)*e.Scale
}

// PredictBatch predicts every row of X into dst, on every CPU.
func (e *Ensemble) PredictBatch(X model.Matrix, dst []float64) {
	predictBlocks(e, X, dst, runtime.GOMAXPROCS(0))
}

// Importances are each raw feature's share of the split gain (a rotated
// feature's gain shared by its pair).
func (e *Ensemble) Importances() []float64 {
	out := FoldGain(e.Gain, e.NumFeatures(), e.Rotations)
	var s float64
	for _, v := range out {
		s += v
	}
	if s > 0 {
		for i, v := range out {
			out[i] = v / s
		}
	}
	return out
}

// AppendBinary appends bins, base, scale, gains and the trees, then the
// rotations when there are any (a payload without them reads as none).
func (e *Ensemble) AppendBinary(b []byte) []byte {
	b = e.Binner.AppendBinary(b)
	b = model.AppendFloats(b, []float64{e.Base, e.Scale})
	b = model.AppendFloats(b, e.Gain)
	b = model.AppendFloats(b, []float64{float64(len(e.Trees))})
	for _, t := range e.Trees {
		b = t.AppendBinary(b)
	}
	if len(e.Rotations) > 0 {
		rs := make([]float64, 0, 3*len(e.Rotations))
		for _, r := range e.Rotations {
			rs = append(rs, float64(r.A), float64(r.B), r.Degrees)
		}
		b = model.AppendFloats(b, rs)
	}
	return b
}

// ReadEnsemble reads a whole payload written by AppendBinary.
func ReadEnsemble(payload []byte, nfeat int) (*Ensemble, error) {
	r := model.NewReader(payload)
	binner, err := ReadBinner(r, nfeat)
	if err != nil {
		return nil, err
	}
	nbinned := len(binner.Edges)
	e := &Ensemble{Binner: binner}
	bs := r.Floats(2)
	e.Gain = r.Floats(nbinned)
	nt := r.Floats(1)
	if r.Err() != nil || len(bs) != 2 || len(e.Gain) != nbinned || len(nt) != 1 || nt[0] < 1 || nt[0] > 1e6 {
		return nil, fmt.Errorf("bad ensemble header")
	}
	e.Base, e.Scale = bs[0], bs[1]
	for range int(nt[0]) {
		t, err := ReadTree(r, nbinned)
		if err != nil {
			return nil, err
		}
		e.Trees = append(e.Trees, t)
	}
	if nrot := (nbinned - nfeat) / 2; nrot > 0 {
		rs := r.Floats(3 * nrot)
		if len(rs) != 3*nrot {
			return nil, fmt.Errorf("%d derived features without their rotations", 2*nrot)
		}
		for k := range nrot {
			a, b := rs[3*k], rs[3*k+1]
			if a != math.Trunc(a) || b != math.Trunc(b) || a >= float64(nfeat) || b >= float64(nfeat) {
				return nil, fmt.Errorf("rotation %d: features %v and %v out of range", k, a, b)
			}
			rot, err := NewRotation(int(a), int(b), rs[3*k+2])
			if err != nil {
				return nil, fmt.Errorf("rotation %d: %w", k, err)
			}
			e.Rotations = append(e.Rotations, rot)
		}
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	e.Prepare()
	return e, nil
}
