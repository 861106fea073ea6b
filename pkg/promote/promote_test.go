package promote

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/exitcode"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/train"
)

func TestCompareRecorded(t *testing.T) {
	lin := tracking.Lineage{DataMD5: "d", Seed: 1, TestFraction: 0.2}
	c := func(rmse, r2 float64) Contender {
		return Contender{Label: "x", Metrics: map[string]float64{"rmse": rmse, "r2": r2}, Lineage: lin}
	}
	for _, tc := range []struct {
		cand, holder Contender
		metric, want string
	}{
		{c(0.4, 0.9), c(0.5, 0.8), "rmse", Better},
		{c(0.6, 0.9), c(0.5, 0.8), "rmse", Worse},
		{c(0.5, 0.9), c(0.5, 0.8), "rmse", Equal},
		{c(0.6, 0.9), c(0.5, 0.8), "r2", Better},
		{c(0.6, 0.9), c(0.5, 0.8), "mae", NotComparable},
	} {
		got := Compare(tc.cand, tc.holder, tc.metric, config.Schema{})
		if got.Verdict != tc.want || got.Rescored != 0 {
			t.Errorf("%s: %+v, want %s", tc.metric, got, tc.want)
		}
	}
}

// project trains two linear models on one data file with different
// seeds (so different test rows) and registers them.
func project(t *testing.T) (*registry.Registry, config.Config, []*registry.Version) {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	b.WriteString("a,b,y\n")
	for range 2000 {
		a, x := r.Float64()*10, r.Float64()*10
		fmt.Fprintf(&b, "%.6f,%.6f,%.6f\n", a, x, 1+2*a-x+r.NormFloat64())
	}
	path := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Data.Path, cfg.Experiments.Dir = path, filepath.Join(dir, "experiments")
	cfg.Schema = config.Schema{Target: "y", Duplicates: config.DuplicatesAllow, Columns: []config.Column{{Name: "a"}, {Name: "b"}, {Name: "y"}}}
	cfg.Train.CVFolds, cfg.Train.TestFraction, cfg.Train.Candidates = 0, 0.4, []string{"linear"}
	store := &tracking.Store{Dir: cfg.Experiments.Dir, Now: time.Now}
	g := &registry.Registry{Root: store.Dir, Store: store, Now: time.Now, User: "ana"}
	var vs []*registry.Version
	for _, seed := range []int64{1, 2} {
		c := cfg
		c.Train.Seed = seed
		res, _, err := train.FromConfig(t.Context(), train.Request{Config: c})
		if err != nil {
			t.Fatal(err)
		}
		run, err := store.Find(res.Candidates[0].RunID)
		if err != nil {
			t.Fatal(err)
		}
		v, err := g.Register(t.Context(), run, "california", "")
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return g, cfg, vs
}

// Versions scored on different rows are scored again on the rows neither
// trained on; a changed data file makes them not comparable.
func TestCompareRescores(t *testing.T) {
	g, cfg, vs := project(t)
	c := Compare(Version(g, vs[1]), Version(g, vs[0]), "rmse", cfg.Schema)
	if c.Rescored < 200 || c.Verdict == NotComparable || c.Candidate <= 0 || c.Holder <= 0 {
		t.Fatalf("%+v", c)
	}
	// The run and its version are the same contender.
	run, _ := g.Store.Find(vs[1].RunID)
	if c2 := Compare(Run(g.Store, run), Version(g, vs[0]), "rmse", cfg.Schema); c2 != c {
		t.Errorf("as a run %+v, as a version %+v", c2, c)
	}
	if err := os.WriteFile(cfg.Data.Path, []byte("a,b,y\n1,2,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := Compare(Version(g, vs[1]), Version(g, vs[0]), "rmse", cfg.Schema); c.Verdict != NotComparable || !strings.Contains(c.Why, "restore that file") {
		t.Errorf("a changed data file: %+v", c)
	}
}

// Promote with IfBetter moves an unset alias, then refuses a version that
// is not better than the holder (exit status 5) and moves nothing.
func TestPromoteIfBetter(t *testing.T) {
	g, cfg, vs := project(t)
	ctx := t.Context()
	o := Options{IfBetter: true, Metric: "rmse", Schema: cfg.Schema}
	if _, err := Promote(ctx, g, "california", "production", 1, o); err != nil {
		t.Fatal(err)
	}
	c := Compare(Version(g, vs[1]), Version(g, vs[0]), "rmse", cfg.Schema)
	_, err := Promote(ctx, g, "california", "production", 2, o)
	var refused *RefusedError
	switch c.Verdict {
	case Better:
		if err != nil {
			t.Fatalf("a better version was refused: %v", err)
		}
	default:
		if !errors.As(err, &refused) || refused.ExitCode() != exitcode.Gate || !strings.Contains(err.Error(), "not promoted: rescored on the") {
			t.Fatalf("a %s version: %v", c.Verdict, err)
		}
		if v, _ := g.Alias("california", "production"); v.Version != 1 {
			t.Error("a refused promotion moved the alias")
		}
	}
	m, _ := g.Get("california")
	if m.History[0].Reason != "--if-better on rmse" {
		t.Errorf("reason %q", m.History[0].Reason)
	}
	// The gate judges the holder the move replaces, in both directions.
	holder := m.Aliases["production"]
	other := 3 - holder
	_, err = Promote(ctx, g, "california", "production", other, o)
	if (err == nil) == (Compare(Version(g, vs[other-1]), Version(g, vs[holder-1]), "rmse", cfg.Schema).Verdict != Better) {
		t.Errorf("promoting version %d over %d: %v", other, holder, err)
	}
}
