package tracking

// External runs are recorded through MLflow's tracking API (`housectl ui`
// serves it) by a user's own training code, rather than by housectl train.
// Their model kind is "external": housectl keeps their params, metrics,
// tags and artifacts, compares and gates them like its own, and does not
// serve them.
//
// While a run is RUNNING its changes are appended to a journal, log.jsonl
// in the run directory, one event a line: an append costs a write, not a
// rewrite of run.json, and Load folds the journal into the run, so every
// command sees a running run as it stands. When the run ends, run.json
// holds the folded state and the journal stays as the metric history, its
// SHA-256 recorded in run.json. A change to an ended run (a tag, a delete
// or a restore, as MLflow allows) is a note: one sealed file created once
// under notes/, folded by Load in the order of their names. Both rules
// suit a bucket, where an object is created once and never rewritten.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/seal"
)

// KindExternal is the model kind of a run recorded through MLflow's
// tracking API.
const KindExternal = "external"

// JournalFile is a run's event journal, and after it ends its metric
// history.
const JournalFile = "log.jsonl"

// NotesDir holds the changes made to a run after it ended.
const NotesDir = "notes"

// MetricPoint is one logged value of a metric, as MLflow records it:
// milliseconds since the epoch and a step. Values may be NaN or infinite;
// JSON holds those as the strings "NaN", "Infinity" and "-Infinity", as
// MLflow's REST API does.
type MetricPoint struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
}

type metricJSON struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Timestamp int64           `json:"timestamp"`
	Step      int64           `json:"step"`
}

// MarshalJSON writes a non-finite value as MLflow's strings.
func (m MetricPoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(metricJSON{Key: m.Key, Value: FloatJSON(m.Value), Timestamp: m.Timestamp, Step: m.Step})
}

// UnmarshalJSON reads a value as a number or one of MLflow's strings.
func (m *MetricPoint) UnmarshalJSON(b []byte) error {
	var j metricJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := ParseFloatJSON(j.Value)
	if err != nil {
		return fmt.Errorf("metric %q: %w", j.Key, err)
	}
	*m = MetricPoint{Key: j.Key, Value: v, Timestamp: j.Timestamp, Step: j.Step}
	return nil
}

// FloatJSON is a float as JSON: a number, or "NaN", "Infinity",
// "-Infinity" as MLflow writes them.
func FloatJSON(v float64) json.RawMessage {
	switch {
	case math.IsNaN(v):
		return json.RawMessage(`"NaN"`)
	case math.IsInf(v, 1):
		return json.RawMessage(`"Infinity"`)
	case math.IsInf(v, -1):
		return json.RawMessage(`"-Infinity"`)
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64)
}

// ParseFloatJSON reads what FloatJSON writes, and a number given as a
// string (as protobuf's JSON allows).
func ParseFloatJSON(b json.RawMessage) (float64, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "Infinity", "inf":
			return math.Inf(1), nil
		case "-Infinity", "-inf":
			return math.Inf(-1), nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("value %q is not a number", s)
		}
		return v, nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, fmt.Errorf("value %s is not a number", b)
	}
	return v, nil
}

// after reports whether m replaces q as a metric's latest value, by
// MLflow's rule: the larger step, then the later time, then the larger
// value.
func (m MetricPoint) after(q MetricPoint) bool {
	return cmp.Or(cmp.Compare(m.Step, q.Step), cmp.Compare(m.Timestamp, q.Timestamp), cmp.Compare(m.Value, q.Value)) >= 0
}

