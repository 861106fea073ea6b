package tracking

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testRuns() []*Run {
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	end := t0.Add(time.Minute)
	return []*Run{
		{ID: "a1", Name: "gradient_boosting", Model: "gradient_boosting", Status: StatusFinished, StartTime: t0, EndTime: &end,
			Params:  map[string]string{"learning_rate": "0.22", "max_iter": "50", "early_stopping": "False"},
			Metrics: map[string]float64{"rmse": 0.477, "r2": 0.83, "val rmse": 0.5},
			Tags:    map[string]string{"stage": "production", "max-depth": "x"}, Lineage: Lineage{GitCommit: "abc123", DataMD5: "ca5b", DataPath: "data/california.csv", TestDataPath: "data/holdout.csv", TestDataMD5: "9f1e"}, dir: "experiments/california/a1"},
		{ID: "b2", Name: "random_forest", Model: "random_forest", Status: StatusFinished, StartTime: t0.Add(time.Second),
			Params:  map[string]string{"n_estimators": "100", "max_features": "0.333"},
			Metrics: map[string]float64{"rmse": 0.51, "r2": math.NaN()},
			Tags:    map[string]string{"stage": "Staging"}, Lineage: Lineage{GitCommit: "def456"}},
		{ID: "c3", Name: "linear", Model: "linear", Status: StatusRunning, StartTime: t0.Add(2 * time.Second),
			Params: map[string]string{"alpha": "0.0"}},
	}
}

