// Package model defines what every housectl model is: something fitted on a
// column-major matrix and a target that predicts one row without
// allocating, fills a caller-owned slice for a batch, and serialises into a
// versioned, checksummed artifact.
//
// Nouns:
//   - Matrix: rows × cols float64, column-major (column j at
//     Data[j*Rows:(j+1)*Rows]), the layout training reads fastest.
//   - Model: a fitted model of one Kind.
//   - Summary: per-column statistics of the training data, kept in every
//     artifact so that drift can be measured later.
//   - Artifact: header (kind, features, target, params, summary) + the
//     kind's payload + SHA-256 of both.
//
// The kinds live in subpackages (linear, forest, gbt); model/all maps kind
// names to decoders.
package model

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// Matrix is a column-major float64 matrix.
type Matrix struct {
	Rows, Cols int
	Data       []float64
}

// Col returns column j; the slice aliases Data.
func (m Matrix) Col(j int) []float64 { return m.Data[j*m.Rows : (j+1)*m.Rows] }

// At returns element (i, j).
func (m Matrix) At(i, j int) float64 { return m.Data[j*m.Rows+i] }

// Row copies row i into dst (len Cols) and returns it.
func (m Matrix) Row(i int, dst []float64) []float64 {
	for j := range m.Cols {
		dst[j] = m.Data[j*m.Rows+i]
	}
	return dst
}

// Check panics unless Data has Rows×Cols values: a programmer error.
func (m Matrix) Check() {
	if len(m.Data) != m.Rows*m.Cols {
		panic(fmt.Sprintf("model: matrix %d×%d has %d values", m.Rows, m.Cols, len(m.Data)))
	}
}

// Model is a fitted regression model.
type Model interface {
	// Kind is the model's kind name (linear, random_forest, gradient_boosting).
	Kind() string
	// NumFeatures is the number of inputs Predict expects.
	NumFeatures() int
	// Predict returns the prediction for one row of NumFeatures values. It
	// does not allocate.
	Predict(row []float64) float64
	// PredictBatch writes a prediction per row of X into dst (len X.Rows).
	PredictBatch(X Matrix, dst []float64)
	// Importances returns one non-negative weight per feature, summing to 1
	// (all zero when the model uses no feature).
	Importances() []float64
	// AppendBinary appends the model's payload, which its kind's decoder reads.
	AppendBinary(b []byte) []byte
}

// Event reports training progress: a step (fold, tree, iteration) of a
// total, with optional losses.
type Event struct {
	Stage string // e.g. "tree", "iteration"
	Step  int
	Total int
	Train float64 // training loss, when known
	Valid float64 // validation loss, when known
}

// FitOptions are what every trainer takes besides its own parameters.
type FitOptions struct {
	// Rand is the only source of randomness. Trainers that need several
	// streams derive them from it in a fixed order.
	Rand *rand.Rand
	// Workers bounds parallelism; results do not depend on it.
	Workers int
	// Progress, if set, is called from the fitting goroutine.
	Progress func(Event)
	// Features names X's columns, for parameters that refer to features.
	Features []string
	// Levels is, per column, the number of labels of a category feature
	// (its values are label indexes), or 0 for a number.
	Levels []int
}

// FeatureChecker is a Trainer whose parameters name features: it checks
// them against the data's before any fitting.
type FeatureChecker interface {
	CheckFeatures(features []string) error
}

// Trainer fits models of one kind with fixed parameters.
type Trainer interface {
	Kind() string
	// Fit trains on X (n×p) and y (n). It stops early with ctx.Err() when
	// ctx is cancelled.
	Fit(ctx context.Context, X Matrix, y []float64, opts FitOptions) (Model, error)
}
