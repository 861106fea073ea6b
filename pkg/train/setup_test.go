package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/tracking"
)

// synthetic writes n rows of y = 1 + 2a - b + 0.5c + a*b/10 + noise and
// returns a configuration that trains on them, quickly.
func synthetic(t *testing.T, n int, seed uint64) config.Config {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("a,b,c,y\n")
	for range n {
		a, x, c := r.Float64()*10, r.Float64()*10, r.Float64()*10
		fmt.Fprintf(&b, "%.6f,%.6f,%.6f,%.6f\n", a, x, c, 1+2*a-x+0.5*c+a*x/10+r.NormFloat64()*0.3)
	}
	path := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Data.Path = path
	cfg.Experiments.Dir = filepath.Join(dir, "experiments")
	cfg.Schema = config.Schema{Target: "y", Duplicates: config.DuplicatesWarn, Columns: []config.Column{
		{Name: "a", Type: config.TypeNumber}, {Name: "b", Type: config.TypeNumber}, {Name: "c", Type: config.TypeNumber}, {Name: "y", Type: config.TypeNumber}}}
	cfg.Train.CVFolds = 2
	cfg.Train.Params = map[string]map[string]any{
		"random_forest":     {"n_estimators": 10},
		"gradient_boosting": {"max_iter": 30},
	}
	return cfg
}

func TestOverrides(t *testing.T) {
	cfg := config.Defaults()
	for _, tc := range []struct {
		ov   Overrides
		want string // error, or "" for success
		kind string // the model whose param is checked
		key  string
		val  any
	}{
		{ov: Overrides{Models: []string{"gradient_boosting"}, Sets: []string{"learning_rate=0.3"}}, kind: "gradient_boosting", key: "learning_rate", val: 0.3},
		{ov: Overrides{Sets: []string{"gradient_boosting.max_iter=50"}}, kind: "gradient_boosting", key: "max_iter", val: 50},
		{ov: Overrides{Models: []string{"random_forest", "random_forest"}, Sets: []string{"n_estimators=7"}}, kind: "random_forest", key: "n_estimators", val: 7},
		{ov: Overrides{Sets: []string{"learning_rate=0.3"}}, want: "names no model, and 3 are trained"},
		{ov: Overrides{Models: []string{"linear"}, Sets: []string{"gradient_boosting.learning_rate=0.1"}}, want: "gradient_boosting is not trained"},
		{ov: Overrides{Models: []string{"gradient_boosting"}, Sets: []string{"max_iters=5"}}, want: `gradient_boosting has no parameter "max_iters"`},
		{ov: Overrides{Models: []string{"random_forest"}, Sets: []string{"n_estimators=0"}}, want: "n_estimators"},
		{ov: Overrides{Sets: []string{"novalue"}}, want: "want KIND.PARAM=VALUE"},
		{ov: Overrides{Sets: []string{".x=1"}}, want: "want KIND.PARAM=VALUE"},
	} {
		got, err := tc.ov.Apply(cfg)
		if tc.want != "" {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%+v: %v, want an InputError saying %q", tc.ov, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tc.ov, err)
			continue
		}
		if v := got.Train.Params[tc.kind][tc.key]; v != tc.val {
			t.Errorf("%+v: %s.%s = %v (%T), want %v", tc.ov, tc.kind, tc.key, v, v, tc.val)
		}
		if len(cfg.Train.Params) != 0 {
			t.Fatal("Apply changed its input")
		}
	}
}

