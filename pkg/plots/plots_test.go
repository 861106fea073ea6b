package plots

import (
	"bytes"
	"image/png"
	"math"
	"testing"
)

func TestChartsArePNGs(t *testing.T) {
	truth := []float64{1, 2, 3, 4, 5}
	pred := []float64{1.1, 1.9, 3.2, 3.8, 5.3}
	charts := map[string]func() ([]byte, error){
		"predicted":   func() ([]byte, error) { return PredictedVsActual("t", truth, pred) },
		"residuals":   func() ([]byte, error) { return Residuals("t", truth, pred) },
		"importances": func() ([]byte, error) { return Importances("t", []string{"a", "b", "c"}, []float64{0.2, 0.5, 0.3}) },
		"loss":        func() ([]byte, error) { return LossCurve("t", []float64{3, 2, 1}, []float64{3.5, 2.5, math.NaN()}, 2) },
	}
	for name, draw := range charts {
		b, err := draw()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", name, err)
		}
		if r := img.Bounds(); r.Dx() != 576 || r.Dy() != 432 {
			t.Errorf("%s: %v, want 576x432 (6x4.5 in at 96 dpi)", name, r)
		}
	}
}
