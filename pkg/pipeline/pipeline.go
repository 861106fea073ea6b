// Package pipeline runs named stages in order and skips the ones whose
// inputs, parameters and outputs are unchanged since they last ran, as
// `dvc repro` does. What each stage consumed and produced is recorded in a
// lock file (file hashes are DVC 3 md5s), written after every stage, so an
// interrupted pipeline keeps what it finished.
//
// Nouns:
//   - Stage: a name, a command line for the record, its parameters, the
//     files it reads (deps) and writes (outs), and the facts it leaves
//     (e.g. the best run's id) for the stages after it.
//   - Lock: what every stage ran with, in housectl.lock.
//   - Status: why a stage would run, in DVC's words.
package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/dvc"
)

// LockSchema is the lock file's format version.
const LockSchema = "housectl-pipeline/1"

// Stage is one step of a pipeline.
type Stage struct {
	Name string
	// Cmd is the equivalent command line, recorded and shown.
	Cmd string
	// Params returns the parameters the stage reads (flat keys to JSON
	// values); it is called when the stage is considered, so it may use the
	// facts of the stages before it (see Runner.Fact).
	Params func() (map[string]any, error)
	// Deps and Outs are files, hashed as DVC does.
	Deps []string
	Outs []string
	// Check, when set, says why the stage's recorded outcome no longer
	// holds ("" when it does), e.g. a registered version that is gone.
	Check func(facts map[string]string) string
	// Run does the work and returns the facts to record.
	Run func(ctx context.Context) (map[string]string, error)
}

// FileHash is a dep or out in the lock.
type FileHash struct {
	Path string `yaml:"path" json:"path"`
	Hash string `yaml:"hash" json:"hash"`
	MD5  string `yaml:"md5" json:"md5"`
	Size int64  `yaml:"size" json:"size"`
}

// LockedStage is what a stage last ran with.
type LockedStage struct {
	Cmd    string            `yaml:"cmd" json:"cmd"`
	Deps   []FileHash        `yaml:"deps,omitempty" json:"deps,omitempty"`
	Params map[string]any    `yaml:"params,omitempty" json:"params,omitempty"`
	Outs   []FileHash        `yaml:"outs,omitempty" json:"outs,omitempty"`
	Facts  map[string]string `yaml:"facts,omitempty" json:"facts,omitempty"`
}

// Lock is the lock file.
type Lock struct {
	Schema string                  `yaml:"schema" json:"schema"`
	Stages map[string]*LockedStage `yaml:"stages" json:"stages"`
}

// Status says whether a stage would run, and why.
type Status struct {
	Stage   string   `json:"stage"`
	Changed bool     `json:"changed"`
	Reasons []string `json:"reasons,omitempty"`
}

// Runner runs stages against a lock file.
type Runner struct {
	LockPath string
	Out      io.Writer // progress, in DVC's words
	lock     *Lock
	facts    map[string]map[string]string
}

// Fact returns a fact recorded by an earlier stage (this run or the lock).
func (r *Runner) Fact(stage, key string) string {
	if f, ok := r.facts[stage]; ok {
		return f[key]
	}
	if ls, ok := r.lock.Stages[stage]; ok {
		return ls.Facts[key]
	}
	return ""
}

// ReadLock reads the lock file; a missing file is an empty lock.
func ReadLock(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Schema: LockSchema, Stages: map[string]*LockedStage{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lock
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to rerun every stage)", path, err)
	}
	if l.Schema != LockSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q (delete it to rerun every stage)", path, l.Schema, LockSchema)
	}
	if l.Stages == nil {
		l.Stages = map[string]*LockedStage{}
	}
	return &l, nil
}

func (r *Runner) load() error {
	if r.lock != nil {
		return nil
	}
	l, err := ReadLock(r.LockPath)
	if err != nil {
		return err
	}
	r.lock, r.facts = l, map[string]map[string]string{}
	return nil
}

func (r *Runner) writeLock() error {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(r.lock); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return atomicfile.WriteFile(r.LockPath, b.Bytes(), 0o644)
}

func hashFiles(paths []string) ([]FileHash, map[string]bool, error) {
	out := make([]FileHash, 0, len(paths))
	missing := map[string]bool{}
	for _, p := range paths {
		id, size, err := dvc.HashFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			missing[p] = true
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, FileHash{Path: p, Hash: "md5", MD5: string(id), Size: size})
	}
	slices.SortFunc(out, func(a, b FileHash) int {
		if a.Path < b.Path {
			return -1
		}
		if a.Path > b.Path {
			return 1
		}
		return 0
	})
	return out, missing, nil
}

// normalize makes params comparable with what YAML reads back.
func normalize(p map[string]any) (map[string]any, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb) || reflect.DeepEqual(a, b)
}

