// Package linear fits linear regression: ordinary least squares with
// github.com/sajari/regression, ridge with gonum, both with an optional
// standardisation of the features.
package linear

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/sajari/regression"
	"gonum.org/v1/gonum/mat"

	"github.com/housectl/housectl/pkg/model"
)

// Kind is the model kind name.
const Kind = "linear"

// Params configure the fit.
type Params struct {
	// Alpha is the ridge penalty on the coefficients (of the standardised
	// features when Standardize is set); 0 is ordinary least squares.
	Alpha float64 `json:"alpha"`
	// FitIntercept fits an unpenalised intercept (scikit-learn's default).
	FitIntercept bool `json:"fit_intercept"`
	// Standardize scales features to unit variance before fitting; the
	// stored coefficients are in the original units either way.
	Standardize bool `json:"standardize"`
	// Impute is what replaces a missing value (NaN), in training and in
	// every prediction: the feature's training mean or median (as
	// scikit-learn's SimpleImputer strategy). The values are kept in the
	// model.
	Impute string `json:"impute"`
}

// Imputation strategies.
const (
	ImputeMean   = "mean"
	ImputeMedian = "median"
)

// Defaults are scikit-learn LinearRegression's, with SimpleImputer's mean.
func Defaults() Params { return Params{FitIntercept: true, Impute: ImputeMean} }

// Validate checks the parameters.
func (p Params) Validate() error {
	if p.Alpha < 0 || math.IsNaN(p.Alpha) || math.IsInf(p.Alpha, 0) {
		return fmt.Errorf("alpha must be 0 (least squares) or positive, got %v", p.Alpha)
	}
	if p.Impute != "" && p.Impute != ImputeMean && p.Impute != ImputeMedian { // "": mean
		return fmt.Errorf("impute must be mean or median, got %q", p.Impute)
	}
	return nil
}

// fills are the values that replace a missing value of each feature:
// the mean or the median of its present values (0 when none is); for a
// category, its most frequent label (scikit-learn's most_frequent).
func fills(X model.Matrix, how string, levels []int) []float64 {
	out := make([]float64, X.Cols)
	for j := range X.Cols {
		vals := slices.DeleteFunc(slices.Clone(X.Col(j)), math.IsNaN)
		switch {
		case len(vals) == 0:
		case levels != nil && levels[j] > 0:
			counts := map[float64]int{}
			for _, v := range vals {
				counts[v]++
			}
			best := math.Inf(1)
			for v, c := range counts {
				if c > counts[best] || c == counts[best] && v < best {
					best = v
				}
			}
			out[j] = best
		case how == ImputeMedian:
			slices.Sort(vals)
			h := len(vals) / 2
			out[j] = vals[h]
			if len(vals)%2 == 0 {
				out[j] = (vals[h-1] + vals[h]) / 2
			}
		default:
			out[j] = mean(vals)
		}
	}
	return out
}

// imputed returns X with each missing value replaced by its feature's
// fill, or X itself when none is missing.
func imputed(X model.Matrix, fill []float64) model.Matrix {
	if !slices.ContainsFunc(X.Data, math.IsNaN) {
		return X
	}
	c := model.Matrix{Rows: X.Rows, Cols: X.Cols, Data: slices.Clone(X.Data)}
	for j := range X.Cols {
		col := c.Col(j)
		for i, v := range col {
			if v != v {
				col[i] = fill[j]
			}
		}
	}
	return c
}

// CollinearError names a feature that is constant or a linear combination
// of the others: least squares has no unique answer.
type CollinearError struct{ Feature int }

func (e *CollinearError) Error() string {
	return fmt.Sprintf("feature %d is constant or a linear combination of other features; drop it, or use ridge (alpha > 0)", e.Feature)
}

// Trainer fits linear models.
type Trainer struct{ Params Params }

// Kind implements model.Trainer.
func (Trainer) Kind() string { return Kind }

