package tracking

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/exitcode"
)

func comparedRuns() []*Run {
	start := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	end := start.Add(3 * time.Second)
	lin := Lineage{DataMD5: "d", Seed: 42, TestFraction: 0.2}
	return []*Run{
		{ID: "r1", Name: "gradient_boosting", Model: "gradient_boosting", Status: StatusFinished, StartTime: start, EndTime: &end,
			Params: map[string]string{"max_iter": "100", "tol": "1e-07"}, Metrics: map[string]float64{"rmse": 0.50, "r2": 0.80, "fit_seconds": 3}, Lineage: lin},
		{ID: "r2", Name: "gradient_boosting", Model: "gradient_boosting", Status: StatusFinished, StartTime: start, EndTime: &end,
			Params: map[string]string{"max_iter": "200", "tol": "1e-07"}, Metrics: map[string]float64{"rmse": 0.52, "r2": 0.82, "fit_seconds": 2}, Lineage: lin},
		{ID: "r3", Name: "linear", Model: "linear", Status: StatusRunning, StartTime: start,
			Params: map[string]string{}, Metrics: map[string]float64{"rmse": 0.74}, Lineage: Lineage{DataMD5: "d", Seed: 7, TestFraction: 0.2}},
	}
}

func TestCompare(t *testing.T) {
	runs := comparedRuns()
	c := Compare(runs, []string{"a", "b", "c"}, runs[0].StartTime.Add(10*time.Second))
	if c.Runs[2].Seconds != 10 || c.Runs[0].Seconds != 3 || c.Runs[1].Label != "b" {
		t.Errorf("runs %+v", c.Runs)
	}
	if d := c.Deltas["rmse"]; d[0] != nil || math.Abs(*d[1]-0.02) > 1e-12 || math.Abs(*d[2]-0.24) > 1e-12 {
		t.Errorf("rmse deltas %v", d)
	}
	// rmse: lower is better; r2: higher; a time: lower.
	if c.Best["rmse"] != "r1" || c.Best["r2"] != "r2" || c.Best["fit_seconds"] != "r2" {
		t.Errorf("best %v", c.Best)
	}
	if !Differs(c.Params["max_iter"]) || Differs(c.Params["tol"][:2]) || *c.Params["tol"][0] != "1e-07" {
		t.Errorf("params %v", c.Params)
	}
	if c.Params["max_iter"][2] != nil || !Differs(c.Params["max_iter"]) {
		t.Error("a param a run lacks is nil, and differs")
	}
}

func TestGates(t *testing.T) {
	runs := comparedRuns()
	labels := []string{"base", "b", "c"}
	f, err := ParseFilter("metrics.rmse > 0.6")
	if err != nil {
		t.Fatal(err)
	}
	g := Gates{FailIf: f, MaxRegression: 0.05, Metric: "rmse", Baseline: true}.Check(runs, labels)
	if !g.Failed || len(g.Reasons) != 2 || !strings.Contains(g.Reasons[0], "c matches --fail-if") && !strings.Contains(g.Reasons[1], "c matches") {
		t.Errorf("reasons %v", g.Reasons)
	}
	if len(g.Warnings) != 1 || !strings.Contains(g.Warnings[0], "c was scored on other test rows") {
		t.Errorf("warnings %v", g.Warnings)
	}
	if g.ExitCode() != exitcode.Gate || !strings.HasPrefix(g.Error(), "gate failed: ") {
		t.Errorf("as an error: %d %q", g.ExitCode(), g.Error())
	}
	// b is 4% worse than the baseline: within 5%, past 3%.
	if g := (Gates{MaxRegression: 0.05, Metric: "rmse", Baseline: true}).Check(runs[:2], labels[:2]); g.Failed {
		t.Errorf("4%% within 5%%: %v", g.Reasons)
	}
	if g := (Gates{MaxRegression: 0.03, Metric: "rmse", Baseline: true}).Check(runs[:2], labels[:2]); !g.Failed || !strings.Contains(g.Reasons[0], "4.00% worse") {
		t.Errorf("4%% past 3%%: %v", g.Reasons)
	}
	// Higher is better for r2: b's 0.82 is an improvement.
	if g := (Gates{MaxRegression: 0, Metric: "r2", Baseline: true}).Check(runs[:2], labels[:2]); g.Failed {
		t.Errorf("r2 improved: %v", g.Reasons)
	}
	if g := (Gates{MaxRegression: 0.1, Metric: "mae", Baseline: true}).Check(runs[:2], labels[:2]); !g.Failed || !strings.Contains(g.Reasons[0], "no metric mae") {
		t.Errorf("missing metric: %v", g.Reasons)
	}
}

func TestRegressionAndFraction(t *testing.T) {
	for _, tc := range []struct {
		metric     string
		base, v, w float64
	}{
		{"rmse", 0.5, 0.55, 0.1}, {"rmse", 0.5, 0.45, -0.1}, {"r2", 0.8, 0.72, 0.1}, {"rmse", 0, 0.1, math.Inf(1)}, {"rmse", 0, 0, 0},
	} {
		if got := Regression(tc.metric, tc.base, tc.v); math.Abs(got-tc.w) > 1e-12 && got != tc.w {
			t.Errorf("Regression(%s, %v, %v) = %v, want %v", tc.metric, tc.base, tc.v, got, tc.w)
		}
	}
	for in, want := range map[string]float64{"2%": 0.02, "0.02": 0.02, " 5 % ": 0.05, "0": 0} {
		if got, err := ParseFraction(in); err != nil || math.Abs(got-want) > 1e-15 {
			t.Errorf("ParseFraction(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "x", "-1%", "NaN", "Inf"} {
		if _, err := ParseFraction(bad); err == nil {
			t.Errorf("ParseFraction(%q) accepted", bad)
		}
	}
}