// status works out whether st changed since the lock, with its current
// params and deps.
func (r *Runner) status(st Stage) (Status, map[string]any, []FileHash, error) {
	s := Status{Stage: st.Name}
	params := map[string]any{}
	if st.Params != nil {
		p, err := st.Params()
		if err != nil {
			return s, nil, nil, fmt.Errorf("stage %s: %w", st.Name, err)
		}
		if params, err = normalize(p); err != nil {
			return s, nil, nil, err
		}
	}
	deps, missing, err := hashFiles(st.Deps)
	if err != nil {
		return s, nil, nil, err
	}
	add := func(format string, args ...any) {
		s.Changed, s.Reasons = true, append(s.Reasons, fmt.Sprintf(format, args...))
	}
	for _, p := range slices.Sorted(maps.Keys(missing)) {
		add("changed deps: deleted: %s", p)
	}
	locked, ok := r.lock.Stages[st.Name]
	if !ok {
		add("new: never ran")
		return s, params, deps, nil
	}
	if locked.Cmd != st.Cmd {
		add("changed command")
	}
	lockedDeps := map[string]FileHash{}
	for _, d := range locked.Deps {
		lockedDeps[d.Path] = d
	}
	for _, d := range deps {
		if l, ok := lockedDeps[d.Path]; !ok {
			add("changed deps: new: %s", d.Path)
		} else if l.MD5 != d.MD5 {
			add("changed deps: modified: %s", d.Path)
		}
	}
	// Params normalised through YAML compare by value.
	lp, _ := normalize(locked.Params)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v, ok := lp[k]
		switch {
		case !ok:
			add("changed params: new: %s", k)
		case !jsonEqual(v, params[k]):
			add("changed params: modified: %s", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(lp)) {
		if _, ok := params[k]; !ok {
			add("changed params: deleted: %s", k)
		}
	}
	outs, gone, err := hashFiles(st.Outs)
	if err != nil {
		return s, nil, nil, err
	}
	lockedOuts := map[string]string{}
	for _, o := range locked.Outs {
		lockedOuts[o.Path] = o.MD5
	}
	for _, p := range slices.Sorted(maps.Keys(gone)) {
		add("changed outs: deleted: %s", p)
	}
	for _, o := range outs {
		if lockedOuts[o.Path] != o.MD5 {
			add("changed outs: modified: %s", o.Path)
		}
	}
	if st.Check != nil {
		if why := st.Check(locked.Facts); why != "" {
			add("changed outs: %s", why)
		}
	}
	return s, params, deps, nil
}

// Status reports, stage by stage, what would run. A stage after one that
// would run is reported by its own inputs as they are now.
func (r *Runner) Status(stages []Stage) ([]Status, error) {
	if err := r.load(); err != nil {
		return nil, err
	}
	var out []Status
	upstream := false
	for _, st := range stages {
		s, _, _, err := r.status(st)
		if err != nil {
			return nil, err
		}
		if upstream && !s.Changed {
			s.Changed, s.Reasons = true, []string{"may run: an earlier stage will run first"}
		}
		upstream = upstream || s.Changed
		out = append(out, s)
	}
	return out, nil
}

// Run runs the stages in order: each changed (or forced) stage runs, then
// its deps, params, outs and facts go into the lock; an unchanged stage
// is skipped. It stops at the first failure, keeping the lock of the
// stages that finished.
func (r *Runner) Run(ctx context.Context, stages []Stage, force bool) error {
	if err := r.load(); err != nil {
		return err
	}
	wrote := false
	for _, st := range stages {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, params, deps, err := r.status(st)
		if err != nil {
			return err
		}
		if !s.Changed && !force {
			fmt.Fprintf(r.Out, "Stage '%s' didn't change, skipping\n", st.Name)
			continue
		}
		if force && !s.Changed {
			s.Reasons = []string{"forced"}
		}
		fmt.Fprintf(r.Out, "Running stage '%s' (%s):\n> %s\n", st.Name, joinReasons(s.Reasons), st.Cmd)
		facts, err := st.Run(ctx)
		if err != nil {
			return fmt.Errorf("stage %s: %w", st.Name, err)
		}
		outs, gone, err := hashFiles(st.Outs)
		if err != nil {
			return err
		}
		if len(gone) > 0 {
			return fmt.Errorf("stage %s did not produce %v", st.Name, slices.Sorted(maps.Keys(gone)))
		}
		r.facts[st.Name] = facts
		r.lock.Stages[st.Name] = &LockedStage{Cmd: st.Cmd, Deps: deps, Params: params, Outs: outs, Facts: facts}
		verb := "Updating"
		if !wrote {
			if _, err := os.Stat(r.LockPath); errors.Is(err, fs.ErrNotExist) {
				verb = "Generating"
			}
		}
		if err := r.writeLock(); err != nil {
			return err
		}
		if !wrote {
			fmt.Fprintf(r.Out, "%s lock file '%s'\n", verb, r.LockPath)
		}
		wrote = true
	}
	if !wrote {
		fmt.Fprintln(r.Out, "Data and pipelines are up to date.")
	}
	return nil
}

func joinReasons(rs []string) string {
	if len(rs) == 0 {
		return "changed"
	}
	if len(rs) > 3 {
		return fmt.Sprintf("%s, %s and %d more", rs[0], rs[1], len(rs)-2)
	}
	out := rs[0]
	for _, r := range rs[1:] {
		out += "; " + r
	}
	return out
}