// Fit implements model.Trainer.
//
// sajari/regression solves with a QR factorisation that forms the full
// n×n Q (2.2 GB at 16,512 rows), so it is handed an exactly equivalent
// small problem: gonum factorises [X y] (centred) and the R factor's top
// rows (R_i, z_i) are the least-squares problem's sufficient statistics;
// sajari fits the 2p rows ±(R_i, z_i), whose symmetry makes its own
// intercept zero and whose objective is twice the original.
func (t Trainer) Fit(ctx context.Context, X model.Matrix, y []float64, fo model.FitOptions) (model.Model, error) {
	X.Check()
	p := t.Params
	if err := p.Validate(); err != nil {
		return nil, err
	}
	levels := fo.Levels
	if len(levels) != X.Cols || !slices.ContainsFunc(levels, func(l int) bool { return l > 0 }) {
		levels = nil
	}
	fill := fills(X, p.Impute, levels)
	X = imputed(X, fill)
	if levels == nil {
		m, err := solve(ctx, X, y, p)
		if err != nil {
			return nil, err
		}
		m.Fill = fill
		return m, nil
	}
	return fitOneHot(ctx, X, y, p, levels, fill)
}

// solve fits the coefficients of X's columns, all numbers.
func solve(ctx context.Context, X model.Matrix, y []float64, p Params) (*Model, error) {
	n, k := X.Rows, X.Cols
	if n < k+2 {
		return nil, fmt.Errorf("linear regression needs more rows (%d) than features + 1 (%d)", n, k+1)
	}
	xMean := make([]float64, k)
	scale := make([]float64, k)
	var yMean float64
	for j := range k {
		scale[j] = 1
		if p.FitIntercept {
			xMean[j] = mean(X.Col(j))
		}
		if p.Standardize {
			scale[j] = std(X.Col(j), xMean[j])
			if scale[j] == 0 {
				return nil, &CollinearError{Feature: j}
			}
		}
	}
	if p.FitIntercept {
		yMean = mean(y)
	}
	a := mat.NewDense(n, k+1, nil)
	for j := range k {
		col := X.Col(j)
		for i, v := range col {
			a.Set(i, j, (v-xMean[j])/scale[j])
		}
	}
	for i, v := range y {
		a.Set(i, k, v-yMean)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var qr mat.QR
	qr.Factorize(a)
	var rFull mat.Dense
	qr.RTo(&rFull)
	r := rFull.Slice(0, k, 0, k)
	z := make([]float64, k)
	maxDiag := 0.0
	for j := range k {
		z[j] = rFull.At(j, k)
		maxDiag = max(maxDiag, math.Abs(r.At(j, j)))
	}
	w := make([]float64, k)
	if p.Alpha == 0 {
		for j := range k {
			if math.Abs(r.At(j, j)) <= 1e-10*maxDiag {
				return nil, &CollinearError{Feature: j}
			}
		}
		var err error
		if w, err = olsSajari(r, z); err != nil {
			return nil, err
		}
	} else {
		// Ridge: minimise ||R w - z||² + alpha ||w||², i.e. least squares on
		// [R; sqrt(alpha) I] w = [z; 0].
		aug := mat.NewDense(2*k, k, nil)
		rhs := mat.NewVecDense(2*k, nil)
		for i := range k {
			for j := range k {
				aug.Set(i, j, r.At(i, j))
			}
			aug.Set(k+i, i, math.Sqrt(p.Alpha))
			rhs.SetVec(i, z[i])
		}
		var q2 mat.QR
		q2.Factorize(aug)
		var sol mat.VecDense
		if err := q2.SolveVecTo(&sol, false, rhs); err != nil {
			return nil, fmt.Errorf("ridge solve: %w", err)
		}
		for j := range k {
			w[j] = sol.AtVec(j)
		}
	}
	m := &Model{Coef: make([]float64, k)}
	m.Intercept = yMean
	for j := range k {
		m.Coef[j] = w[j] / scale[j]
		m.Intercept -= m.Coef[j] * xMean[j]
		m.std = append(m.std, std(X.Col(j), mean(X.Col(j))))
	}
	for _, c := range m.Coef {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, errors.New("least squares produced a non-finite coefficient: the features are too ill-conditioned; standardize them or use ridge (alpha > 0)")
		}
	}
	return m, nil
}

// olsSajari solves R w = z in the least-squares sense with sajari/regression.
func olsSajari(r mat.Matrix, z []float64) ([]float64, error) {
	k := len(z)
	reg := new(regression.Regression)
	reg.SetObserved("y")
	row := make([]float64, k)
	neg := make([]float64, k)
	for i := range k {
		for j := range k {
			row[j] = r.At(i, j)
			neg[j] = -row[j]
		}
		reg.Train(regression.DataPoint(z[i], append([]float64(nil), row...)), regression.DataPoint(-z[i], append([]float64(nil), neg...)))
	}
	if err := reg.Run(); err != nil {
		return nil, fmt.Errorf("least squares: %w", err)
	}
	w := make([]float64, k)
	for j := range k {
		w[j] = reg.Coeff(j + 1)
	}
	return w, nil
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func std(xs []float64, m float64) float64 {
	var s float64
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)))
}

