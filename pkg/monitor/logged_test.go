package monitor

import (
	"math"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/store"
)

func TestPerformance(t *testing.T) {
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	j := func(version string, at time.Duration, pred, actual float64) store.Joined {
		return store.Joined{Row: store.Row{Version: version, Time: from.Add(at), Prediction: pred}, Actual: actual}
	}
	joined := []store.Joined{
		j("2", 10*time.Minute, 1, 2), j("2", 70*time.Minute, 3, 3),
		j("10", time.Minute, 5, 4), j("10", 2*time.Minute, 5, 6), j("10", 65*time.Minute, 2, 2),
	}
	got := Performance(joined, from, time.Hour)
	// Versions in numeric order; the window first, then each hour.
	var order []string
	for _, p := range got {
		order = append(order, p.Version+"@"+p.From.Format("15:04"))
	}
	want := []string{"2@00:00", "2@00:00", "2@01:00", "10@00:00", "10@00:00", "10@01:00"}
	for i := range want {
		if i >= len(order) || order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	all2 := got[0]
	if all2.Rows != 2 || math.Abs(all2.RMSE-math.Sqrt(0.5)) > 1e-12 || all2.MAE != 0.5 || !all2.From.IsZero() {
		t.Errorf("version 2 over the window: %+v", all2)
	}
	if h := got[2]; h.Rows != 1 || h.RMSE != 0 || h.R2 != 0 {
		t.Errorf("one row: %+v (R² undefined is 0)", h)
	}
	if all := Performance(joined, from, 0); len(all) != 2 {
		t.Errorf("no buckets: %+v", all)
	}
}

func TestDriftOfLoggedRows(t *testing.T) {
	X := model.Matrix{Rows: 1000, Cols: 2, Data: make([]float64, 2000)}
	y := make([]float64, 1000)
	for i := range 1000 {
		X.Data[i], X.Data[1000+i], y[i] = float64(i%100), float64(i%50), float64(i%10)
	}
	h := model.Header{Features: []string{"a", "b"}, Target: "y", Training: model.Summarize(X, y, []string{"a", "b"}, "y")}
	var rows []store.Row
	for i := range 400 {
		rows = append(rows, store.Row{Features: map[string]float64{"a": float64(i%100) + 60, "b": float64(i % 50)}, Prediction: float64(i % 10)})
	}
	rows = append(rows, store.Row{Features: map[string]float64{"b": 1}, Prediction: 1}) // a row without a
	cols, preds := Columns(h, rows)
	if len(cols[0]) != 400 || len(cols[1]) != 401 || len(preds) != 401 {
		t.Fatalf("columns %d, %d; %d predictions", len(cols[0]), len(cols[1]), len(preds))
	}
	rep, _, err := DriftOf(h, rows, DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Features[0].Status != StatusAlert || rep.Features[1].Status != StatusOK {
		t.Errorf("shifted a: %s; b as trained: %s", rep.Features[0].Status, rep.Features[1].Status)
	}
}
