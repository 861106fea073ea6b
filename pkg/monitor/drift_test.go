package monitor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/model"
)

func normals(r *rand.Rand, n int, mu, sd float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = mu + sd*r.NormFloat64()
	}
	return xs
}

func TestPSIAndKS(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	train := model.Matrix{Rows: 20000, Cols: 1, Data: normals(r, 20000, 0, 1)}
	ref := RefFromSummary(model.Summarize(train, train.Data, []string{"x"}, "y")[0])
	if got := ref.CDF(0); math.Abs(got-0.5) > 0.01 {
		t.Errorf("CDF(0) = %v", got)
	}
	if ref.CDF(-10) != 0 || ref.CDF(10) != 1 {
		t.Error("CDF outside the range")
	}
	same := normals(r, 5000, 0, 1)
	if p, k := PSI(ref, same), KS(ref, same); p > 0.02 || k > 0.03 {
		t.Errorf("same distribution: PSI %v, KS %v", p, k)
	}
	shifted := normals(r, 5000, 0.5, 1)
	if p, k := PSI(ref, shifted), KS(ref, shifted); p < 0.2 || k < 0.15 || k > 0.25 {
		t.Errorf("shifted by half a sd: PSI %v, KS %v (KS should be near 0.19)", p, k)
	}
	th := DefaultThresholds()
	if s := Measure(ref, same[:100], th).Status; s != StatusInsufficient {
		t.Errorf("100 rows: %s", s)
	}
	if res := Measure(ref, shifted, th); res.Status != StatusAlert || math.Abs(res.LiveMean-0.5) > 0.05 {
		t.Errorf("shifted: %+v", res)
	}
}

// California: held-out test rows do not alert; MedInc scaled by 1.3
// (issue 8's simulated shift) does, on MedInc and nowhere else among the
// features.
func TestCaliforniaShift(t *testing.T) {
	X, y, Xt, yt := testenv.California(t, true)
	feats := []string{"MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"}
	h := model.Header{Features: feats, Target: "MedHouseVal", Training: model.Summarize(X, y, feats, "MedHouseVal")}
	cols := make([][]float64, Xt.Cols)
	for j := range cols {
		cols[j] = Xt.Col(j)
	}
	rep, err := Drift(h, cols, yt, DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != StatusOK {
		t.Errorf("held-out rows drift: %+v", rep)
	}
	shifted := make([]float64, Xt.Rows)
	for i, v := range cols[0] {
		shifted[i] = v * 1.3
	}
	cols[0] = shifted
	rep, err = Drift(h, cols, yt, DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != StatusAlert || rep.Features[0].Status != StatusAlert {
		t.Errorf("MedInc × 1.3 did not alert: %+v", rep.Features[0])
	}
	for _, f := range rep.Features[1:] {
		if f.Status != StatusOK {
			t.Errorf("%s: %s (PSI %.3f, KS %.3f)", f.Name, f.Status, f.PSI, f.KS)
		}
	}
	t.Logf("MedInc × 1.3: PSI %.3f, KS %.3f", rep.Features[0].PSI, rep.Features[0].KS)
	if _, err := Drift(model.Header{Features: feats}, cols, yt, DefaultThresholds()); err == nil {
		t.Error("a header without a training summary was accepted")
	}
}
