// Package tracking is housectl's run store: one directory per run under
// experiments/<experiment>/<run-id>/, written atomically, never modified
// once the run has ended.
//
// Nouns:
//   - Run: one fitted candidate: params, metrics, status, times, tags,
//     lineage (data md5, config hash, seed, git, housectl version, host)
//     and artifacts with their SHA-256.
//   - Store: the experiments directory.
//
// The format is documented in docs/FORMATS.md.
package tracking

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/seal"
)

// Statuses, as MLflow names them.
const (
	StatusRunning  = "RUNNING"
	StatusFinished = "FINISHED"
	StatusFailed   = "FAILED"
	StatusKilled   = "KILLED"
)

// RunFile is the run's metadata file.
const RunFile = "run.json"

// ErrNotFound is returned when no run matches.
var ErrNotFound = errors.New("run not found")

// Lineage is what a run was made from.
type Lineage struct {
	DataPath     string `json:"data_path"`
	DataMD5      string `json:"data_md5"` // DVC 3's id of the training file
	DataRows     int    `json:"data_rows"`
	TestDataPath string `json:"test_data_path,omitempty"`
	TestDataMD5  string `json:"test_data_md5,omitempty"`
	ConfigSHA256 string `json:"config_sha256"`
	Seed         uint64 `json:"seed"`
	GitCommit    string `json:"git_commit,omitempty"`
	GitBranch    string `json:"git_branch,omitempty"`
	GitDirty     bool   `json:"git_dirty,omitempty"`
	Version      string `json:"housectl_version"`
	GoVersion    string `json:"go_version"`
	Host         string `json:"host"`
	User         string `json:"user,omitempty"`
	PID          int    `json:"pid"`
	PIDStart     uint64 `json:"pid_start,omitempty"` // see ProcessStart
	// TestFraction is the held-out share when the test rows were split
	// from the data (no TestDataMD5).
	TestFraction float64 `json:"test_fraction,omitempty"`
	TestRows     int     `json:"test_rows,omitempty"`
}

// TestSet names the rows a run was scored on: runs with equal TestSet
// values were evaluated on the same test data.
func (l Lineage) TestSet() string {
	if l.TestDataMD5 != "" {
		return "file md5 " + l.TestDataMD5
	}
	return fmt.Sprintf("split of md5 %s, seed %d, test fraction %v", l.DataMD5, l.Seed, l.TestFraction)
}

// Artifact is one file of a run.
type Artifact struct {
	Path   string `json:"path"` // relative to the run directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Fold is one cross-validation fold's metrics.
type Fold map[string]float64

// Run is a run's metadata, the content of run.json.
type Run struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Experiment string             `json:"experiment"`
	Model      string             `json:"model"`
	Status     string             `json:"status"`
	Error      string             `json:"error,omitempty"`
	StartTime  time.Time          `json:"start_time"`
	EndTime    *time.Time         `json:"end_time,omitempty"`
	Params     map[string]string  `json:"params"` // as MLflow stores them: Python's str()
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	CV         []Fold             `json:"cv,omitempty"`
	Tags       map[string]string  `json:"tags,omitempty"`
	Lineage    Lineage            `json:"lineage"`
	Artifacts  []Artifact         `json:"artifacts,omitempty"`
	// Latest is each metric's latest logged value with its time and step,
	// for runs recorded through MLflow's tracking API (external.go).
	Latest []MetricPoint `json:"latest,omitempty"`
	// Journal is the ended external run's journal, its metric history.
	Journal *Artifact `json:"journal,omitempty"`
	// Seal is the SHA-256 of the rest of the record (package seal),
	// written with it: a run.json edited by hand no longer matches it.
	// Runs written before seals existed have none.
	Seal string `json:"seal,omitempty"`

	// Deleted: the run was deleted through the tracking API (a note; it
	// can be restored). Searches leave it out unless asked.
	Deleted bool `json:"-"`

	dir string
}

