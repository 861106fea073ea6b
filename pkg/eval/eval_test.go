package eval

import (
	"math"
	"testing"
)

func TestCompute(t *testing.T) {
	truth := []float64{3, -0.5, 2, 7}
	pred := []float64{2.5, 0.0, 2, 8}
	m := Compute(truth, pred)
	// scikit-learn: mean_squared_error 0.375, mean_absolute_error 0.5, r2_score 0.9486081370449679
	want := map[string]float64{RMSE: math.Sqrt(0.375), MAE: 0.5, R2: 0.9486081370449679, MAPE: 100 * (0.5/3 + 1 + 0 + 1.0/7) / 4} // |-0.5-0|/0.5 = 1
	for k, w := range want {
		if math.Abs(m[k]-w) > 1e-12 {
			t.Errorf("%s = %v, want %v", k, m[k], w)
		}
	}
	if m := Compute([]float64{0, 0}, []float64{1, 1}); !math.IsNaN(m[MAPE]) {
		t.Errorf("MAPE with all-zero truth = %v, want NaN", m[MAPE])
	}
}

func TestDirection(t *testing.T) {
	if !Better(RMSE, 0.4, 0.5) || Better(RMSE, 0.5, 0.4) || !Better(R2, 0.9, 0.8) {
		t.Error("direction wrong")
	}
	if _, err := LowerIsBetter("accuracy"); err == nil {
		t.Error("unknown metric accepted")
	}
}

func TestQuantilesAndMeanStd(t *testing.T) {
	q := Quantiles([]float64{4, 1, 3, 2}, []float64{0, 0.5, 1, 0.25})
	for i, w := range []float64{1, 2.5, 4, 1.75} {
		if q[i] != w {
			t.Errorf("q[%d] = %v, want %v", i, q[i], w)
		}
	}
	m, s := MeanStd([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if m != 5 || s != 2 {
		t.Errorf("mean %v std %v", m, s)
	}
}
