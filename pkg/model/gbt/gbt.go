// Package gbt fits histogram-based gradient-boosted regression trees with
// the least-squares loss, as scikit-learn's HistGradientBoostingRegressor
// does: features binned to at most 255 bins, trees grown leaf-wise,
// shrinkage, L2 regularisation, and early stopping on a held-out
// validation fraction.
package gbt

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/model/tree"
)

// Kind is the model kind name.
const Kind = "gradient_boosting"

// Params configure the fit.
type Params struct {
	LearningRate float64 `json:"learning_rate"`
	MaxIter      int     `json:"max_iter"`
	// MaxLeafNodes bounds each tree's leaves (grown best-first); 0 means
	// unbounded (then MaxDepth should be set).
	MaxLeafNodes   int     `json:"max_leaf_nodes"`
	MaxDepth       int     `json:"max_depth"`
	MinSamplesLeaf int     `json:"min_samples_leaf"`
	L2             float64 `json:"l2_regularization"`
	MaxBins        int     `json:"max_bins"`
	// MaxFeatures is the fraction of features each split considers, drawn
	// at random (1: all).
	MaxFeatures float64 `json:"max_features"`
	// Subsample is the fraction of training rows each tree sees, drawn
	// without replacement (stochastic gradient boosting; 1: all).
	Subsample float64 `json:"subsample"`
	// EarlyStopping holds out ValidationFraction of the rows and stops when
	// the validation loss has not improved by Tol for NIterNoChange
	// iterations; the model keeps the best iteration's trees.
	EarlyStopping      bool    `json:"early_stopping"`
	ValidationFraction float64 `json:"validation_fraction"`
	NIterNoChange      int     `json:"n_iter_no_change"`
	Tol                float64 `json:"tol"`
	// Rotations add rotated copies of feature pairs as extra split
	// candidates (see tree.Rotation); the model computes them itself.
	Rotations []Rotation `json:"rotations"`
}

// Rotation asks for a feature pair rotated by each of Angles (degrees,
// strictly between 0 and 90): two derived features per angle.
type Rotation struct {
	Features []string  `json:"features"`
	Angles   []float64 `json:"angles"`
}

// maxRotations bounds the derived features (two each).
const maxRotations = 32

// rotations resolves the configured rotations against the feature names.
func (p Params) rotations(features []string) ([]tree.Rotation, error) {
	var out []tree.Rotation
	for i, r := range p.Rotations {
		if len(r.Features) != 2 || r.Features[0] == r.Features[1] {
			return nil, fmt.Errorf("rotations[%d].features must name two different features, got %q", i, r.Features)
		}
		if len(r.Angles) == 0 {
			return nil, fmt.Errorf("rotations[%d].angles is empty: give angles in degrees, e.g. [15, 30, 45, 60]", i)
		}
		idx := [2]int{-1, -1}
		for k, name := range r.Features {
			idx[k] = slices.Index(features, name)
			if idx[k] < 0 && features != nil {
				return nil, fmt.Errorf("rotations[%d]: no feature %q in the data (it has %s)", i, name, strings.Join(features, ", "))
			}
		}
		if features == nil {
			idx = [2]int{0, 1} // without names (Validate): check the angles on stand-ins
		}
		for _, a := range r.Angles {
			rot, err := tree.NewRotation(idx[0], idx[1], a)
			if err != nil {
				return nil, fmt.Errorf("rotations[%d]: %w", i, err)
			}
			out = append(out, rot)
		}
	}
	if len(out) > maxRotations {
		return nil, fmt.Errorf("%d rotations: at most %d", len(out), maxRotations)
	}
	return out, nil
}

// CheckFeatures implements model.FeatureChecker: the rotations must name
// features of the data.
func (t Trainer) CheckFeatures(features []string) error {
	_, err := t.Params.rotations(features)
	return err
}

// Defaults are chosen for the product's targets on California Housing:
// fewer, larger trees than scikit-learn's defaults (50 trees of 63 leaves,
// learning rate 0.22), fitted on every training row, to beat
// HistGradientBoostingRegressor() with a cheap prediction (make bench-train
// measures both). Early stopping is off by default (no random validation
// split); turn it on with early_stopping: true and a larger max_iter.
func Defaults() Params {
	return Params{
		LearningRate: 0.22, MaxIter: 50, MaxLeafNodes: 63, MinSamplesLeaf: 20, MaxBins: 255, MaxFeatures: 1, Subsample: 1,
		EarlyStopping: false, ValidationFraction: 0.1, NIterNoChange: 10, Tol: 1e-7,
	}
}