// Model is a fitted linear model: Intercept + Σ Coef[j]·x[j], a missing
// x[j] replaced by Fill[j].
type Model struct {
	Coef      []float64
	Intercept float64
	// Fill replaces a missing value of each feature (nil in models
	// written before imputation existed: they never saw one).
	Fill []float64
	// Levels, Ref and Dummies one-hot encode the category features: a
	// category j with Levels[j] labels adds Dummies[j][label] (0 for its
	// reference label Ref[j]) instead of Coef[j]·x. Nil without categories.
	Levels  []int
	Ref     []int
	Dummies [][]float64
	std     []float64 // feature standard deviations, for importances
}

// Kind implements model.Model.
func (*Model) Kind() string { return Kind }

// NumFeatures implements model.Model.
func (m *Model) NumFeatures() int { return len(m.Coef) }

// Predict implements model.Model.
func (m *Model) Predict(row []float64) float64 {
	s := m.Intercept
	if m.Dummies != nil {
		for j := range m.Coef {
			s += m.term(j, row[j])
		}
		return s
	}
	for j, c := range m.Coef {
		v := row[j]
		if v != v && m.Fill != nil {
			v = m.Fill[j]
		}
		s += c * v
	}
	return s
}

// PredictBatch implements model.Model.
func (m *Model) PredictBatch(X model.Matrix, dst []float64) {
	for i := range dst[:X.Rows] {
		dst[i] = m.Intercept
	}
	if m.Dummies != nil {
		for j := range m.Coef {
			for i, v := range X.Col(j) {
				dst[i] += m.term(j, v)
			}
		}
		return
	}
	for j, c := range m.Coef {
		col := X.Col(j)
		for i, v := range col {
			if v != v && m.Fill != nil {
				v = m.Fill[j]
			}
			dst[i] += c * v
		}
	}
}

// Importances are |coef|·std of each feature, normalised.
func (m *Model) Importances() []float64 {
	out := make([]float64, len(m.Coef))
	var sum float64
	for j, c := range m.Coef {
		s := 1.0
		if j < len(m.std) {
			s = m.std[j]
		}
		out[j] = math.Abs(c) * s
		if m.Dummies != nil && m.Dummies[j] != nil {
			out[j] = s // the spread of the label's contribution
		}
		sum += out[j]
	}
	if sum > 0 {
		for j := range out {
			out[j] /= sum
		}
	}
	return out
}

// AppendBinary implements model.Model: coefficients, intercept, stds,
// then the fills (absent from models written before them).
func (m *Model) AppendBinary(b []byte) []byte {
	b = model.AppendFloats(b, m.Coef)
	b = model.AppendFloats(b, []float64{m.Intercept})
	b = model.AppendFloats(b, m.std)
	if m.Fill != nil {
		b = model.AppendFloats(b, m.Fill)
	}
	if m.Dummies != nil {
		lv, ref := make([]float64, len(m.Levels)), make([]float64, len(m.Ref))
		for j := range lv {
			lv[j], ref[j] = float64(m.Levels[j]), float64(m.Ref[j])
		}
		b = model.AppendFloats(b, lv)
		b = model.AppendFloats(b, ref)
		for _, d := range m.Dummies {
			if d != nil {
				b = model.AppendFloats(b, d)
			}
		}
	}
	return b
}

