package tracking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/seal"
)

// An experiment is a directory of runs under the experiments directory.
// housectl train names it (train.experiment); MLflow's tracking API
// creates one with any name, kept in experiment.json, created once. Its
// id, which MLflow's clients send back, is its directory's name, except
// MLflow's default experiment: id "0", name "Default", directory Default.
// A tag set later, a delete or a restore is a note under its notes/, as
// for runs (external.go).

// ExperimentFile holds an experiment's name, creation time and first tags.
const ExperimentFile = "experiment.json"

// DefaultExperimentID is MLflow's default experiment, which its clients
// use when none is set.
const DefaultExperimentID = "0"

// DefaultExperiment is the default experiment's name and directory.
const DefaultExperiment = "Default"

// Experiment is an experiment as MLflow's API shows it.
type Experiment struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Created time.Time         `json:"creation_time"`
	Updated time.Time         `json:"-"`
	Tags    map[string]string `json:"tags,omitempty"`
	Deleted bool              `json:"-"`
	Seal    string            `json:"seal,omitempty"`
	// Dir is the experiment's directory name.
	Dir string `json:"-"`
}

// ErrExperimentExists is a create of a name another experiment has.
var ErrExperimentExists = errors.New("experiment exists")

// ErrNoExperiment is an experiment id or name no experiment has.
var ErrNoExperiment = errors.New("no such experiment")

// ExperimentDir maps an experiment id to its directory.
func ExperimentDir(id string) string {
	if id == DefaultExperimentID {
		return DefaultExperiment
	}
	return id
}

