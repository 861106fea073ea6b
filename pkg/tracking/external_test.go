package tracking

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func clockStore(t *testing.T) *Store {
	t.Helper()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	return &Store{Dir: t.TempDir(), Now: func() time.Time { now = now.Add(time.Millisecond); return now }}
}

// A run recorded through the tracking API: its events go to the journal
// while it runs, and every reader (Load) sees them; a param cannot
// change; the latest value of a metric follows MLflow's rule (step, then
// time, then value); ending it seals the folded state, and the journal
// becomes the metric history, checked against run.json.
func TestExternalRunLifecycle(t *testing.T) {
	s := clockStore(t)
	x, err := s.CreateExperiment("check 1", map[string]string{"team": "go"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(x.Dir, CreateOptions{Name: "r1", User: "ana", Tags: map[string]string{"mlflow.source.type": "LOCAL"}})
	if err != nil {
		t.Fatal(err)
	}
	must := func(e Event) {
		t.Helper()
		if err := s.Log(r, e); err != nil {
			t.Fatal(err)
		}
	}
	must(Event{Params: map[string]string{"alpha": "0.5"}})
	must(Event{Metrics: []MetricPoint{{Key: "loss", Value: 0.5, Timestamp: 10, Step: 1}, {Key: "loss", Value: 0.25, Timestamp: 20, Step: 2}}})
	must(Event{Metrics: []MetricPoint{{Key: "loss", Value: 9, Timestamp: 30, Step: 1}}}) // an older step: not the latest
	must(Event{Metrics: []MetricPoint{{Key: "odd", Value: math.NaN(), Timestamp: 30}}})
	must(Event{Tags: map[string]string{"stage": "dev"}})
	var pc *ParamChangedError
	if err := s.Log(r, Event{Params: map[string]string{"alpha": "0.6"}}); !errors.As(err, &pc) {
		t.Fatalf("a changed param: %v", err)
	}
	if err := s.Log(r, Event{Params: map[string]string{"alpha": "0.5"}}); err != nil {
		t.Errorf("the same param again: %v", err)
	}
	live, err := Load(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if live.Params["alpha"] != "0.5" || live.Metrics["loss"] != 0.25 || live.Tags["stage"] != "dev" || live.Status != StatusRunning {
		t.Fatalf("a running run as loaded: %+v", live)
	}
	if _, ok := live.Metrics["odd"]; ok || len(live.Latest) != 2 || !math.IsNaN(live.Latest[1].Value) {
		t.Errorf("NaN metric: metrics %v, latest %v", live.Metrics, live.Latest)
	}
	// A line cut short by a kill is left out; the rest still reads.
	f, _ := os.OpenFile(filepath.Join(r.Dir(), JournalFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"params":{"cut`)
	f.Close()
	if _, err := Load(r.Dir()); err != nil {
		t.Fatalf("a cut last line: %v", err)
	}
	os.Truncate(filepath.Join(r.Dir(), JournalFile), live.journalSize(t))
	if err := s.Finish(r, StatusFinished, time.Time{}); err != nil {
		t.Fatal(err)
	}
	done, err := Load(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != StatusFinished || done.Journal == nil || done.Model != KindExternal || done.Metrics["loss"] != 0.25 {
		t.Fatalf("ended: %+v", done)
	}
	h, err := s.History(done, "loss")
	if err != nil || len(h) != 3 || h[1].Value != 0.25 || h[2].Step != 1 {
		t.Fatalf("history %v, %v", h, err)
	}
	// After the end: tags, deletes and restores are notes.
	if err := s.Log(done, Event{DeleteTag: "stage"}); err != nil {
		t.Fatal(err)
	}
	var tnf *TagNotFoundError
	if err := s.Log(done, Event{DeleteTag: "stage"}); !errors.As(err, &tnf) {
		t.Errorf("deleting a missing tag: %v", err)
	}
	if err := s.Log(done, Event{Lifecycle: LifecycleDeleted}); err != nil {
		t.Fatal(err)
	}
	again, err := Load(r.Dir())
	if err != nil || !again.Deleted || again.Tags["stage"] != "" {
		t.Fatalf("after notes: deleted %v, tags %v, %v", again.Deleted, again.Tags, err)
	}
	if err := s.Log(again, Event{Lifecycle: LifecycleActive}); err != nil {
		t.Fatal(err)
	}
	if back, _ := Load(r.Dir()); back.Deleted {
		t.Error("restored run still deleted")
	}
	// A journal edited after the end is refused by History; a note edited
	// by hand by Load.
	os.Chmod(filepath.Join(r.Dir(), JournalFile), 0o644)
	os.WriteFile(filepath.Join(r.Dir(), JournalFile), []byte("{}\n"), 0o644)
	var ce *CorruptError
	if _, err := s.History(done, "loss"); !errors.As(err, &ce) {
		t.Errorf("an edited history: %v", err)
	}
	notes, _ := os.ReadDir(filepath.Join(r.Dir(), NotesDir))
	p := filepath.Join(r.Dir(), NotesDir, notes[0].Name())
	os.Chmod(p, 0o644)
	b, _ := os.ReadFile(p)
	var e map[string]any
	json.Unmarshal(b, &e)
	e["delete_tag"] = "other"
	b, _ = json.Marshal(e)
	os.WriteFile(p, b, 0o644)
	if _, err := Load(r.Dir()); !errors.As(err, &ce) {
		t.Errorf("an edited note: %v", err)
	}
}

func (r *Run) journalSize(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(b)) - int64(len(`{"params":{"cut`))
}

// Experiments: any name; the directory is the name when it can be, else a
// safe form and a hash; the default experiment is id 0; names are
// unique; tags change through notes.
func TestExperiments(t *testing.T) {
	s := clockStore(t)
	a, err := s.CreateExperiment("housing", nil)
	if err != nil || a.ID != "housing" {
		t.Fatalf("%+v, %v", a, err)
	}
	b, err := s.CreateExperiment("My Experiment / 2", map[string]string{"k": "v"})
	if err != nil || b.ID == b.Name || ValidateName("experiment", b.Dir) != nil {
		t.Fatalf("%+v, %v", b, err)
	}
	if _, err := s.CreateExperiment("My Experiment / 2", nil); !errors.Is(err, ErrExperimentExists) {
		t.Errorf("a second experiment of one name: %v", err)
	}
	if x, err := s.ExperimentByName("My Experiment / 2"); err != nil || x.ID != b.ID || x.Tags["k"] != "v" {
		t.Errorf("by name: %+v, %v", x, err)
	}
	if x, err := s.Experiment("0"); err != nil || x.Name != "Default" {
		t.Errorf("the default experiment: %+v, %v", x, err)
	}
	if _, err := s.Experiment("nope"); !errors.Is(err, ErrNoExperiment) {
		t.Errorf("an unknown id: %v", err)
	}
	if err := s.ChangeExperiment(b.ID, Event{Tags: map[string]string{"k": "w"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangeExperiment(b.ID, Event{Lifecycle: LifecycleDeleted}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Experiments()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(x Experiment) bool { return x.ID == b.ID })
	if i < 0 || all[i].Tags["k"] != "w" || !all[i].Deleted {
		t.Errorf("after notes: %+v", all)
	}
	// Runs in the default experiment go to its directory.
	r, err := s.CreateRun(ExperimentDir("0"), CreateOptions{})
	if err != nil || r.Experiment != DefaultExperiment || r.Name == "" {
		t.Fatalf("%+v, %v", r, err)
	}
}

// The catalog sees runs written by others at its next refresh, keeps what
// did not change, and takes writes put through it at once.
func TestCatalog(t *testing.T) {
	s := clockStore(t)
	c := NewCatalog(s)
	if err := c.Refresh(); err != nil || len(c.Runs()) != 0 {
		t.Fatalf("empty: %v, %d", err, len(c.Runs()))
	}
	var runs []*Run
	for i := range 5 {
		r, err := s.CreateRun("exp", CreateOptions{Name: "r"})
		if err != nil {
			t.Fatal(err)
		}
		s.Log(r, Event{Metrics: []MetricPoint{{Key: "rmse", Value: float64(i)}}})
		runs = append(runs, r)
	}
	if err := c.Refresh(); err != nil || len(c.Runs()) != 5 {
		t.Fatalf("five runs: %v, %d", err, len(c.Runs()))
	}
	first := c.Get(runs[0].ID)
	if err := c.Refresh(); err != nil || c.Get(runs[0].ID) != first {
		t.Errorf("an unchanged run was read again")
	}
	s.Log(runs[0], Event{Params: map[string]string{"p": "1"}})
	c.Put(runs[0])
	if got := c.Get(runs[0].ID); got.Params["p"] != "1" {
		t.Errorf("put: %+v", got.Params)
	}
	s.Log(runs[0], Event{Lifecycle: LifecycleDeleted})
	c.Put(runs[0])
	f, err := ParseFilter("metrics.rmse >= 1")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ParseOrderBy("metrics.rmse DESC")
	got, total := c.Search(Query{Filter: f, Order: []OrderBy{o}, Limit: 2})
	if total != 4 || len(got) != 2 || got[0].Metrics["rmse"] != 4 {
		t.Errorf("search: total %d, %d runs", total, len(got))
	}
	if _, total := c.Search(Query{View: DeletedOnly}); total != 1 {
		t.Errorf("deleted: %d", total)
	}
	if _, total := c.Search(Query{View: AllRuns, Offset: 3}); total != 5 {
		t.Errorf("all: %d", total)
	}
}