// Decode reads a payload written by AppendBinary.
func Decode(payload []byte, nfeat int) (model.Model, error) {
	r := model.NewReader(payload)
	m := &Model{Coef: r.Floats(nfeat)}
	ic := r.Floats(1)
	m.std = r.Floats(nfeat)
	if r.More() {
		if m.Fill = r.Floats(nfeat); len(m.Fill) != nfeat || slices.ContainsFunc(m.Fill, math.IsNaN) {
			return nil, fmt.Errorf("want %d finite fill values", nfeat)
		}
	}
	if r.More() {
		lv, ref := r.Floats(nfeat), r.Floats(nfeat)
		if len(lv) != nfeat || len(ref) != nfeat {
			return nil, fmt.Errorf("want %d category sizes and references", nfeat)
		}
		m.Levels, m.Ref, m.Dummies = make([]int, nfeat), make([]int, nfeat), make([][]float64, nfeat)
		for j := range nfeat {
			m.Levels[j], m.Ref[j] = int(lv[j]), int(ref[j])
			if m.Levels[j] < 0 || m.Levels[j] > 1<<16 || m.Levels[j] > 0 && (m.Ref[j] < 0 || m.Ref[j] >= m.Levels[j]) {
				return nil, fmt.Errorf("feature %d: %v labels, reference %v", j, lv[j], ref[j])
			}
			if m.Levels[j] > 0 {
				if m.Dummies[j] = r.Floats(m.Levels[j]); len(m.Dummies[j]) != m.Levels[j] {
					return nil, fmt.Errorf("feature %d: want %d label coefficients", j, m.Levels[j])
				}
			}
		}
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	if len(m.Coef) != nfeat || len(ic) != 1 {
		return nil, fmt.Errorf("want %d coefficients and an intercept", nfeat)
	}
	m.Intercept = ic[0]
	return m, nil
}

// fitOneHot fits a model whose category features are one-hot encoded:
// each label present in the training rows but the reference (the first
// present, recorded) gets an indicator column and a coefficient; the
// reference's is 0. A label absent from the training rows has none either,
// so it predicts as the reference.
func fitOneHot(ctx context.Context, X model.Matrix, y []float64, p Params, levels []int, fill []float64) (*Model, error) {
	type column struct{ feature, level int } // level -1: the number itself
	var cols []column
	ref := make([]int, X.Cols)
	for j := range X.Cols {
		if levels[j] == 0 {
			cols = append(cols, column{j, -1})
			continue
		}
		present := make([]bool, levels[j])
		for _, v := range X.Col(j) {
			if c := int(v); c >= 0 && c < levels[j] {
				present[c] = true
			}
		}
		ref[j] = slices.Index(present, true)
		for l, ok := range present {
			if ok && l != ref[j] {
				cols = append(cols, column{j, l})
			}
		}
	}
	D := model.Matrix{Rows: X.Rows, Cols: len(cols), Data: make([]float64, X.Rows*len(cols))}
	for c, col := range cols {
		src, dst := X.Col(col.feature), D.Col(c)
		if col.level < 0 {
			copy(dst, src)
			continue
		}
		for i, v := range src {
			if int(v) == col.level {
				dst[i] = 1
			}
		}
	}
	md, err := solve(ctx, D, y, p)
	if err != nil {
		var ce *CollinearError
		if errors.As(err, &ce) {
			return nil, &CollinearError{Feature: cols[ce.Feature].feature}
		}
		return nil, err
	}
	m := &Model{Coef: make([]float64, X.Cols), Intercept: md.Intercept, Fill: fill, Levels: levels, Ref: ref, Dummies: make([][]float64, X.Cols)}
	for j, l := range levels {
		if l > 0 {
			m.Dummies[j] = make([]float64, l)
		}
	}
	for c, col := range cols {
		if col.level < 0 {
			m.Coef[col.feature] = md.Coef[c]
		} else {
			m.Dummies[col.feature][col.level] = md.Coef[c]
		}
	}
	// Importances: the spread of each feature's contribution.
	m.std = make([]float64, X.Cols)
	contrib := make([]float64, X.Rows)
	for j := range X.Cols {
		for i, v := range X.Col(j) {
			contrib[i] = m.term(j, v)
		}
		m.std[j] = std(contrib, mean(contrib))
		if levels[j] == 0 && m.Coef[j] != 0 {
			m.std[j] /= math.Abs(m.Coef[j]) // Importances multiplies by |coef|
		}
	}
	return m, nil
}

// term is feature j's contribution for value v (missing: its fill).
func (m *Model) term(j int, v float64) float64 {
	if v != v && m.Fill != nil {
		v = m.Fill[j]
	}
	if m.Dummies != nil && m.Dummies[j] != nil {
		if c := int(v); c >= 0 && c < len(m.Dummies[j]) && float64(c) == v {
			return m.Dummies[j][c]
		}
		return 0 // an unknown label predicts as the reference
	}
	return m.Coef[j] * v
}
