package tree

import (
	"fmt"
	"runtime"

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
	// Gain is each feature's total split gain, for importances.
	Gain []float64
}

// NumFeatures is the number of inputs.
func (e *Ensemble) NumFeatures() int { return len(e.Binner.Edges) }

// Predict bins the row on the stack and sums the trees. It does not
// allocate, and adds in the same order as PredictBatch, so both give the
// same bits.
func (e *Ensemble) Predict(row []float64) float64 {
	var buf [MaxFeatures]uint8
	codes := buf[:len(e.Binner.Edges)]
	for j := range codes {
		codes[j] = e.Binner.Code(j, row[j])
	}
	return e.Base + SumRow(e.Trees, codes)*e.Scale
}

// PredictBatch predicts every row of X into dst, on every CPU.
func (e *Ensemble) PredictBatch(X model.Matrix, dst []float64) {
	predictBlocks(e.Binner, e.Trees, X, dst, e.Base, e.Scale, runtime.GOMAXPROCS(0))
}

// Importances are each feature's share of the split gain.
func (e *Ensemble) Importances() []float64 {
	out := make([]float64, len(e.Gain))
	var s float64
	for _, v := range e.Gain {
		s += v
	}
	if s > 0 {
		for i, v := range e.Gain {
			out[i] = v / s
		}
	}
	return out
}

// AppendBinary appends bins, base, scale, gains and the trees.
func (e *Ensemble) AppendBinary(b []byte) []byte {
	b = e.Binner.AppendBinary(b)
	b = model.AppendFloats(b, []float64{e.Base, e.Scale})
	b = model.AppendFloats(b, e.Gain)
	b = model.AppendFloats(b, []float64{float64(len(e.Trees))})
	for _, t := range e.Trees {
		b = t.AppendBinary(b)
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
	e := &Ensemble{Binner: binner}
	bs := r.Floats(2)
	e.Gain = r.Floats(nfeat)
	nt := r.Floats(1)
	if r.Err() != nil || len(bs) != 2 || len(e.Gain) != nfeat || len(nt) != 1 || nt[0] < 1 || nt[0] > 1e6 {
		return nil, fmt.Errorf("bad ensemble header")
	}
	e.Base, e.Scale = bs[0], bs[1]
	for range int(nt[0]) {
		t, err := ReadTree(r, nfeat)
		if err != nil {
			return nil, err
		}
		e.Trees = append(e.Trees, t)
	}
	return e, r.Done()
}
