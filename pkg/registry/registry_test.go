package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/tracking"
)

// newRuns makes a registry over a store with n finished runs, each with a
// model.bin artifact (arbitrary bytes: the registry only checksums it).
func newRuns(t *testing.T, n int) (*Registry, []*tracking.Run) {
	t.Helper()
	dir := t.TempDir()
	s := &tracking.Store{Dir: dir, Now: time.Now}
	var runs []*tracking.Run
	for i := range n {
		r, err := s.Start("california", "gradient_boosting", "gradient_boosting", map[string]string{"max_iter": strconv.Itoa(10 * (i + 1))}, nil,
			tracking.Lineage{DataMD5: "ca5b757f0729c68d74d05bf9d9ca8486", Seed: 42, TestFraction: 0.2})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WriteArtifact(r, "model.bin", []byte(fmt.Sprintf("model %d", i))); err != nil {
			t.Fatal(err)
		}
		if err := s.End(r, tracking.StatusFinished, map[string]float64{"rmse": 0.5 - float64(i)/100}, nil, nil); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	clock := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	g := &Registry{Root: dir, Store: s, User: "ana", Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}}
	return g, runs
}

func TestRegisterPromoteRollback(t *testing.T) {
	g, runs := newRuns(t, 3)
	ctx := t.Context()
	for i, r := range runs {
		v, err := g.Register(ctx, r, "california", "")
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != i+1 || v.RunID != r.ID || v.Metrics["rmse"] != r.Metrics["rmse"] || v.Params["model"] != "gradient_boosting" {
			t.Fatalf("version %+v", v)
		}
	}
	if _, err := g.Promote(ctx, "california", "production", 1, PromoteOptions{Reason: "first"}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Promote(ctx, "california", "production", 3, PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Promote(ctx, "california", "staging", 2, PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	v, err := g.Alias("california", "production")
	if err != nil || v.Version != 3 {
		t.Fatalf("production = %v, %v", v, err)
	}
	e, err := g.Rollback(ctx, "california", "production", "bad")
	if err != nil || e.From != 3 || e.To != 1 {
		t.Fatalf("rollback: %+v, %v", e, err)
	}
	if _, err := g.Rollback(ctx, "california", "production", ""); err == nil || !strings.Contains(err.Error(), "no earlier holder") {
		t.Errorf("rolling back past the first holder: %v", err)
	}
	m, err := g.Get("california")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.History) != 4 || m.History[0].Reason != "first" || m.History[0].User != "ana" || m.Aliases["production"] != 1 {
		t.Errorf("history %+v, aliases %v", m.History, m.Aliases)
	}
	// Every models:/ form resolves.
	for uri, want := range map[string]int{"models:/california/2": 2, "models:/california@production": 1, "models:/california/LATEST": 3, "models:/california@staging": 2} {
		u, err := ParseURI(uri)
		if err != nil {
			t.Fatal(err)
		}
		v, err := g.Resolve(u)
		if err != nil || v.Version != want {
			t.Errorf("%s: %v, %v; want version %d", uri, v, err, want)
		}
	}
	// A failed run cannot be registered; a changed artifact is refused.
	if err := os.Chmod(filepath.Join(runs[0].Dir(), "artifacts", "model.bin"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runs[0].Dir(), "artifacts", "model.bin"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if _, err := g.Register(ctx, runs[0], "california", ""); !errors.As(err, &ce) {
		t.Errorf("registering a tampered artifact: %v", err)
	}
}

func TestGateRefusesUnderLock(t *testing.T) {
	g, runs := newRuns(t, 2)
	ctx := t.Context()
	for _, r := range runs {
		if _, err := g.Register(ctx, r, "california", ""); err != nil {
			t.Fatal(err)
		}
	}
	refuse := errors.New("not better")
	var sawCurrent *Version
	gate := func(cur, cand *Version) error { sawCurrent = cur; return refuse }
	if _, err := g.Promote(ctx, "california", "production", 1, PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Promote(ctx, "california", "production", 2, PromoteOptions{Gate: gate}); !errors.Is(err, refuse) {
		t.Fatalf("gate error not returned: %v", err)
	}
	if sawCurrent == nil || sawCurrent.Version != 1 {
		t.Errorf("gate saw current %v, want version 1", sawCurrent)
	}
	if v, _ := g.Alias("california", "production"); v.Version != 1 {
		t.Errorf("a refused promotion moved the alias to %d", v.Version)
	}
}

// Concurrent promotions never lose a move: the history holds every one
// and the aliases agree with it.
func TestConcurrentPromotions(t *testing.T) {
	g, runs := newRuns(t, 4)
	ctx := context.Background()
	for _, r := range runs {
		if _, err := g.Register(ctx, r, "california", ""); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			// Each goroutine is its own registry, as separate processes are.
			h := *g
			if _, err := h.Promote(ctx, "california", "production", 1+i%4, PromoteOptions{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m, err := g.Get("california")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.History) < 4 || len(m.History) > n {
		t.Errorf("%d history events for %d promotions", len(m.History), n)
	}
}

func TestParseURIAndAliases(t *testing.T) {
	for _, bad := range []string{"models:/", "models:/a/b/c", "models:/a/", "models:/a@", "models:/a/Production", "models:/a/0", "runs:/x", "models:/a@latest", "models:/a@v2", "models:/a@x y"} {
		if _, err := ParseURI(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	u, err := ParseURI("models:/cal.v2@champion")
	if err != nil || u.Name != "cal.v2" || u.Alias != "champion" || u.String() != "models:/cal.v2@champion" {
		t.Errorf("%+v %v", u, err)
	}
	for _, a := range []string{"latest", "LATEST", "v1", "V12", "", "a.b", strings.Repeat("x", 256)} {
		if ValidateAlias(a) == nil {
			t.Errorf("alias %q accepted", a)
		}
	}
	for _, a := range []string{"production", "champion-2", "v1a", "x_y"} {
		if err := ValidateAlias(a); err != nil {
			t.Errorf("alias %q: %v", a, err)
		}
	}
}

// Aliases are MLflow's ^[\w\-]*$, with Python's Unicode \w, 1 to 255
// characters. What MLflow 2.17.2 says of each, from
//
//	from mlflow.utils.validation import _validate_model_alias_name
//	_validate_model_alias_name(alias)  # raises MlflowException, or not
func TestAliasesAsMLflow(t *testing.T) {
	for _, c := range []struct {
		alias  string
		ok     bool
		mlflow string // its error, when it refuses
	}{
		{"production", true, ""},
		{"producción", true, ""},
		{"本番", true, ""},
		{"prod-1_a", true, ""},
		{"Ⅻ", true, ""},  // a letter number (Nl)
		{"x²", true, ""}, // another number (No)
		{"١٢", true, ""}, // Arabic-Indic digits
		{"naïve", true, ""},
		{"ß", true, ""},
		{"Ωmega", true, ""},
		{"ǅ", true, ""}, // title case
		{"ʰ", true, ""}, // modifier letter
		{"〇", true, ""},
		{"_", true, ""},
		{"-", true, ""},
		{strings.Repeat("x", 255), true, ""},
		{strings.Repeat("é", 255), true, ""}, // 255 characters, 510 bytes
		{"v١", false, "Version alias name 'v١' is reserved."},
		{"V12", false, "Version alias name 'V12' is reserved."},
		{"LATEST", false, "'latest' alias name (case insensitive) is reserved."},
		{"e\u0301", false, "Invalid alias name: 'é'. Names may only contain alphanumerics, underscores (_), and dashes (-)."}, // a combining mark
		{"a b", false, "Invalid alias name: 'a b'. …"},
		{"a.b", false, "Invalid alias name: 'a.b'. …"},
		{"a/b", false, "Invalid alias name: 'a/b'. …"},
		{"😀", false, "Invalid alias name: '😀'. …"},
		{"tab\t", false, "Invalid alias name: 'tab\t'. …"},
		{"", false, "Registered model alias name cannot be empty."},
		{strings.Repeat("x", 256), false, "… had length 256, which exceeded length limit of 255"},
		// MLflow takes "prod\n" (Python's $ matches before a final line
		// break); housectl refuses it, on purpose.
		{"prod\n", false, ""},
		{"\xff", false, ""}, // not UTF-8
	} {
		err := ValidateAlias(c.alias)
		if (err == nil) != c.ok {
			t.Errorf("alias %q: %v; MLflow: ok %v %s", c.alias, err, c.ok, c.mlflow)
		}
	}
	u, err := ParseURI("models:/california@producción")
	if err != nil || u.Alias != "producción" {
		t.Errorf("models:/california@producción: %+v %v", u, err)
	}
}
