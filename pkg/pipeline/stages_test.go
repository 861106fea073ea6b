package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/registry"
)

// housectlProject is a configuration over a synthetic data file, with
// the stages after fetch, in a directory of its own.
func housectlProject(t *testing.T) (*config.Loaded, string) {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("a,b,y\n")
	for range 600 {
		a, x := r.Float64()*10, r.Float64()*10
		fmt.Fprintf(&b, "%.6f,%.6f,%.6f\n", a, x, 1+2*a-x+a*x/5+r.NormFloat64()*0.2)
	}
	yaml := fmt.Sprintf(`version: 1
data: {path: %[1]s/d.csv}
schema:
  target: y
  columns: [{name: a, min: 0, max: 10}, {name: b}, {name: y}]
train:
  cv_folds: 0
  candidates: [linear, gradient_boosting]
  params: {gradient_boosting: {max_iter: 20}}
experiments: {dir: %[1]s/experiments}
pipeline:
  lock: %[1]s/housectl.lock
  stages: [validate, train, evaluate, register, promote]
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "d.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := config.LoadReader(strings.NewReader(yaml), "test.yaml", config.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return l, dir
}

func runStages(t *testing.T, l *config.Loaded) (string, error) {
	t.Helper()
	var log bytes.Buffer
	r := &Runner{LockPath: l.Config.Pipeline.Lock, Out: &log}
	g := registry.New(l.Config.Experiments.Dir, registry.Options{User: "ci"})
	err := r.Run(t.Context(), Stages(r, StageOptions{Loaded: l, Registry: g, Log: &log, Now: time.Now}), false)
	return log.String(), err
}

// The stages validate, train, evaluate against the holder, register and
// promote; run again, each is skipped; a changed training parameter
// trains, registers and evaluates again.
func TestHousectlStages(t *testing.T) {
	l, dir := housectlProject(t)
	out, err := runStages(t, l)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"d.csv: 600 rows, 3 columns: 0 error(s)", "best by test rmse: gradient_boosting", "no california@production yet", "registered california version 1", "california@production → version 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	g := registry.New(l.Config.Experiments.Dir, registry.Options{})
	if v, err := g.Alias("california", "production"); err != nil || v.Version != 1 || v.Model != "gradient_boosting" {
		t.Fatalf("production: %v, %v", v, err)
	}
	out, err = runStages(t, l)
	if err != nil || strings.Count(out, "didn't change, skipping") != 5 {
		t.Errorf("a second run: %v\n%s", err, out)
	}
	// Fewer iterations: a worse candidate, registered, evaluated against
	// version 1 on the same rows, and not promoted.
	l.Config.Train.Params["gradient_boosting"]["max_iter"] = 3
	out, err = runStages(t, l)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"registered california version 2", "vs california@production (version 1)", ": worse", "not promoted: version 2 has rmse"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	var ev map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "experiments", "evaluation.json"))
	if err != nil || json.Unmarshal(b, &ev) != nil || ev["verdict"] != "worse" || ev["metric"] != "rmse" {
		t.Errorf("evaluation.json: %s, %v", b, err)
	}
	if v, _ := g.Alias("california", "production"); v.Version != 1 {
		t.Errorf("a worse version took production: %d", v.Version)
	}
}

// Data that fails validation stops the pipeline at the validate stage
// with a validation error (exit 4), listing the problems.
func TestHousectlStagesStopOnInvalidData(t *testing.T) {
	l, dir := housectlProject(t)
	if err := os.WriteFile(filepath.Join(dir, "d.csv"), []byte("a,b,y\n11,1,1\nx,2,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runStages(t, l)
	if !errors.Is(err, dataset.ErrInvalid) || !strings.Contains(out, "outside the allowed range") || !strings.Contains(out, `"x" is not a number`) {
		t.Errorf("%v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "experiments")); err == nil {
		t.Error("the stages after validate ran")
	}
}