// Validate checks the parameters.
func (p Params) Validate() error {
	switch {
	case !(p.LearningRate > 0 && p.LearningRate <= 1):
		return fmt.Errorf("learning_rate must be in (0, 1], got %v", p.LearningRate)
	case p.MaxIter < 1:
		return fmt.Errorf("max_iter must be at least 1, got %d", p.MaxIter)
	case p.MaxLeafNodes == 0 && p.MaxDepth == 0:
		return fmt.Errorf("set max_leaf_nodes or max_depth: unbounded boosted trees overfit")
	case p.MinSamplesLeaf < 1:
		return fmt.Errorf("min_samples_leaf must be at least 1, got %d", p.MinSamplesLeaf)
	case p.MaxBins < 2 || p.MaxBins > 255:
		return fmt.Errorf("max_bins must be between 2 and 255, got %d", p.MaxBins)
	case !(p.MaxFeatures > 0 && p.MaxFeatures <= 1):
		return fmt.Errorf("max_features must be a fraction in (0, 1], got %v", p.MaxFeatures)
	case !(p.Subsample > 0 && p.Subsample <= 1):
		return fmt.Errorf("subsample must be a fraction in (0, 1], got %v", p.Subsample)
	case p.EarlyStopping && !(p.ValidationFraction > 0 && p.ValidationFraction < 1):
		return fmt.Errorf("validation_fraction must be in (0, 1), got %v", p.ValidationFraction)
	case p.EarlyStopping && p.NIterNoChange < 1:
		return fmt.Errorf("n_iter_no_change must be at least 1, got %d", p.NIterNoChange)
	case p.Tol < 0:
		return fmt.Errorf("tol must be 0 or positive, got %v", p.Tol)
	}
	if _, err := p.rotations(nil); err != nil {
		return err
	}
	return tree.Params{MaxDepth: p.MaxDepth, MaxLeaves: p.MaxLeafNodes, MinSamplesLeaf: float64(p.MinSamplesLeaf),
		MinSamplesSplit: 2, L2: p.L2}.Validate(1)
}

// Trainer fits boosted models.
type Trainer struct{ Params Params }

// Kind implements model.Trainer.
func (Trainer) Kind() string { return Kind }

