package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// counting stages: a writes out.txt from in.txt; b depends on out.txt and
// a's fact.
type fixture struct {
	dir       string
	runs      map[string]int
	param     string
	valid     bool
	failB     error
	factFromA string
}

func (f *fixture) stages(r *Runner) []Stage {
	in, out := filepath.Join(f.dir, "in.txt"), filepath.Join(f.dir, "out.txt")
	return []Stage{
		{
			Name: "a", Cmd: "make out", Deps: []string{in}, Outs: []string{out},
			Params: func() (map[string]any, error) { return map[string]any{"a.k": f.param, "a.n": 3}, nil },
			Run: func(context.Context) (map[string]string, error) {
				f.runs["a"]++
				b, err := os.ReadFile(in)
				if err != nil {
					return nil, err
				}
				return map[string]string{"len": string(rune('0' + len(b)))}, os.WriteFile(out, b, 0o644)
			},
		},
		{
			Name: "b", Cmd: "use out", Deps: []string{out},
			Params: func() (map[string]any, error) { return map[string]any{"from_a": r.Fact("a", "len")}, nil },
			Check: func(facts map[string]string) string {
				if !f.valid {
					return "the result is gone"
				}
				return ""
			},
			Run: func(context.Context) (map[string]string, error) {
				f.runs["b"]++
				f.factFromA = r.Fact("a", "len")
				return map[string]string{"ok": "yes"}, f.failB
			},
		},
	}
}

func TestRunSkipsUnchangedStages(t *testing.T) {
	dir := t.TempDir()
	f := &fixture{dir: dir, runs: map[string]int{}, param: "x", valid: true}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "housectl.lock")
	run := func(force bool) string {
		t.Helper()
		var out bytes.Buffer
		r := &Runner{LockPath: lock, Out: &out}
		if err := r.Run(t.Context(), f.stages(r), force); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	status := func() []Status {
		t.Helper()
		r := &Runner{LockPath: lock, Out: &bytes.Buffer{}}
		st, err := r.Status(f.stages(r))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	out := run(false)
	if f.runs["a"] != 1 || f.runs["b"] != 1 || f.factFromA != "3" || !strings.Contains(out, "Running stage 'a' (new: never ran):\n> make out") || !strings.Contains(out, "Generating lock file") {
		t.Fatalf("first run: %v\n%s", f.runs, out)
	}
	out = run(false)
	if f.runs["a"] != 1 || f.runs["b"] != 1 || !strings.Contains(out, "Stage 'a' didn't change, skipping") || !strings.Contains(out, "Data and pipelines are up to date.") {
		t.Fatalf("second run: %v\n%s", f.runs, out)
	}
	if st := status(); st[0].Changed || st[1].Changed {
		t.Errorf("status after a clean run: %+v", st)
	}
	// A changed param reruns a; b sees the same out.txt and skips.
	f.param = "y"
	if st := status(); !st[0].Changed || st[0].Reasons[0] != "changed params: modified: a.k" || st[1].Reasons[0] != "may run: an earlier stage will run first" {
		t.Errorf("status: %+v", st)
	}
	out = run(false)
	if f.runs["a"] != 2 || f.runs["b"] != 1 || !strings.Contains(out, "Stage 'b' didn't change, skipping") {
		t.Errorf("after a param change: %v\n%s", f.runs, out)
	}
	// A changed input changes out.txt: both run.
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("abcd"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run(false)
	if f.runs["a"] != 3 || f.runs["b"] != 2 || !strings.Contains(out, "changed deps: modified: "+filepath.Join(dir, "in.txt")) || f.factFromA != "4" {
		t.Errorf("after an input change: %v %q\n%s", f.runs, f.factFromA, out)
	}
	// A deleted output reruns a; a failed check reruns b; --force reruns all.
	if err := os.Remove(filepath.Join(dir, "out.txt")); err != nil {
		t.Fatal(err)
	}
	if st := status(); st[0].Reasons[0] != "changed outs: deleted: "+filepath.Join(dir, "out.txt") {
		t.Errorf("status with a deleted out: %+v", st)
	}
	run(false)
	f.valid = false
	if st := status(); st[0].Changed || !st[1].Changed || st[1].Reasons[0] != "changed outs: the result is gone" {
		t.Errorf("status with a failed check: %+v", st)
	}
	f.valid = true
	before := f.runs["a"]
	out = run(true)
	if f.runs["a"] != before+1 || !strings.Contains(out, "(forced)") {
		t.Errorf("--force: %v\n%s", f.runs, out)
	}
}

func TestFailureKeepsFinishedStages(t *testing.T) {
	dir := t.TempDir()
	f := &fixture{dir: dir, runs: map[string]int{}, param: "x", valid: true, failB: errors.New("boom")}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "housectl.lock")
	r := &Runner{LockPath: lock, Out: &bytes.Buffer{}}
	if err := r.Run(t.Context(), f.stages(r), false); err == nil || !strings.Contains(err.Error(), "stage b: boom") {
		t.Fatalf("error %v", err)
	}
	l, err := ReadLock(lock)
	if err != nil || l.Stages["a"] == nil || l.Stages["b"] != nil || l.Stages["a"].Facts["len"] != "3" || l.Stages["a"].Outs[0].MD5 == "" {
		t.Fatalf("lock after a failure: %+v %v", l, err)
	}
	f.failB = nil
	r = &Runner{LockPath: lock, Out: &bytes.Buffer{}}
	if err := r.Run(t.Context(), f.stages(r), false); err != nil || f.runs["a"] != 1 || f.runs["b"] != 2 {
		t.Errorf("resume: %v %v", err, f.runs)
	}
	// A lock edited into nonsense is an error that says what to do.
	if err := os.WriteFile(lock, []byte("schema: other\nstages: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLock(lock); err == nil || !strings.Contains(err.Error(), "delete it to rerun every stage") {
		t.Errorf("bad schema: %v", err)
	}
}