// Event is one change to a run through the tracking API.
type Event struct {
	Params    map[string]string `json:"params,omitempty"`
	Metrics   []MetricPoint     `json:"metrics,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	DeleteTag string            `json:"delete_tag,omitempty"`
	// Artifacts were stored in the run's artifacts/ (PutArtifact).
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// Lifecycle is "deleted" or "active" (a restore).
	Lifecycle string `json:"lifecycle,omitempty"`
	// Time (ms) orders notes; Seal seals a note.
	Time int64  `json:"time,omitempty"`
	Seal string `json:"seal,omitempty"`
}

// Lifecycle stages, as MLflow names them.
const (
	LifecycleActive  = "active"
	LifecycleDeleted = "deleted"
)

// ParamChangedError is a param logged again with another value, which
// MLflow refuses.
type ParamChangedError struct {
	Run, Key, Old, New string
}

func (e *ParamChangedError) Error() string {
	return fmt.Sprintf("Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for run ID='%s'. Attempted logging new value '%s'.", e.Key, e.Old, e.Run, e.New)
}

// TagNotFoundError is a delete of a tag the run does not have.
type TagNotFoundError struct{ Run, Key string }

func (e *TagNotFoundError) Error() string {
	return fmt.Sprintf("No tag with name: %s in run with id %s", e.Key, e.Run)
}

// check refuses an event that cannot apply to r, before anything is
// written.
func (r *Run) check(e Event) error {
	for k, v := range e.Params {
		if old, ok := r.Params[k]; ok && old != v {
			return &ParamChangedError{Run: r.ID, Key: k, Old: old, New: v}
		}
	}
	if e.DeleteTag != "" {
		if _, ok := r.Tags[e.DeleteTag]; !ok {
			return &TagNotFoundError{Run: r.ID, Key: e.DeleteTag}
		}
	}
	if e.Lifecycle != "" && e.Lifecycle != LifecycleActive && e.Lifecycle != LifecycleDeleted {
		return fmt.Errorf("lifecycle %q: want %s or %s", e.Lifecycle, LifecycleActive, LifecycleDeleted)
	}
	return nil
}

// apply folds an event into the run in memory.
func (r *Run) apply(e Event) {
	for k, v := range e.Params {
		if r.Params == nil {
			r.Params = map[string]string{}
		}
		r.Params[k] = v
	}
	for _, m := range e.Metrics {
		i := slices.IndexFunc(r.Latest, func(p MetricPoint) bool { return p.Key == m.Key })
		switch {
		case i < 0:
			r.Latest = append(r.Latest, m)
		case m.after(r.Latest[i]):
			r.Latest[i] = m
		default:
			continue
		}
		// Metrics holds the finite latest values, as every run's does.
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			delete(r.Metrics, m.Key)
			continue
		}
		if r.Metrics == nil {
			r.Metrics = map[string]float64{}
		}
		r.Metrics[m.Key] = m.Value
	}
	for k, v := range e.Tags {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		r.Tags[k] = v
		if k == "mlflow.runName" && v != "" {
			r.Name = v
		}
	}
	if e.DeleteTag != "" {
		delete(r.Tags, e.DeleteTag)
	}
	for _, a := range e.Artifacts {
		if i := slices.IndexFunc(r.Artifacts, func(b Artifact) bool { return b.Path == a.Path }); i >= 0 {
			r.Artifacts[i] = a
		} else {
			r.Artifacts = append(r.Artifacts, a)
		}
	}
	if e.Lifecycle != "" {
		r.Deleted = e.Lifecycle == LifecycleDeleted
	}
}

// PutArtifact stores an artifact of an external run at rel (a slash path
// below artifacts/) from body, atomically, and records it with its size
// and SHA-256.
func (s *Store) PutArtifact(r *Run, rel string, body io.Reader) (Artifact, error) {
	clean := path.Clean("/" + rel)[1:]
	if rel == "" || clean != rel || strings.HasPrefix(rel, "../") || slices.Contains(strings.Split(rel, "/"), "..") {
		return Artifact{}, fmt.Errorf("artifact path %q: give a relative path without . or .. parts", rel)
	}
	p := filepath.Join(r.dir, "artifacts", filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return Artifact{}, err
	}
	f, err := atomicfile.Create(p, 0o444)
	if err != nil {
		return Artifact{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), body)
	if err != nil {
		f.Abort()
		return Artifact{}, err
	}
	if err := f.Commit(); err != nil {
		return Artifact{}, err
	}
	a := Artifact{Path: "artifacts/" + rel, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	return a, s.Log(r, Event{Artifacts: []Artifact{a}})
}

// CreateOptions describe a run started through the tracking API.
type CreateOptions struct {
	Name  string
	User  string
	Start time.Time
	Tags  map[string]string
}

// CreateRun starts an external run in experiment exp (a directory name,
// see Experiments).
func (s *Store) CreateRun(exp string, o CreateOptions) (*Run, error) {
	if err := ValidateName("experiment", exp); err != nil {
		return nil, err
	}
	start := o.Start
	if start.IsZero() {
		start = s.Now()
	}
	r := &Run{
		ID: NewID(s.Now()), Name: o.Name, Experiment: exp, Model: KindExternal, Status: StatusRunning,
		StartTime: start.UTC(), Params: map[string]string{}, Lineage: Lineage{User: o.User},
	}
	if r.Name == "" {
		r.Name = "run-" + r.ID[len(r.ID)-6:]
	}
	r.apply(Event{Tags: o.Tags})
	r.dir = filepath.Join(s.Dir, exp, r.ID)
	if err := os.MkdirAll(filepath.Join(r.dir, "artifacts"), 0o755); err != nil {
		return nil, err
	}
	return r, s.write(r)
}

// Log records an event: appended to the journal of a running run, a note
// of an ended one. The caller serialises the events of one run.
func (s *Store) Log(r *Run, e Event) error {
	if err := r.check(e); err != nil {
		return err
	}
	if e.Lifecycle != "" || r.EndTime != nil {
		if err := s.note(r, e); err != nil {
			return err
		}
		r.apply(e)
		return nil
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(r.dir, JournalFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", r.ID, err)
	}
	r.apply(e)
	return nil
}

// note writes e as a sealed note of the run and publishes the ended run
// with it.
func (s *Store) note(r *Run, e Event) error {
	p, err := s.writeNote(r.dir, e)
	if err != nil || r.EndTime == nil {
		return err
	}
	if err := s.Publish(context.Background(), r); err != nil {
		return fmt.Errorf("run %s: the change is kept in %s, but %w", r.ID, p, err)
	}
	return nil
}

// writeNote writes e, timed and sealed, as a new file of dir's notes/
// and returns its path. The name sorts by time; its id part keeps two
// notes of one millisecond apart.
func (s *Store) writeNote(dir string, e Event) (string, error) {
	now := s.Now()
	e.Time = now.UnixMilli()
	e.Seal = ""
	var err error
	if e.Seal, err = seal.Sum(&e); err != nil {
		return "", err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	notes := filepath.Join(dir, NotesDir)
	if err := os.MkdirAll(notes, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(notes, NewID(now)+".json")
	return p, createOnce(p, append(b, '\n'))
}

// createOnce writes a read-only file that must not exist yet (a synced
// temporary linked into place).
func createOnce(p string, b []byte) error {
	f, err := atomicfile.Create(p, 0o444)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Abort()
		return err
	}
	return f.CommitNew()
}

// Finish ends an external run with status at end (now when zero): run.json
// takes the folded state and records the journal as the metric history.
func (s *Store) Finish(r *Run, status string, end time.Time) error {
	if r.EndTime != nil {
		return fmt.Errorf("run %s has already ended", r.ID)
	}
	switch status {
	case StatusFinished, StatusFailed, StatusKilled:
	default:
		return fmt.Errorf("status %q does not end a run: want %s, %s or %s", status, StatusFinished, StatusFailed, StatusKilled)
	}
	if end.IsZero() {
		end = s.Now()
	}
	end = end.UTC()
	jp := filepath.Join(r.dir, JournalFile)
	if st, err := os.Stat(jp); err == nil {
		sum, err := FileSHA256(jp)
		if err != nil {
			return err
		}
		r.Journal = &Artifact{Path: JournalFile, Size: st.Size(), SHA256: sum}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	r.EndTime, r.Status = &end, status
	if err := s.write(r); err != nil {
		return err
	}
	if err := s.Publish(context.Background(), r); err != nil {
		return fmt.Errorf("run %s ended and is kept in %s, but %w; the next housectl command that reads the runs publishes it", r.ID, r.dir, err)
	}
	return nil
}

// foldJournal applies a running run's journal. A last line cut short (a
// process killed mid-write) is left out; any other bad line is an error.
func (r *Run) foldJournal() error {
	b, err := os.ReadFile(filepath.Join(r.dir, JournalFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return eachEvent(b, func(n int, e Event) error {
		r.apply(e)
		return nil
	}, filepath.Join(r.dir, JournalFile))
}

// eachEvent calls fn for each complete line of a journal: what follows
// the last newline is a line cut short and is left out.
func eachEvent(b []byte, fn func(line int, e Event) error, name string) error {
	lines := bytes.Split(b, []byte{'\n'})
	for i, l := range lines[:len(lines)-1] {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(l, &e); err != nil {
			return fmt.Errorf("%s line %d: %w", name, i+1, err)
		}
		if err := fn(i+1, e); err != nil {
			return err
		}
	}
	return nil
}

// foldNotes applies the run's notes in order, each checked against its
// seal.
func (r *Run) foldNotes() error {
	dir := filepath.Join(r.dir, NotesDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ent := range ents {
		if !strings.HasSuffix(ent.Name(), ".json") || atomicfile.IsTemp(ent.Name()) {
			continue
		}
		e, err := readNote(filepath.Join(dir, ent.Name()))
		if err != nil {
			return err
		}
		r.apply(e)
	}
	return nil
}

func readNote(p string) (Event, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return Event{}, err
	}
	var e Event
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("%s: %w", p, err)
	}
	if want, err := seal.OfJSON(b); err != nil || e.Seal == "" || want != e.Seal {
		return Event{}, &CorruptError{Path: p}
	}
	return e, nil
}

// History returns every logged value of a metric, in the order logged.
// An external run's come from its journal (checked against run.json once
// it has ended); a housectl run's metric has one value, at its end.
func (s *Store) History(r *Run, key string) ([]MetricPoint, error) {
	var out []MetricPoint
	if r.Model != KindExternal {
		if v, ok := r.Metrics[key]; ok && r.EndTime != nil {
			out = append(out, MetricPoint{Key: key, Value: v, Timestamp: r.EndTime.UnixMilli()})
		}
		return out, nil
	}
	p := filepath.Join(r.dir, JournalFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) && r.Journal == nil {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if r.Journal != nil && (int64(len(b)) != r.Journal.Size || sha256Hex(b) != r.Journal.SHA256) {
		return nil, &CorruptError{Path: p}
	}
	add := func(_ int, e Event) error {
		for _, m := range e.Metrics {
			if m.Key == key {
				out = append(out, m)
			}
		}
		return nil
	}
	if err := eachEvent(b, add, p); err != nil {
		return nil, err
	}
	// Notes may log to an ended run too.
	if err := s.eachNote(r, add); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) eachNote(r *Run, fn func(int, Event) error) error {
	ents, err := os.ReadDir(filepath.Join(r.dir, NotesDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for i, ent := range ents {
		if !strings.HasSuffix(ent.Name(), ".json") || atomicfile.IsTemp(ent.Name()) {
			continue
		}
		e, err := readNote(filepath.Join(r.dir, NotesDir, ent.Name()))
		if err != nil {
			return err
		}
		if err := fn(i, e); err != nil {
			return err
		}
	}
	return nil
}