func TestFilterMatches(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", []string{"a1", "b2", "c3"}},
		{"metrics.rmse < 0.5", []string{"a1"}},
		{"metrics.rmse < 0.5 and params.model = 'gradient_boosting' and tags.git_commit = 'abc123'", []string{"a1"}},
		{"metric.rmse >= 0.477 AND metric.rmse <= 0.51", []string{"a1", "b2"}},
		{"metrics.rmse != 0.477", []string{"b2"}}, // c3 has no rmse: never matches
		{"params.n_estimators = '100'", []string{"b2"}},
		{`params.learning_rate = "0.22"`, []string{"a1"}},
		{"params.early_stopping = 'False'", []string{"a1"}},
		{"params.model != 'linear'", []string{"a1", "b2"}},
		{"tags.stage LIKE 'prod%'", []string{"a1"}},
		{"tags.stage ILIKE 's_AGING'", []string{"b2"}},
		{"tags.stage LIKE 'S%'", []string{"b2"}},
		{"tags.`max-depth` = 'x'", []string{"a1"}},
		{`metrics."val rmse" = 0.5`, []string{"a1"}},
		{"status = 'RUNNING'", []string{"c3"}},
		{"attributes.run_id IN ('a1', 'c3')", []string{"a1", "c3"}},
		{"run_id NOT IN ('a1')", []string{"b2", "c3"}},
		{"attributes.run_name = 'linear'", []string{"c3"}},
		{"end_time > 0", []string{"a1"}},
		{"tags.mlflow.source.git.commit = 'def456'", []string{"b2"}},
		{"tags.data_md5 = 'ca5b'", []string{"a1"}},
		// Issue 19: what MLflow 2.17.2 accepts.
		{"`metrics`.rmse < 0.5", []string{"a1"}},
		{"`metrics`.`rmse` < 0.5 and", []string{"a1"}},
		{"and metrics.rmse < 0.5 AND and", []string{"a1"}},
		{"attributes.artifact_uri LIKE 'file:///%/a1/artifacts'", []string{"a1"}},
		{"datasets.name = 'california.csv'", []string{"a1"}},
		{"datasets.digest IN ('9f1e', 'zzz')", []string{"a1"}},
		{"datasets.context = 'testing' and datasets.name = 'holdout.csv'", []string{"a1"}},
		{"dataset.name != 'x'", []string{"a1"}}, // the others have no datasets
		{"created > 0 and `run name` LIKE 'l%'", []string{"c3"}},
		{"metrics.rmse < .5", []string{"a1"}},
		{"metrics.rmse >= 5.e-1", []string{"b2"}},
	} {
		f, err := ParseFilter(tc.filter)
		if err != nil {
			t.Errorf("%q: %v", tc.filter, err)
			continue
		}
		var got []string
		for _, r := range testRuns() {
			if f.Match(r) {
				got = append(got, r.ID)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q matched %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func TestFilterErrorsPointAtTheProblem(t *testing.T) {
	for _, tc := range []struct {
		filter string
		pos    int
		msg    string
	}{
		{"metrics.rmse << 0.5", 15, "needs a number"},
		{"metrics.rmse < 0.5 or params.model = 'x'", 20, "OR is not supported"},
		{"metrics.rmse < 'low'", 16, "needs a number"},
		{"params.max_iter = 50", 19, "needs a quoted string"},
		{"params.model > 'a'", 14, "is a string"},
		{"foo.rmse < 1", 1, `invalid entity type "foo"`},
		{"METRICS.rmse < 1", 1, `invalid entity type "METRICS": entity types are lower case (metrics.)`},
		{"duration > 3", 1, `invalid attribute key "duration"`},
		{"metrics.rmse == 1", 14, "invalid comparator '=='"},
		{"metrics.rmse < +1", 16, "needs a number"},
		{"metrics.rmse < inf", 16, "needs a number"},
		{"metrics.rmse < nan", 16, "needs a number"},
		{"attributes.status IN ('FINISHED')", 19, "only attributes.run_id and datasets.* take a list"},
		{"datasets.size = '1'", 10, `invalid dataset key "size"`},
		{"run name = 'x'", 1, `invalid attribute key "run"`},
		{"tags.stage = 'prod", 14, "unterminated"},
		{"(metrics.rmse < 1)", 1, "parentheses"},
		{"metrics.rmse < 1 metrics.mae < 1", 18, "expected AND before the next comparison"},
		{"params.model IN ('a')", 14, "only attributes.run_id and datasets.* take a list"},
		{"metrics.rmse LIKE '0.%'", 14, "compares numbers"},
	} {
		_, err := ParseFilter(tc.filter)
		var fe *FilterError
		if !errors.As(err, &fe) {
			t.Errorf("%q: error %v, want a FilterError", tc.filter, err)
			continue
		}
		if fe.Pos+1 != tc.pos || !contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v (position %d), want position %d and %q", tc.filter, err, fe.Pos+1, tc.pos, tc.msg)
		}
	}
	_, err := ParseFilter("metrics.rmse << 0.5")
	// The message shows the filter with a caret under the spot.
	if !contains(err.Error(), "\n  metrics.rmse << 0.5\n  "+strings.Repeat(" ", 14)+"^") {
		t.Errorf("caret missing or misplaced:\n%v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestSortRuns(t *testing.T) {
	ids := func(keys ...string) []string {
		var order []OrderBy
		for _, k := range keys {
			o, err := ParseOrderBy(k)
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, o)
		}
		runs := testRuns()
		SortRuns(runs, order)
		var out []string
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		keys []string
		want []string
	}{
		{nil, []string{"c3", "b2", "a1"}}, // start_time DESC
		{[]string{"metrics.rmse ASC"}, []string{"a1", "b2", "c3"}},
		{[]string{"metrics.rmse DESC"}, []string{"b2", "a1", "c3"}}, // missing last
		{[]string{"metrics.r2 DESC"}, []string{"a1", "c3", "b2"}},   // NaN and missing last, in base order
		{[]string{"params.model"}, []string{"a1", "c3", "b2"}},
		{[]string{"attributes.start_time ASC"}, []string{"a1", "b2", "c3"}},
		{[]string{"tags.stage DESC", "metrics.rmse"}, []string{"a1", "b2", "c3"}}, // bytes: "p" > "S"
	} {
		if got := ids(tc.keys...); !slices.Equal(got, tc.want) {
			t.Errorf("order by %q: %v, want %v", tc.keys, got, tc.want)
		}
	}
	if _, err := ParseOrderBy("metrics.rmse UP"); err == nil {
		t.Error("a bad direction was accepted")
	}
}

// writeRuns creates n finished runs in dir.
func writeRuns(tb testing.TB, dir string, n int) {
	tb.Helper()
	s := &Store{Dir: dir, Now: time.Now}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		s.Now = func() time.Time { return t0.Add(time.Duration(i) * time.Second) }
		r, err := s.Start("bench", "gradient_boosting", "gradient_boosting",
			map[string]string{"learning_rate": "0.1", "max_iter": strconv.Itoa(i % 100), "max_leaf_nodes": "63"},
			map[string]string{"i": fmt.Sprint(i)}, Lineage{DataMD5: "ca5b757f0729c68d74d05bf9d9ca8486", Seed: 42, Host: "h", GitCommit: "abc"})
		if err != nil {
			tb.Fatal(err)
		}
		m := map[string]float64{"rmse": 0.4 + float64(i%1000)/10000, "mae": 0.3, "r2": 0.8, "mape": 17}
		if err := s.End(r, StatusFinished, m, nil, nil); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestSearch(t *testing.T) {
	dir := t.TempDir()
	writeRuns(t, dir, 300)
	if err := os.MkdirAll(filepath.Join(dir, RegistryDir, "california"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Store{Dir: dir}
	f, err := ParseFilter("metrics.rmse < 0.401 and params.max_iter != '5'")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ParseOrderBy("params.max_iter DESC")
	runs, errs := s.Search("", f, []OrderBy{o}, 2)
	if len(errs) > 0 || len(runs) != 2 {
		t.Fatalf("%d runs, errors %v", len(runs), errs)
	}
	// rmse < 0.401: i%1000 < 10, i.e. runs 0..9; max_iter = i%100, DESC.
	if p, _ := runs[0].Param("max_iter"); p != "9" {
		t.Errorf("first run has max_iter %s, want 9", p)
	}
	if err := ValidateName("experiment", RegistryDir); err == nil {
		t.Error("an experiment may not be named like the registry directory")
	}
}

// Listing 10,000 runs (issue 5: ≤ 1 s): go test -bench List10000 ./pkg/tracking/
func BenchmarkList10000(b *testing.B) {
	dir := b.TempDir()
	writeRuns(b, dir, 10000)
	s := &Store{Dir: dir}
	f, _ := ParseFilter("metrics.rmse < 0.45 and params.model = 'gradient_boosting'")
	o, _ := ParseOrderBy("metrics.rmse ASC")
	b.ResetTimer()
	for b.Loop() {
		runs, errs := s.Search("", f, []OrderBy{o}, 0)
		if len(errs) > 0 || len(runs) != 5000 {
			b.Fatalf("%d runs, %v", len(runs), errs)
		}
	}
}

// mlflowFilter is one line of testdata/mlflow-filters.jsonl: what a real
// MLflow 2.17.2 did with a filter over a file store holding one run,
// recorded with
//
//	cd $(mktemp -d) && PYTHONPATH=/opt/realmlflow/site /usr/bin/python3 scripts/realmlflow/search_probe.py < filters.txt
//
// (the run: params model=gradient_boosting, tol=1e-07, max_features=1.0;
// metrics rmse=0.47, "val rmse"=0.5; tags stage=production; named
// gradient_boosting; FINISHED).
type mlflowFilter struct {
	Filter  string `json:"filter"`
	Matched *int   `json:"matched"`
	Error   string `json:"error"`
}

// mlflowFilterDiffers are the filters housectl treats otherwise, on
// purpose (docs/FORMATS.md lists them).
var mlflowFilterDiffers = map[string]string{
	// sqlparse reads two comparisons without AND as two clauses.
	"metrics.rmse < 1 metrics.mae < 1": "refused: a missing AND is a typo",
	// An empty key matches nothing in MLflow.
	"metrics. < 1": "refused: a key is required",
}

// TestFiltersAsMLflow checks that housectl accepts every filter MLflow
// accepted, refuses every one it refused (with a caret), and that an
// accepted filter matches the same run.
func TestFiltersAsMLflow(t *testing.T) {
	b, err := os.ReadFile("testdata/mlflow-filters.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	end := t0.Add(time.Second)
	run := &Run{ID: "0123456789abcdef0123456789abcdef", Name: "gradient_boosting", Experiment: "0", Model: "gradient_boosting", Status: StatusFinished,
		StartTime: t0, EndTime: &end, Params: map[string]string{"model": "gradient_boosting", "tol": "1e-07", "max_features": "1.0"},
		Metrics: map[string]float64{"rmse": 0.47, "val rmse": 0.5}, Tags: map[string]string{"stage": "production"},
		// Where MLflow's file store keeps it: artifact_uri does not depend
		// on the directory the test runs in.
		dir: "/srv/mlruns/0/0123456789abcdef0123456789abcdef"}
	n := 0
	for line := range strings.Lines(string(b)) {
		var c mlflowFilter
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		n++
		f, err := ParseFilter(c.Filter)
		if why, ok := mlflowFilterDiffers[c.Filter]; ok {
			if err == nil {
				t.Errorf("%q: accepted, housectl %s", c.Filter, why)
			}
			continue
		}
		switch {
		case c.Matched == nil && err == nil:
			t.Errorf("%q: accepted; MLflow refuses it: %s", c.Filter, c.Error)
		case c.Matched == nil:
			if fe, ok := errors.AsType[*FilterError](err); !ok || !strings.Contains(err.Error(), "^") {
				t.Errorf("%q: %v, want a FilterError with a caret (%v)", c.Filter, err, fe)
			}
		case err != nil:
			t.Errorf("%q: %v; MLflow accepts it", c.Filter, err)
		default:
			if got := b2i(f.Match(run)); got != *c.Matched {
				t.Errorf("%q: matches %d run(s), MLflow %d", c.Filter, got, *c.Matched)
			}
		}
	}
	if n < 100 {
		t.Fatalf("%d filters read", n)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
