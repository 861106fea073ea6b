package linear

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/model"
)

func california(t testing.TB) (model.Matrix, []float64) {
	X, y, _, _ := testenv.California(t, false)
	return X, y
}

func relClose(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(math.Abs(b), 1e-300) }

// Golden values: scikit-learn 1.2.1 LinearRegression() and Ridge(alpha=1)
// fitted on all 20,640 rows (scripts/sklearn_linear.py prints them).
func TestParityWithScikitLearn(t *testing.T) {
	X, y := california(t)
	tests := []struct {
		name      string
		params    Params
		intercept float64
		coef      []float64
		tol       float64
	}{
		{"LinearRegression", Defaults(), -36.941920207184324, []float64{0.4366932931343246, 0.009435778033237852, -0.10732204139090419, 0.6450656935198136, -3.976389421213311e-06, -0.003786542654970982, -0.42131437752714457, -0.43451375467477693}, 1e-8},
		{"Ridge(alpha=1)", Params{Alpha: 1, FitIntercept: true}, -36.93858523232905, []float64{0.4365943818097207, 0.009437395133809985, -0.10713276100395927, 0.6440624852899661, -3.970342950722075e-06, -0.0037863586876414617, -0.42129930584720343, -0.43448471671523825}, 1e-8},
	}
	for _, tt := range tests {
		m, err := Trainer{Params: tt.params}.Fit(t.Context(), X, y, model.FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lm := m.(*Model)
		if !relClose(lm.Intercept, tt.intercept, tt.tol) {
			t.Errorf("%s intercept %.17g, scikit-learn %.17g", tt.name, lm.Intercept, tt.intercept)
		}
		for j, c := range tt.coef {
			if !relClose(lm.Coef[j], c, tt.tol) {
				t.Errorf("%s coef[%d] %.17g, scikit-learn %.17g (rel %.2g)", tt.name, j, lm.Coef[j], c, math.Abs(lm.Coef[j]-c)/math.Abs(c))
			}
		}
	}
}

func TestExactRecoveryAndStandardize(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n, k := 500, 3
	X := model.Matrix{Rows: n, Cols: k, Data: make([]float64, n*k)}
	y := make([]float64, n)
	coef := []float64{2, -3e-3, 1e4}
	for i := range n {
		y[i] = 7
		for j := range k {
			v := r.NormFloat64() * math.Pow(10, float64(j*2-2))
			X.Data[j*n+i] = v
			y[i] += coef[j] * v
		}
	}
	for _, std := range []bool{false, true} {
		m, err := Trainer{Params: Params{FitIntercept: true, Standardize: std}}.Fit(t.Context(), X, y, model.FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lm := m.(*Model)
		if !relClose(lm.Intercept, 7, 1e-9) {
			t.Errorf("standardize=%v intercept %v", std, lm.Intercept)
		}
		for j := range coef {
			// y is ~1e6 while feature 0 adds ~0.02: float64 leaves ~1e-8 relative.
			if !relClose(lm.Coef[j], coef[j], 1e-7) {
				t.Errorf("standardize=%v coef[%d] %v, want %v", std, j, lm.Coef[j], coef[j])
			}
		}
		row := []float64{1, 2, 3}
		if got, want := lm.Predict(row), 7+2-6e-3+3e4; !relClose(got, want, 1e-9) {
			t.Errorf("Predict = %v, want %v", got, want)
		}
		dst := make([]float64, n)
		lm.PredictBatch(X, dst)
		if !relClose(dst[17], lm.Predict(X.Row(17, make([]float64, k))), 1e-12) {
			t.Error("batch and single predictions differ")
		}
	}
}

func TestRefusesCollinearAndConstant(t *testing.T) {
	n := 50
	X := model.Matrix{Rows: n, Cols: 3, Data: make([]float64, 3*n)}
	y := make([]float64, n)
	for i := range n {
		X.Data[i] = float64(i)
		X.Data[n+i] = float64(i * i % 7)
		X.Data[2*n+i] = 2*float64(i) + 3*float64(i*i%7) // a combination of the others
		y[i] = float64(i)
	}
	_, err := Trainer{Params: Defaults()}.Fit(t.Context(), X, y, model.FitOptions{})
	var ce *CollinearError
	if !errors.As(err, &ce) || ce.Feature != 2 {
		t.Errorf("collinear: %v", err)
	}
	for i := range n {
		X.Data[2*n+i] = 5 // constant
	}
	if _, err := (Trainer{Params: Params{FitIntercept: true, Standardize: true}}).Fit(t.Context(), X, y, model.FitOptions{}); !errors.As(err, &ce) {
		t.Errorf("constant: %v", err)
	}
	// Ridge copes with both.
	if _, err := (Trainer{Params: Params{Alpha: 0.5, FitIntercept: true}}).Fit(t.Context(), X, y, model.FitOptions{}); err != nil {
		t.Errorf("ridge: %v", err)
	}
	if err := (Params{Alpha: -1}).Validate(); err == nil {
		t.Error("negative alpha accepted")
	}
	if _, err := (Trainer{Params: Defaults()}).Fit(t.Context(), model.Matrix{Rows: 3, Cols: 3, Data: make([]float64, 9)}, make([]float64, 3), model.FitOptions{}); err == nil {
		t.Error("fewer rows than features accepted")
	}
}

func TestEncodeDecode(t *testing.T) {
	X, y := california(t)
	m, err := Trainer{Params: Defaults()}.Fit(t.Context(), X, y, model.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := m.AppendBinary(nil)
	back, err := Decode(b, 8)
	if err != nil {
		t.Fatal(err)
	}
	row := X.Row(5, make([]float64, 8))
	if back.Predict(row) != m.Predict(row) {
		t.Error("decoded model predicts differently")
	}
	if _, err := Decode(b[:len(b)-3], 8); err == nil {
		t.Error("a cut payload decoded")
	}
	imp := m.Importances()
	var s float64
	for _, v := range imp {
		s += v
	}
	if math.Abs(s-1) > 1e-12 {
		t.Errorf("importances sum to %v", s)
	}
}

func BenchmarkPredict(b *testing.B) {
	m := &Model{Coef: []float64{1, 2, 3, 4, 5, 6, 7, 8}, Intercept: 1}
	row := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Predict(row)
	}
}

// Missing values are imputed with the feature's training mean or median,
// kept in the model: a row with a missing value predicts as the row with
// the fill would, before and after a reload; a payload written before
// fills existed still reads.
func TestImputation(t *testing.T) {
	nan := math.NaN()
	n := 50
	X := model.Matrix{Rows: n, Cols: 2, Data: make([]float64, 2*n)}
	y := make([]float64, n)
	for i := range n {
		a, b := float64(i), float64(i%7)
		if i%5 == 0 {
			b = nan
		}
		X.Data[i], X.Data[n+i] = a, b
		y[i] = 1 + 2*a + 3*float64(i%7)
	}
	for _, how := range []string{ImputeMean, ImputeMedian} {
		p := Defaults()
		p.Impute = how
		m, err := Trainer{Params: p}.Fit(t.Context(), X, y, model.FitOptions{})
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		lm := m.(*Model)
		present := []float64{}
		for i := range n {
			if i%5 != 0 {
				present = append(present, float64(i%7))
			}
		}
		want := mean(present)
		if how == ImputeMedian {
			slices.Sort(present)
			want = present[len(present)/2]
		}
		if math.Abs(lm.Fill[1]-want) > 1e-12 || lm.Fill[0] != mean(X.Col(0)) {
			t.Errorf("%s: fills %v, want [%v %v]", how, lm.Fill, mean(X.Col(0)), want)
		}
		if a, b := m.Predict([]float64{3, nan}), m.Predict([]float64{3, lm.Fill[1]}); a != b || math.IsNaN(a) {
			t.Errorf("%s: a missing b predicts %v, the fill %v", how, a, b)
		}
		back, err := Decode(m.AppendBinary(nil), 2)
		if err != nil || back.Predict([]float64{3, nan}) != m.Predict([]float64{3, nan}) {
			t.Errorf("%s: after a reload: %v", how, err)
		}
		batch := make([]float64, n)
		m.PredictBatch(X, batch)
		for i := range n {
			if batch[i] != m.Predict([]float64{X.Data[i], X.Data[n+i]}) {
				t.Fatalf("%s row %d: batch and row disagree", how, i)
			}
		}
	}
	old := &Model{Coef: []float64{1, 2}, Intercept: 3, std: []float64{1, 1}}
	if m, err := Decode(old.AppendBinary(nil), 2); err != nil || m.(*Model).Fill != nil || m.Predict([]float64{1, 1}) != 6 {
		t.Errorf("a payload without fills: %v", err)
	}
}

// A category feature is one-hot encoded against its first label present:
// each other label's coefficient is its effect over the reference, a
// missing label is the most frequent one, an unknown one the reference;
// the encoding survives a reload.
func TestOneHot(t *testing.T) {
	n := 300
	X := model.Matrix{Rows: n, Cols: 2, Data: make([]float64, 2*n)}
	y := make([]float64, n)
	effect := []float64{0, 5, -3, 0} // label 3 never appears
	for i := range n {
		a, z := float64(i%17), i%3
		if i%10 == 0 {
			z = 1 // the most frequent label
		}
		X.Data[i], X.Data[n+i] = a, float64(z)
		y[i] = 1 + 2*a + effect[z]
	}
	X.Data[n+7] = math.NaN() // a missing label: the mode, 1
	y[7] = 1 + 2*X.Data[7] + effect[1]
	m, err := Trainer{Params: Defaults()}.Fit(t.Context(), X, y, model.FitOptions{Levels: []int{0, 4}})
	if err != nil {
		t.Fatal(err)
	}
	lm := m.(*Model)
	if lm.Ref[1] != 0 || math.Abs(lm.Dummies[1][1]-5) > 1e-8 || math.Abs(lm.Dummies[1][2]+3) > 1e-8 || lm.Dummies[1][3] != 0 || math.Abs(lm.Coef[0]-2) > 1e-8 || lm.Fill[1] != 1 {
		t.Fatalf("coef %v, dummies %v, ref %v, fill %v", lm.Coef, lm.Dummies, lm.Ref, lm.Fill)
	}
	for _, tt := range []struct {
		z    float64
		want float64
	}{{0, 1 + 2*4}, {2, 1 + 2*4 - 3}, {math.NaN(), 1 + 2*4 + 5}, {3, 1 + 2*4}} {
		if got := m.Predict([]float64{4, tt.z}); math.Abs(got-tt.want) > 1e-8 {
			t.Errorf("label %v: %v, want %v", tt.z, got, tt.want)
		}
	}
	back, err := Decode(m.AppendBinary(nil), 2)
	if err != nil {
		t.Fatal(err)
	}
	pred, again := make([]float64, n), make([]float64, n)
	m.PredictBatch(X, pred)
	back.PredictBatch(X, again)
	for i := range n {
		if pred[i] != again[i] || pred[i] != m.Predict([]float64{X.Data[i], X.Data[n+i]}) {
			t.Fatalf("row %d: batch %v, reloaded %v", i, pred[i], again[i])
		}
	}
	if imp := m.Importances(); imp[1] <= 0 {
		t.Errorf("the category has no importance: %v", imp)
	}
}