// The recorded configuration hash follows every effective change, --set
// included (it did not: two learning rates gave one hash).
func TestConfigHashFollowsOverrides(t *testing.T) {
	cfg := config.Defaults()
	hash := func(rate string) string {
		c, err := Overrides{Models: []string{"gradient_boosting"}, Sets: []string{"learning_rate=" + rate}}.Apply(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return ConfigHash(c)
	}
	a, b, again := hash("0.1"), hash("0.3"), hash("0.1")
	if a == b || a != again || ConfigHash(cfg) == a {
		t.Error("the configuration hash does not follow --set")
	}
}

// FromConfig trains every candidate with cross-validation, records one
// run each with its effective configuration and lineage, and picks the
// best; the same request trains the same models.
func TestFromConfig(t *testing.T) {
	cfg := synthetic(t, 400, 1)
	var events []Progress
	req := Request{Config: cfg, Overrides: Overrides{Sets: []string{"gradient_boosting.learning_rate=0.2"}}, Tags: map[string]string{"owner": "ana"},
		Now: time.Now, Lineage: LineageOptions{Version: "test", GoVersion: "go", User: "ana"}, Progress: func(p Progress) { events = append(events, p) }}
	res, eff, err := FromConfig(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Candidates) != 3 || res.TrainRows != 320 || res.TestRows != 80 || res.Metric != "rmse" {
		t.Fatalf("result %+v", res)
	}
	if eff.Train.Params["gradient_boosting"]["learning_rate"] != 0.2 {
		t.Errorf("effective params %v", eff.Train.Params)
	}
	best := res.Candidates[res.Best]
	for _, c := range res.Candidates {
		if c.Metrics["rmse"] < best.Metrics["rmse"] {
			t.Errorf("%s (%v) beats the best %s (%v)", c.Model, c.Metrics["rmse"], best.Model, best.Metrics["rmse"])
		}
		if c.CV == nil || c.CV["rmse"] <= 0 {
			t.Errorf("%s: no cross-validation: %v", c.Model, c.CV)
		}
		r, err := tracking.Load(c.RunDir)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != tracking.StatusFinished || r.Tags["owner"] != "ana" || r.Lineage.ConfigSHA256 != ConfigHash(eff) || r.Lineage.DataRows != 400 || r.Lineage.User != "ana" {
			t.Errorf("%s: run %+v", c.Model, r)
		}
		if _, err := os.Stat(filepath.Join(c.RunDir, "config.json")); err != nil {
			t.Errorf("%s: the effective configuration is not kept: %v", c.Model, err)
		}
	}
	if len(events) == 0 || events[0].Of != 3 || events[len(events)-1].Candidate != "gradient_boosting" {
		t.Errorf("%d progress events", len(events))
	}
	// The same request again: byte-identical models.
	again, _, err := FromConfig(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Candidates {
		if res.Candidates[i].Artifact.SHA256 != again.Candidates[i].Artifact.SHA256 {
			t.Errorf("%s: a second training gave another model", res.Candidates[i].Model)
		}
	}
}

// A separate test file: trained on all of the data, scored on the file.
func TestFromConfigWithTestData(t *testing.T) {
	cfg := synthetic(t, 300, 2)
	test := synthetic(t, 100, 3)
	res, _, err := FromConfig(t.Context(), Request{Config: cfg, Overrides: Overrides{Models: []string{"linear"}}, TestData: test.Data.Path})
	if err != nil {
		t.Fatal(err)
	}
	if res.TrainRows != 300 || res.TestRows != 100 {
		t.Errorf("rows %d/%d", res.TrainRows, res.TestRows)
	}
	r, _ := tracking.Load(res.Candidates[0].RunDir)
	if r.Lineage.TestDataPath != test.Data.Path || r.Lineage.TestDataMD5 == "" || !strings.HasPrefix(r.Lineage.TestSet(), "file md5 ") {
		t.Errorf("lineage %+v", r.Lineage)
	}
}

// Bad input is an InputError before any run is written.
func TestFromConfigRefusesBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*config.Config) Request
		want string
	}{
		"unknown model": {func(c *config.Config) Request {
			return Request{Config: *c, Overrides: Overrides{Models: []string{"svm"}}}
		}, "svm"},
		"missing data": {func(c *config.Config) Request {
			c.Data.Path = filepath.Join(t.TempDir(), "none.csv")
			return Request{Config: *c}
		}, "none.csv"},
		"bad metric": {func(c *config.Config) Request { c.Train.Metric = "auc"; return Request{Config: *c} }, "train.metric"},
		"params of an unknown model": {func(c *config.Config) Request {
			c.Train.Params["svm"] = map[string]any{"c": 1}
			return Request{Config: *c}
		}, `unknown model "svm"`},
		"too many folds": {func(c *config.Config) Request { c.Train.CVFolds = 100; return Request{Config: *c} }, "folds"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := synthetic(t, 60, 4)
			_, _, err := FromConfig(context.Background(), tc.edit(&cfg))
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an InputError saying %q", err, tc.want)
			}
			if runs, _ := (&tracking.Store{Dir: cfg.Experiments.Dir}).List(""); len(runs) != 0 {
				t.Errorf("%d runs written", len(runs))
			}
		})
	}
}

// A constant target, and a feature linear regression cannot use, are
// refused before any run.
func TestFromConfigRefusesDegenerateData(t *testing.T) {
	dir := t.TempDir()
	cfg := synthetic(t, 50, 5)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var constant, collinear strings.Builder
	constant.WriteString("a,b,c,y\n")
	collinear.WriteString("a,b,c,y\n")
	for i := range 40 {
		fmt.Fprintf(&constant, "%d,%d,%d,3\n", i, i%7, i%5)
		fmt.Fprintf(&collinear, "%d,%d,%d,%d\n", i, 2*i, i%5, i*i%11)
	}
	if _, _, err := FromConfig(t.Context(), Request{Config: cfg, Data: write("constant.csv", constant.String())}); err == nil || !strings.Contains(err.Error(), "is constant") {
		t.Errorf("a constant target: %v", err)
	}
	if _, _, err := FromConfig(t.Context(), Request{Config: cfg, Overrides: Overrides{Models: []string{"linear"}}, Data: write("collinear.csv", collinear.String())}); err == nil || !strings.Contains(err.Error(), "linear") {
		t.Errorf("collinear features: %v", err)
	}
}

// A cancelled training marks its run KILLED.
func TestCancelledTrainingIsKilled(t *testing.T) {
	cfg := synthetic(t, 400, 6)
	ctx, cancel := context.WithCancel(t.Context())
	var once bool
	_, _, err := FromConfig(ctx, Request{Config: cfg, Overrides: Overrides{Models: []string{"gradient_boosting"}, Sets: []string{"max_iter=100000", "early_stopping=false"}},
		Progress: func(p Progress) {
			if !once {
				once = true
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	runs, _ := (&tracking.Store{Dir: cfg.Experiments.Dir}).List("")
	if len(runs) != 1 || runs[0].Status != tracking.StatusKilled {
		t.Errorf("runs %v", runs)
	}
}

func TestParseTags(t *testing.T) {
	tags, err := ParseTags([]string{"owner=ana", "note=a=b", "empty="})
	if err != nil || tags["owner"] != "ana" || tags["note"] != "a=b" || tags["empty"] != "" {
		t.Errorf("%v %v", tags, err)
	}
	if _, err := ParseTags([]string{"=x"}); err == nil {
		t.Error("an empty key was taken")
	}
}