// Fit implements model.Trainer.
func (t Trainer) Fit(ctx context.Context, X model.Matrix, y []float64, opts model.FitOptions) (model.Model, error) {
	X.Check()
	p := t.Params
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var rots []tree.Rotation
	if len(p.Rotations) > 0 {
		if len(opts.Features) != X.Cols {
			return nil, fmt.Errorf("rotations need the %d feature names", X.Cols)
		}
		var err error
		if rots, err = p.rotations(opts.Features); err != nil {
			return nil, err
		}
		for _, r := range rots {
			for _, j := range [2]int{r.A, r.B} {
				if j < len(opts.Levels) && opts.Levels[j] > 0 {
					return nil, fmt.Errorf("rotations: %q is a category, which has no direction to rotate; rotate number features only", opts.Features[j])
				}
			}
		}
		X = tree.Extend(X, rots)
	}
	n := X.Rows
	trainRows, validRows := make([]int32, 0, n), []int32(nil)
	if p.EarlyStopping {
		perm := opts.Rand.Perm(n)
		nv := int(math.Ceil(p.ValidationFraction * float64(n)))
		if nv < 1 || n-nv < 2*p.MinSamplesLeaf {
			return nil, fmt.Errorf("%d rows are too few to hold out a validation fraction of %v", n, p.ValidationFraction)
		}
		for i, r := range perm {
			if i < nv {
				validRows = append(validRows, int32(r))
			} else {
				trainRows = append(trainRows, int32(r))
			}
		}
		slices.Sort(validRows)
		slices.Sort(trainRows)
	} else {
		for i := range n {
			trainRows = append(trainRows, int32(i))
		}
	}
	// Bin on the training rows only, as scikit-learn does.
	fit := model.Matrix{Rows: len(trainRows), Cols: X.Cols, Data: make([]float64, len(trainRows)*X.Cols)}
	for j := range X.Cols {
		src, dst := X.Col(j), fit.Col(j)
		for i, r := range trainRows {
			dst[i] = src[r]
		}
	}
	binner, err := tree.NewBinner(fit, p.MaxBins, opts.Levels, opts.Features)
	if err != nil {
		return nil, err
	}
	codes := binner.Bin(X)
	nbins := make([]int, X.Cols)
	for j := range nbins {
		nbins[j] = binner.NumBins(j)
	}
	tp := tree.Params{
		MaxDepth: p.MaxDepth, MaxLeaves: p.MaxLeafNodes, MinSamplesLeaf: float64(p.MinSamplesLeaf),
		MinSamplesSplit: 2, L2: p.L2, MaxFeatures: max(1, int(math.Round(p.MaxFeatures*float64(X.Cols)))),
	}
	if tp.MaxFeatures >= X.Cols {
		tp.MaxFeatures = 0
	}
	gr := tree.NewGrower(codes, n, nbins, tp)
	gr.Workers = opts.Workers
	gr.Cats = tree.Categorical(opts.Levels, X.Cols)

	var base float64
	for _, r := range trainRows {
		base += y[r]
	}
	base /= float64(len(trainRows))
	raw := make([]float64, n)
	for i := range raw {
		raw[i] = base
	}
	grad := make([]float64, n)
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	m := &Model{Ensemble: tree.Ensemble{Binner: binner, Base: base, Scale: 1, Rotations: rots}}
	rows := make([]int32, len(trainRows))
	nsub := max(1, int(math.Round(p.Subsample*float64(len(trainRows)))))
	best, bestIter := math.Inf(1), 0
	for it := range p.MaxIter {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, r := range trainRows {
			grad[r] = y[r] - raw[r]
		}
		copy(rows, trainRows)
		grow := rows
		if nsub < len(rows) {
			// Partial Fisher-Yates: the first nsub rows are the sample.
			for i := range nsub {
				j := i + opts.Rand.IntN(len(rows)-i)
				rows[i], rows[j] = rows[j], rows[i]
			}
			grow = rows[:nsub]
		}
		tr := gr.Grow(grow, grad, ones, opts.Rand)
		tr.Scale(p.LearningRate)
		m.Trees = append(m.Trees, tr)
		trainLoss := update(tr, codes, n, trainRows, raw, y)
		validLoss := math.NaN()
		if p.EarlyStopping {
			validLoss = update(tr, codes, n, validRows, raw, y)
		}
		m.TrainLoss = append(m.TrainLoss, trainLoss)
		m.ValidLoss = append(m.ValidLoss, validLoss)
		if opts.Progress != nil {
			opts.Progress(model.Event{Stage: "iteration", Step: it + 1, Total: p.MaxIter, Train: trainLoss, Valid: validLoss})
		}
		if !p.EarlyStopping {
			continue
		}
		if validLoss < best-p.Tol {
			best, bestIter = validLoss, it
		} else if it-bestIter >= p.NIterNoChange {
			break
		}
	}
	if p.EarlyStopping {
		m.Trees = m.Trees[:bestIter+1] // keep the best iteration
		m.BestIteration = bestIter + 1
	} else {
		m.BestIteration = len(m.Trees)
	}
	m.Gain = gr.Gain
	m.Prepare()
	return m, nil
}

// update adds the tree's output to raw for rows and returns their half
// mean squared error (scikit-learn's loss).
func update(t *tree.Tree, codes []uint8, n int, rows []int32, raw, y []float64) float64 {
	var sse float64
	for _, r := range rows {
		raw[r] += t.PredictColumnar(codes, n, int(r))
		d := y[r] - raw[r]
		sse += d * d
	}
	return sse / float64(len(rows)) / 2
}

// Model is a fitted boosted ensemble: Base + Σ trees.
type Model struct {
	tree.Ensemble
	// TrainLoss and ValidLoss are the half mean squared error after each
	// iteration (ValidLoss NaN without early stopping); not serialised.
	TrainLoss, ValidLoss []float64
	// BestIteration is the number of trees kept.
	BestIteration int
}

// Kind implements model.Model.
func (*Model) Kind() string { return Kind }

// Decode reads a payload written by AppendBinary.
func Decode(payload []byte, nfeat int) (model.Model, error) {
	e, err := tree.ReadEnsemble(payload, nfeat)
	if err != nil {
		return nil, err
	}
	if e.Scale != 1 {
		return nil, fmt.Errorf("boosted trees add up: scale %v is not 1", e.Scale)
	}
	return &Model{Ensemble: *e, BestIteration: len(e.Trees)}, nil
}