// ExperimentIDOf maps an experiment's directory to its id.
func ExperimentIDOf(dir string) string {
	if dir == DefaultExperiment {
		return DefaultExperimentID
	}
	return dir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// dirFor is the directory a new experiment of this name gets: the name
// itself when it is a valid directory name, else a safe form of it and a
// hash of the whole name.
func dirFor(name string) string {
	if ValidateName("experiment", name) == nil && name != DefaultExperimentID {
		return name
	}
	safe := strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-.")
	if len(safe) > 40 {
		safe = safe[:40]
	}
	sum := sha256.Sum256([]byte(name))
	if safe == "" || !namePattern().MatchString(safe) {
		safe = "exp"
	}
	return safe + "-" + hex.EncodeToString(sum[:4])
}

// Experiments lists every experiment, the default one first and the
// others by name. A directory without experiment.json (made by housectl
// train) is an experiment of its own name, created with its first run.
func (s *Store) Experiments() ([]Experiment, error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var out []Experiment
	for _, e := range ents {
		if !e.IsDir() || e.Name() == RegistryDir || strings.HasPrefix(e.Name(), ".") || ValidateName("experiment", e.Name()) != nil {
			continue
		}
		x, err := s.readExperiment(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b Experiment) int {
		switch {
		case a.ID == DefaultExperimentID:
			return -1
		case b.ID == DefaultExperimentID:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

func (s *Store) readExperiment(dir string) (Experiment, error) {
	x := Experiment{ID: ExperimentIDOf(dir), Name: dir, Dir: dir}
	if dir == DefaultExperiment {
		x.Name = DefaultExperiment
	}
	p := filepath.Join(s.Dir, dir, ExperimentFile)
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st, err := os.Stat(filepath.Join(s.Dir, dir))
		if err != nil {
			return x, err
		}
		x.Created = st.ModTime().UTC()
	case err != nil:
		return x, err
	default:
		var stored Experiment
		if err := json.Unmarshal(b, &stored); err != nil {
			return x, fmt.Errorf("%s: %w", p, err)
		}
		if want, err := seal.OfJSON(b); err != nil || stored.Seal == "" || want != stored.Seal {
			return x, &CorruptError{Path: p}
		}
		x.Name, x.Created, x.Tags = stored.Name, stored.Created, stored.Tags
	}
	x.Updated = x.Created
	ents, err := os.ReadDir(filepath.Join(s.Dir, dir, NotesDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return x, err
	}
	for _, ent := range ents {
		if !strings.HasSuffix(ent.Name(), ".json") || atomicfile.IsTemp(ent.Name()) {
			continue
		}
		e, err := readNote(filepath.Join(s.Dir, dir, NotesDir, ent.Name()))
		if err != nil {
			return x, err
		}
		for k, v := range e.Tags {
			if x.Tags == nil {
				x.Tags = map[string]string{}
			}
			x.Tags[k] = v
		}
		if e.DeleteTag != "" {
			delete(x.Tags, e.DeleteTag)
		}
		if e.Lifecycle != "" {
			x.Deleted = e.Lifecycle == LifecycleDeleted
		}
		if e.Time > 0 {
			x.Updated = time.UnixMilli(e.Time).UTC()
		}
	}
	return x, nil
}

// ExperimentNames maps each experiment's directory to its name (they
// differ for a name made through MLflow's API that is not a directory
// name). Unreadable experiments are left out.
func (s *Store) ExperimentNames() map[string]string {
	out := map[string]string{}
	xs, _ := s.Experiments()
	for _, x := range xs {
		out[x.Dir] = x.Name
	}
	return out
}

// ExperimentDirOf is the directory of the experiment named name (the
// name itself when none is).
func (s *Store) ExperimentDirOf(name string) string {
	if x, err := s.ExperimentByName(name); err == nil {
		return x.Dir
	}
	return name
}

// Experiment returns the experiment of an id. The default experiment
// always exists.
func (s *Store) Experiment(id string) (Experiment, error) {
	dir := ExperimentDir(id)
	if ValidateName("experiment", dir) != nil {
		return Experiment{}, fmt.Errorf("%w: no experiment has id %q", ErrNoExperiment, id)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, dir)); err != nil {
		if errors.Is(err, fs.ErrNotExist) && id == DefaultExperimentID {
			return Experiment{ID: DefaultExperimentID, Name: DefaultExperiment, Dir: DefaultExperiment, Created: s.Now().UTC(), Updated: s.Now().UTC()}, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return Experiment{}, fmt.Errorf("%w: no experiment has id %q", ErrNoExperiment, id)
		}
		return Experiment{}, err
	}
	return s.readExperiment(dir)
}

// ExperimentByName returns the experiment of a name.
func (s *Store) ExperimentByName(name string) (Experiment, error) {
	all, err := s.Experiments()
	if err != nil {
		return Experiment{}, err
	}
	for _, x := range all {
		if x.Name == name {
			return x, nil
		}
	}
	if name == DefaultExperiment {
		return s.Experiment(DefaultExperimentID)
	}
	return Experiment{}, fmt.Errorf("%w: no experiment is named %q", ErrNoExperiment, name)
}

// CreateExperiment creates an experiment of any name, with tags.
func (s *Store) CreateExperiment(name string, tags map[string]string) (Experiment, error) {
	if strings.TrimSpace(name) == "" {
		return Experiment{}, fmt.Errorf("experiment name must be a non-empty string")
	}
	if x, err := s.ExperimentByName(name); err == nil && (x.ID != DefaultExperimentID || s.exists(DefaultExperiment)) {
		return Experiment{}, fmt.Errorf("%w: Experiment '%s' already exists", ErrExperimentExists, name)
	}
	dir := dirFor(name)
	if name == DefaultExperiment {
		dir = DefaultExperiment
	}
	if s.exists(dir) {
		return Experiment{}, fmt.Errorf("%w: Experiment '%s' already exists (directory %s)", ErrExperimentExists, name, dir)
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	x := Experiment{ID: ExperimentIDOf(dir), Name: name, Created: now, Updated: now, Tags: tags, Dir: dir}
	if err := os.MkdirAll(filepath.Join(s.Dir, dir), 0o755); err != nil {
		return Experiment{}, err
	}
	stored := x
	var err error
	if stored.Seal, err = seal.Sum(&stored); err != nil {
		return Experiment{}, err
	}
	b, err := json.MarshalIndent(stored, "", "  ")
	if err != nil {
		return Experiment{}, err
	}
	if err := createOnce(filepath.Join(s.Dir, dir, ExperimentFile), append(b, '\n')); err != nil {
		return Experiment{}, fmt.Errorf("%w: Experiment '%s' already exists", ErrExperimentExists, name)
	}
	if s.Remote != nil {
		// Created once in the bucket too: a name another machine took
		// first is refused there.
		if err := s.putOnce(context.Background(), filepath.Join(s.Dir, dir, ExperimentFile)); err != nil {
			return Experiment{}, fmt.Errorf("experiment %q is kept in %s, but %w", name, filepath.Join(s.Dir, dir), err)
		}
	}
	return x, nil
}

func (s *Store) exists(dir string) bool {
	_, err := os.Stat(filepath.Join(s.Dir, dir))
	return err == nil
}

// ChangeExperiment records a tag, a tag's removal, a delete or a restore
// of an experiment, as a note.
func (s *Store) ChangeExperiment(id string, e Event) error {
	x, err := s.Experiment(id)
	if err != nil {
		return err
	}
	if e.DeleteTag != "" {
		if _, ok := x.Tags[e.DeleteTag]; !ok {
			return &TagNotFoundError{Run: "experiment " + id, Key: e.DeleteTag}
		}
	}
	p, err := s.writeNote(filepath.Join(s.Dir, x.Dir), e)
	if err != nil || s.Remote == nil {
		return err
	}
	if err := s.putOnce(context.Background(), p); err != nil {
		return fmt.Errorf("experiment %s: the change is kept in %s, but %w", x.Name, p, err)
	}
	return nil
}