// CorruptError is a run.json that does not match its seal: it was edited
// after housectl wrote it, and is not trusted.
type CorruptError struct {
	Path string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("run file %s was edited after housectl wrote it (its content does not match its seal): housectl will not use it as it is; undo the change, or restore the file from a copy", e.Path)
}

func (r *Run) seal() (string, error) {
	c := *r
	c.Seal = ""
	return seal.Sum(&c)
}

// Dir is the run's directory.
func (r *Run) Dir() string { return r.dir }

// Store is an experiments directory, or a bucket with its local copy in
// Dir (see Remote).
type Store struct {
	Dir string
	Now func() time.Time
	// Remote is the bucket the runs are kept in; nil: Dir is the store.
	Remote *Remote
}

// namePattern is compiled on first use: commands that never name an
// experiment do not pay for it at start-up.
var namePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`) })

// RegistryDir is the directory under the experiments directory that holds
// the model registry; no experiment may take its name.
const RegistryDir = "models"

// ValidateName checks an experiment or run name.
func ValidateName(kind, s string) error {
	if !namePattern().MatchString(s) {
		return fmt.Errorf("%s name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", kind, s)
	}
	if kind == "experiment" && s == RegistryDir {
		return fmt.Errorf("experiment name %q is reserved for the model registry: choose another", s)
	}
	return nil
}

// NewID returns a run id that sorts by creation time: UTC
// yyyymmddThhmmss, microseconds, and 24 random bits.
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	u := now.UTC()
	return fmt.Sprintf("%sT%s%06d-%s", u.Format("20060102"), u.Format("150405"), u.Nanosecond()/1000, hex.EncodeToString(b[:]))
}

// Start creates the run directory and writes run.json with status RUNNING.
func (s *Store) Start(experiment, name, kind string, params map[string]string, tags map[string]string, lin Lineage) (*Run, error) {
	if err := ValidateName("experiment", experiment); err != nil {
		return nil, err
	}
	now := s.Now()
	r := &Run{
		ID: NewID(now), Name: name, Experiment: experiment, Model: kind, Status: StatusRunning,
		StartTime: now.UTC(), Params: params, Tags: tags, Lineage: lin,
	}
	r.dir = filepath.Join(s.Dir, experiment, r.ID)
	if err := os.MkdirAll(filepath.Join(r.dir, "artifacts"), 0o755); err != nil {
		return nil, err
	}
	return r, s.write(r)
}

func (s *Store) write(r *Run) error {
	var err error
	if r.Seal, err = r.seal(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(r.dir, RunFile), append(b, '\n'), 0o644)
}

// WriteArtifact stores data as artifacts/name (atomically) and records it.
func (s *Store) WriteArtifact(r *Run, name string, data []byte) error {
	if r.EndTime != nil {
		return fmt.Errorf("run %s has ended: its artifacts are final", r.ID)
	}
	rel := filepath.ToSlash(filepath.Join("artifacts", name))
	if err := atomicfile.WriteFile(filepath.Join(r.dir, filepath.FromSlash(rel)), data, 0o444); err != nil {
		return err
	}
	r.Artifacts = append(r.Artifacts, Artifact{Path: rel, Size: int64(len(data)), SHA256: sha256Hex(data)})
	return nil
}

// WriteJSON stores v as a JSON file of the run (not an artifact): used for
// the metric history.
func (s *Store) WriteJSON(r *Run, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(r.dir, name), append(b, '\n'), 0o444)
}

// End records the outcome: FINISHED with the metrics, or FAILED/KILLED
// with the error. After End the run is never written again.
func (s *Store) End(r *Run, status string, metrics map[string]float64, cv []Fold, runErr error) error {
	if r.EndTime != nil {
		return fmt.Errorf("run %s has already ended", r.ID)
	}
	now := s.Now().UTC()
	r.EndTime = &now
	r.Status = status
	r.Metrics = finite(metrics)
	for i := range cv {
		cv[i] = finite(cv[i])
	}
	r.CV = cv
	if runErr != nil {
		r.Error = runErr.Error()
	}
	if err := s.write(r); err != nil {
		return err
	}
	if err := s.Publish(context.Background(), r); err != nil {
		return fmt.Errorf("run %s ended and is kept in %s, but %w; the next housectl command that reads the runs publishes it", r.ID, r.dir, err)
	}
	return nil
}

// Load reads a run directory.
func Load(dir string) (*Run, error) {
	b, err := os.ReadFile(filepath.Join(dir, RunFile))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Run
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, RunFile), err)
	}
	if filepath.Base(dir) != r.ID {
		return nil, fmt.Errorf("%s: run id %q does not match its directory", filepath.Join(dir, RunFile), r.ID)
	}
	if r.Seal != "" {
		if want, err := seal.OfJSON(b); err != nil || want != r.Seal {
			return nil, &CorruptError{Path: filepath.Join(dir, RunFile)}
		}
	}
	r.dir = dir
	if r.Status == StatusRunning && r.EndTime == nil {
		if err := r.foldJournal(); err != nil {
			return nil, err
		}
	}
	if err := r.foldNotes(); err != nil {
		return nil, err
	}
	return &r, nil
}

// List returns the runs of an experiment ("" for all), newest first.
// Unreadable runs are returned as errors alongside the good ones. Run
// files are read on every CPU.
func (s *Store) List(experiment string) ([]*Run, []error) {
	if err := s.Sync(context.Background()); err != nil {
		return nil, []error{err}
	}
	exps := []string{experiment}
	if experiment == "" {
		ents, err := os.ReadDir(s.Dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, []error{err}
		}
		exps = exps[:0]
		for _, e := range ents {
			if e.IsDir() && e.Name() != RegistryDir && !strings.HasPrefix(e.Name(), ".") {
				exps = append(exps, e.Name())
			}
		}
	}
	var dirs []string
	var errs []error
	for _, exp := range exps {
		ents, err := os.ReadDir(filepath.Join(s.Dir, exp))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(s.Dir, exp, e.Name()))
			}
		}
	}
	loaded := make([]*Run, len(dirs))
	loadErrs := make([]error, len(dirs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(1, len(dirs)/64)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(dirs) {
					return
				}
				r, err := Load(dirs[i])
				if errors.Is(err, fs.ErrNotExist) {
					continue // not a run directory
				}
				loaded[i], loadErrs[i] = r, err
			}
		})
	}
	wg.Wait()
	var runs []*Run
	for i, r := range loaded {
		if loadErrs[i] != nil {
			errs = append(errs, loadErrs[i])
		} else if r != nil {
			runs = append(runs, r)
		}
	}
	slices.SortFunc(runs, func(a, b *Run) int { return strings.Compare(b.ID, a.ID) })
	return runs, errs
}

// Find returns the run named by its id, a unique id prefix, or its name
// (the newest run of that name).
func (s *Store) Find(ref string) (*Run, error) {
	if err := s.Sync(context.Background()); err != nil {
		return nil, err
	}
	runs, _ := s.List("") // newest first
	var prefix []*Run
	var named *Run
	for _, r := range runs {
		if r.ID == ref {
			return r, nil
		}
		if strings.HasPrefix(r.ID, ref) {
			prefix = append(prefix, r)
		}
		if r.Name == ref && named == nil {
			named = r
		}
	}
	switch {
	case len(prefix) == 1:
		return prefix[0], nil
	case len(prefix) > 1:
		ids := make([]string, len(prefix))
		for i, h := range prefix {
			ids[i] = h.ID
		}
		return nil, fmt.Errorf("id prefix %q matches %d runs (%s): give more of the id", ref, len(prefix), strings.Join(ids, ", "))
	case named != nil:
		return named, nil
	}
	return nil, fmt.Errorf("%w: no run has id, id prefix or name %q in %s", ErrNotFound, ref, s.URL())
}

// finite drops NaN and ±Inf values, which JSON cannot hold (MAPE is NaN
// when every true value is 0).
func finite(m map[string]float64) map[string]float64 {
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(m, k)
		}
	}
	return m
}
