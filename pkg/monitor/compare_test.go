package monitor

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/housectl/housectl/pkg/store"
)

// golden is testdata/scipy-compare.json, written by
// scripts/scipy/compare_golden.py with scipy 1.10.1 (the calls are in its
// docstring: scipy.stats.t.interval, ttest_rel, ttest_ind(equal_var=False),
// t.ppf and norm.ppf).
type golden struct {
	Scipy string `json:"scipy"`
	Cases []struct {
		Name       string    `json:"name"`
		Confidence float64   `json:"confidence"`
		MinEffect  float64   `json:"min_effect"`
		AErrors    []float64 `json:"a_errors"`
		BErrors    []float64 `json:"b_errors"`
		A, B       struct {
			N               int
			RMSE, MAE, Bias Interval
		}
		Test struct {
			Kind       string   `json:"kind"`
			T          float64  `json:"t"`
			P          float64  `json:"p"`
			DF         float64  `json:"df"`
			Diff       Interval `json:"diff"`
			MinEffect  float64  `json:"min_effect"`
			SampleSize int      `json:"sample_size"`
		} `json:"test"`
		Verdict string `json:"verdict"`
	} `json:"cases"`
}

// close within 1e-6, relative for large values and absolute near 0; a
// p-value is compared on its logarithm when it is tiny.
func near(got, want float64) bool {
	if want != 0 && math.Abs(want) < 1e-6 {
		return math.Abs(math.Log(got)-math.Log(want)) < 1e-6
	}
	return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want))
}

func nearIv(got, want Interval) bool {
	return near(got.Value, want.Value) && near(got.Low, want.Low) && near(got.High, want.High)
}

func TestCompareAgainstScipy(t *testing.T) {
	b, err := os.ReadFile("testdata/scipy-compare.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			o := CompareOptions{Confidence: c.Confidence, MinEffect: c.MinEffect}
			a := Stats("a", "1", c.AErrors, o.Confidence)
			bs := Stats("b", "2", c.BErrors, o.Confidence)
			for _, v := range []struct {
				name      string
				got, want Interval
			}{{"a rmse", a.RMSE, c.A.RMSE}, {"a mae", a.MAE, c.A.MAE}, {"a bias", a.Bias, c.A.Bias},
				{"b rmse", bs.RMSE, c.B.RMSE}, {"b mae", bs.MAE, c.B.MAE}, {"b bias", bs.Bias, c.B.Bias}} {
				if !nearIv(v.got, v.want) {
					t.Errorf("%s: %+v, scipy %+v", v.name, v.got, v.want)
				}
			}
			var cmp Comparison
			if c.Test.Kind == "paired" {
				cmp, err = ComparePaired(a, bs, c.AErrors, c.BErrors, o)
			} else {
				cmp, err = CompareWelch(a, bs, c.AErrors, c.BErrors, o)
			}
			if err != nil {
				t.Fatal(err)
			}
			tt := cmp.Test
			if !near(tt.T, c.Test.T) || !near(tt.P, c.Test.P) || !near(tt.DF, c.Test.DF) || !nearIv(tt.Diff, c.Test.Diff) || !near(tt.MinEffect, c.Test.MinEffect) {
				t.Errorf("test: %+v\nscipy: %+v", tt, c.Test)
			}
			if cmp.Verdict != c.Verdict {
				t.Errorf("verdict %s (%s), want %s", cmp.Verdict, cmp.Why, c.Verdict)
			}
			if cmp.Verdict == VerdictUndecided && tt.SampleSize != c.Test.SampleSize {
				t.Errorf("sample size %d, scipy's formula %d", tt.SampleSize, c.Test.SampleSize)
			}
		})
	}
}

// Collect pairs a shadow's rows with the served ones by request and row,
// and keeps each variant's newest version.
func TestCollect(t *testing.T) {
	j := func(id int64, req string, row int, variant, version string, shadow bool, pred, actual float64) store.Joined {
		return store.Joined{Row: store.Row{ID: id, RequestID: req, Row: row, Variant: variant, Version: version, Shadow: shadow, Prediction: pred}, Actual: actual}
	}
	rows := []store.Joined{
		j(1, "old", 0, "challenger", "1", true, 9, 0), // an older challenger version
		j(2, "r1", 0, "production", "1", false, 1, 0),
		j(3, "r1", 0, "challenger", "2", true, 0.5, 0),
		j(4, "r2", 1, "production", "1", false, 2, 0),
		j(5, "r2", 1, "challenger", "2", true, 1, 0),
		j(6, "r3", 0, "production", "1", false, 3, 0), // no shadow row
	}
	p := Collect(rows, "production", "challenger")
	if p.VersionA != "1" || p.VersionB != "2" || len(p.A) != 3 || len(p.B) != 2 ||
		len(p.PairedA) != 2 || p.PairedA[1] != 2 || p.PairedB[1] != 1 {
		t.Errorf("%+v", p)
	}
}
