package tracking

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A finished run is sealed: an edit to run.json is an integrity error,
// and a run.json from before seals (none) still loads.
func TestRunIsSealed(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Now: time.Now}
	r, err := s.Start("california", "gbt", "gradient_boosting", map[string]string{"max_iter": "100", "tol": "1e-07", "seed": "9223372036854775809"}, nil, Lineage{DataMD5: "ca5b757f0729c68d74d05bf9d9ca8486", Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.End(r, StatusFinished, map[string]float64{"rmse": 0.51}, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, err := Load(r.Dir())
	if err != nil || got.Seal == "" || got.Seal != r.Seal {
		t.Fatalf("Load: %+v, %v", got, err)
	}
	p := filepath.Join(r.Dir(), RunFile)
	orig, _ := os.ReadFile(p)
	edit := func(old, new string) {
		t.Helper()
		if !strings.Contains(string(orig), old) {
			t.Fatalf("run.json has no %q", old)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(orig), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit(`"rmse": 0.51`, `"rmse": 0.1`)
	var ce *CorruptError
	if _, err := Load(r.Dir()); !errors.As(err, &ce) || ce.Path != p {
		t.Errorf("edited metric: %v, want a CorruptError", err)
	}
	if runs, errs := s.List(""); len(runs) != 0 || len(errs) != 1 || !errors.As(errs[0], &ce) {
		t.Errorf("List: %v, %v", runs, errs)
	}
	// Removing the seal makes it a pre-seal run: it loads (the registry
	// still cross-checks its versions against it).
	unsealed := strings.Replace(string(orig), `"seal": "`+r.Seal+`"`, `"name2": ""`, 1)
	unsealed = strings.Replace(unsealed, `,
  "name2": ""`, ``, 1)
	if err := os.WriteFile(p, []byte(unsealed), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(r.Dir()); err != nil || got.Seal != "" || got.Metrics["rmse"] != 0.51 {
		t.Errorf("a run without a seal: %+v, %v", got, err)
	}
}
