// Package registry is housectl's model registry: named models with
// immutable, numbered versions made from runs, and aliases (production,
// staging, ...) that point at versions and move atomically, with an
// append-only history of every move.
//
// Nouns:
//   - Version: one registered model version, its lineage and the SHA-256
//     of its artifact; written once, never changed.
//   - Alias: a name for the version that holds it (MLflow's rules).
//   - Event: one alias move (promote or rollback): who, when, from, to, why.
//
// On disk, under <experiments>/models/<name>/ (docs/FORMATS.md):
//
//	versions/<n>.json  one file per version, read-only
//	aliases.json       alias → version, replaced atomically
//	history.jsonl      one event per line, appended
//	.lock              serialises writers (flock)
//
// Every read checks the files against each other (the aliases must be what
// the history says), so a hand-edited registry is reported, not trusted.
package registry

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/tracking"
)

// ErrNotFound is returned for an unknown model, version or alias.
var ErrNotFound = errors.New("not found")

// CorruptError is a registry file that is not in a valid state (edited by
// hand, or damaged): it is reported, never trusted.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("registry file %s is invalid: %v; restore it (e.g. from version control) — housectl will not use it as it is", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Version is one registered model version.
type Version struct {
	Name        string    `json:"name"`
	Version     int       `json:"version"`
	Created     time.Time `json:"created"`
	User        string    `json:"user,omitempty"`
	Description string    `json:"description,omitempty"`
	// RunID and Experiment name the run the version was made from; Source
	// is its MLflow-style URI (runs:/<id>/artifacts/model.bin).
	RunID      string `json:"run_id"`
	Experiment string `json:"experiment"`
	Source     string `json:"source"`
	Model      string `json:"model"` // kind
	// Artifact is the model file relative to the experiments directory,
	// SHA256 its checksum at registration.
	Artifact string             `json:"artifact"`
	SHA256   string             `json:"sha256"`
	DataMD5  string             `json:"data_md5"`
	TestSet  string             `json:"test_set"`
	Metrics  map[string]float64 `json:"metrics"`
	Params   map[string]string  `json:"params"`
	Lineage  tracking.Lineage   `json:"lineage"`
}

// Event is one alias move.
type Event struct {
	Time   time.Time `json:"time"`
	User   string    `json:"user,omitempty"`
	Action string    `json:"action"` // promote or rollback
	Alias  string    `json:"alias"`
	From   int       `json:"from"` // 0: the alias was unset
	To     int       `json:"to"`
	Reason string    `json:"reason,omitempty"`
}

// Actions.
const (
	ActionPromote  = "promote"
	ActionRollback = "rollback"
)

// Registry is the registry of one experiments directory.
type Registry struct {
	// Root is the experiments directory; the registry lives in Root/models.
	Root  string
	Store *tracking.Store
	Now   func() time.Time
	User  string
	// LockWait bounds the wait for another writer (default 10 s).
	LockWait time.Duration
}

// Dir is the registry directory.
func (g *Registry) Dir() string { return filepath.Join(g.Root, tracking.RegistryDir) }

func (g *Registry) modelDir(name string) string { return filepath.Join(g.Dir(), name) }

// Names, aliases and checksums are checked by hand: compiling the
// equivalent regular expressions at start-up cost every command 6 ms.

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validName is ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$.
func validName(s string) bool {
	if s == "" || len(s) > 128 || !isAlnum(s[0]) {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// validAlias is MLflow's ^[\w\-]{1,255}$.
func validAlias(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// reservedV is ^[vV]\d+$.
func reservedV(s string) bool {
	if len(s) < 2 || s[0] != 'v' && s[0] != 'V' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validSHA256 is ^[0-9a-f]{64}$.
func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidateName checks a registered model name.
func ValidateName(name string) error {
	if !validName(name) {
		return fmt.Errorf("model name %q: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// ValidateAlias checks an alias by MLflow's rules: letters, digits, '_'
// and '-', at most 255 characters; "latest" and v<digits> are reserved.
func ValidateAlias(alias string) error {
	switch {
	case !validAlias(alias):
		return fmt.Errorf("alias %q: use 1-255 letters, digits, '_' or '-'", alias)
	case strings.EqualFold(alias, "latest"):
		return fmt.Errorf("alias %q is reserved: models:/NAME/latest already means the newest version", alias)
	case reservedV(alias):
		return fmt.Errorf("alias %q is reserved: v<number> names a version", alias)
	}
	return nil
}

// lock takes the model's writer lock.
func (g *Registry) lock(ctx context.Context, name string) (func(), error) {
	dir := g.modelDir(name)
	if err := os.MkdirAll(filepath.Join(dir, "versions"), 0o755); err != nil {
		return nil, err
	}
	fl := flock.New(filepath.Join(dir, ".lock"))
	wait := g.LockWait
	if wait == 0 {
		wait = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ok, err := fl.TryLockContext(ctx, 5*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("model %s is locked by another housectl process (waited %v): try again", name, wait)
	}
	return func() { _ = fl.Unlock() }, nil
}

// Register makes a new version of name from a finished run. The run's
// model artifact must still match the checksum the run recorded.
func (g *Registry) Register(ctx context.Context, run *tracking.Run, name, description string) (*Version, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if run.Status != tracking.StatusFinished {
		return nil, fmt.Errorf("run %s is %s: only a finished run can be registered", run.ID, run.Status)
	}
	var art *tracking.Artifact
	for i := range run.Artifacts {
		if run.Artifacts[i].Path == "artifacts/model.bin" {
			art = &run.Artifacts[i]
		}
	}
	if art == nil {
		return nil, fmt.Errorf("run %s has no model artifact", run.ID)
	}
	path := filepath.Join(run.Dir(), filepath.FromSlash(art.Path))
	if sum, err := fileSHA256(path); err != nil {
		return nil, err
	} else if sum != art.SHA256 {
		return nil, &CorruptError{Path: path, Err: fmt.Errorf("sha256 %s, but run %s recorded %s", sum, run.ID, art.SHA256)}
	}
	rel, err := filepath.Rel(g.Root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("run %s is not under %s", run.ID, g.Root)
	}
	unlock, err := g.lock(ctx, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := g.read(name)
	if err != nil {
		return nil, err
	}
	v := &Version{
		Name: name, Version: 1, Created: g.Now().UTC(), User: g.User, Description: description,
		RunID: run.ID, Experiment: run.Experiment, Source: "runs:/" + run.ID + "/" + art.Path, Model: run.Model,
		Artifact: filepath.ToSlash(rel), SHA256: art.SHA256, DataMD5: run.Lineage.DataMD5, TestSet: run.Lineage.TestSet(),
		Metrics: run.Metrics, Params: run.ParamStrings(), Lineage: run.Lineage,
	}
	if n := len(st.versions); n > 0 {
		v.Version = st.versions[n-1].Version + 1
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	vp := g.versionPath(name, v.Version)
	if _, err := os.Lstat(vp); err == nil {
		return nil, &CorruptError{Path: vp, Err: errors.New("exists but was not read as a version")}
	}
	if err := atomicfile.WriteFile(vp, append(b, '\n'), 0o444); err != nil {
		return nil, err
	}
	return v, nil
}

func (g *Registry) versionPath(name string, v int) string {
	return filepath.Join(g.modelDir(name), "versions", strconv.Itoa(v)+".json")
}

// state is a model's registry, read and checked.
type state struct {
	versions []*Version // by number
	aliases  map[string]int
	history  []Event
}

func (s *state) version(n int) *Version {
	i, ok := slices.BinarySearchFunc(s.versions, n, func(v *Version, n int) int { return v.Version - n })
	if !ok {
		return nil
	}
	return s.versions[i]
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// read loads and checks a model's files; a model without files is empty.
func (g *Registry) read(name string) (*state, error) {
	dir := g.modelDir(name)
	st := &state{aliases: map[string]int{}}
	ents, err := os.ReadDir(filepath.Join(dir, "versions"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		p := filepath.Join(dir, "versions", e.Name())
		num, ok := strings.CutSuffix(e.Name(), ".json")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 1 || strconv.Itoa(n) != num {
			if strings.HasPrefix(e.Name(), ".") {
				continue // an interrupted write's temporary file
			}
			return nil, &CorruptError{Path: p, Err: errors.New("not a version file (want <number>.json)")}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var v Version
		if err := strictJSON(b, &v); err != nil {
			return nil, &CorruptError{Path: p, Err: err}
		}
		switch {
		case v.Name != name:
			return nil, &CorruptError{Path: p, Err: fmt.Errorf("name %q, but the file belongs to %q", v.Name, name)}
		case v.Version != n:
			return nil, &CorruptError{Path: p, Err: fmt.Errorf("version %d in file %d.json", v.Version, n)}
		case !validSHA256(v.SHA256):
			return nil, &CorruptError{Path: p, Err: fmt.Errorf("sha256 %q is not 64 hex digits", v.SHA256)}
		case v.RunID == "" || v.Artifact == "" || v.Model == "":
			return nil, &CorruptError{Path: p, Err: errors.New("run_id, artifact and model are required")}
		case !filepath.IsLocal(filepath.FromSlash(v.Artifact)):
			return nil, &CorruptError{Path: p, Err: fmt.Errorf("artifact %q leaves the experiments directory", v.Artifact)}
		}
		st.versions = append(st.versions, &v)
	}
	slices.SortFunc(st.versions, func(a, b *Version) int { return a.Version - b.Version })

	ap := filepath.Join(dir, "aliases.json")
	if b, err := os.ReadFile(ap); err == nil {
		if err := strictJSON(b, &st.aliases); err != nil {
			return nil, &CorruptError{Path: ap, Err: err}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	hp := filepath.Join(dir, "history.jsonl")
	if f, err := os.Open(hp); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for line := 1; sc.Scan(); line++ {
			var e Event
			if err := strictJSON(sc.Bytes(), &e); err != nil {
				_ = f.Close()
				return nil, &CorruptError{Path: hp, Err: fmt.Errorf("line %d: %w", line, err)}
			}
			st.history = append(st.history, e)
		}
		err := sc.Err()
		_ = f.Close()
		if err != nil {
			return nil, &CorruptError{Path: hp, Err: err}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// The aliases must be exactly what the history says, and point at
	// versions that exist.
	replayed := map[string]int{}
	for i, e := range st.history {
		if err := ValidateAlias(e.Alias); err != nil || st.version(e.To) == nil || replayed[e.Alias] != e.From {
			return nil, &CorruptError{Path: hp, Err: fmt.Errorf("line %d (%s %s: %d → %d) does not follow from the lines before it or names a missing version", i+1, e.Action, e.Alias, e.From, e.To)}
		}
		replayed[e.Alias] = e.To
	}
	for a, v := range st.aliases {
		if err := ValidateAlias(a); err != nil {
			return nil, &CorruptError{Path: ap, Err: err}
		}
		if st.version(v) == nil {
			return nil, &CorruptError{Path: ap, Err: fmt.Errorf("alias %s → version %d, which does not exist", a, v)}
		}
	}
	if len(replayed) != len(st.aliases) {
		return nil, &CorruptError{Path: ap, Err: fmt.Errorf("holds %d alias(es), the history %d", len(st.aliases), len(replayed))}
	}
	for a, v := range replayed {
		if st.aliases[a] != v {
			return nil, &CorruptError{Path: ap, Err: fmt.Errorf("alias %s → version %d, but its history ends at version %d", a, st.aliases[a], v)}
		}
	}
	return st, nil
}

// Model is a registered model: its versions and aliases.
type Model struct {
	Name     string         `json:"name"`
	Versions []*Version     `json:"versions"`
	Aliases  map[string]int `json:"aliases"`
	History  []Event        `json:"history"`
}

// AliasesOf returns the aliases held by version v, sorted.
func (m *Model) AliasesOf(v int) []string {
	var out []string
	for a, n := range m.Aliases {
		if n == v {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// Get reads one model.
func (g *Registry) Get(name string) (*Model, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	st, err := g.read(name)
	if err != nil {
		return nil, err
	}
	if len(st.versions) == 0 {
		return nil, fmt.Errorf("%w: no registered model %q; register a run with `housectl models register RUN --name %s`", ErrNotFound, name, name)
	}
	return &Model{Name: name, Versions: st.versions, Aliases: st.aliases, History: st.history}, nil
}

// List reads every model, by name.
func (g *Registry) List() ([]*Model, error) {
	ents, err := os.ReadDir(g.Dir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Model
	for _, e := range ents {
		if !e.IsDir() || ValidateName(e.Name()) != nil {
			continue
		}
		m, err := g.Get(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Version returns version n of name.
func (g *Registry) Version(name string, n int) (*Version, error) {
	m, err := g.Get(name)
	if err != nil {
		return nil, err
	}
	for _, v := range m.Versions {
		if v.Version == n {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: model %s has no version %d (it has 1 to %d)", ErrNotFound, name, n, m.Versions[len(m.Versions)-1].Version)
}

// Alias returns the version that holds alias.
func (g *Registry) Alias(name, alias string) (*Version, error) {
	m, err := g.Get(name)
	if err != nil {
		return nil, err
	}
	n, ok := m.Aliases[alias]
	if !ok {
		return nil, fmt.Errorf("%w: model %s has no alias %q; promote a version with `housectl models promote %s VERSION --alias %s`", ErrNotFound, name, alias, name, alias)
	}
	return g.Version(name, n)
}

// Gate decides whether candidate may take the alias from current (nil
// when the alias is unset). It runs under the model's lock, so the holder
// it sees is the one it replaces.
type Gate func(current, candidate *Version) error

// PromoteOptions are a promotion's extras.
type PromoteOptions struct {
	Reason string
	Gate   Gate
}

// Promote points alias at version n and records the move. Promoting the
// holder again is a no-op that returns from == to.
func (g *Registry) Promote(ctx context.Context, name, alias string, n int, o PromoteOptions) (Event, error) {
	if err := ValidateAlias(alias); err != nil {
		return Event{}, err
	}
	if err := ValidateName(name); err != nil {
		return Event{}, err
	}
	unlock, err := g.lock(ctx, name)
	if err != nil {
		return Event{}, err
	}
	defer unlock()
	st, err := g.read(name)
	if err != nil {
		return Event{}, err
	}
	cand := st.version(n)
	if cand == nil {
		if len(st.versions) == 0 {
			return Event{}, fmt.Errorf("%w: no registered model %q", ErrNotFound, name)
		}
		return Event{}, fmt.Errorf("%w: model %s has no version %d", ErrNotFound, name, n)
	}
	from := st.aliases[alias]
	if from == n {
		return Event{Alias: alias, From: n, To: n}, nil
	}
	if o.Gate != nil {
		if err := o.Gate(st.version(from), cand); err != nil {
			return Event{}, err
		}
	}
	return g.move(name, st, Event{Action: ActionPromote, Alias: alias, From: from, To: n, Reason: o.Reason})
}

// Rollback gives alias back to the version that held it before the
// current one (promotions stack up; each rollback pops one).
func (g *Registry) Rollback(ctx context.Context, name, alias, reason string) (Event, error) {
	if err := ValidateAlias(alias); err != nil {
		return Event{}, err
	}
	unlock, err := g.lock(ctx, name)
	if err != nil {
		return Event{}, err
	}
	defer unlock()
	st, err := g.read(name)
	if err != nil {
		return Event{}, err
	}
	var stack []int
	for _, e := range st.history {
		if e.Alias != alias {
			continue
		}
		if e.Action == ActionRollback && len(stack) > 0 {
			stack = stack[:len(stack)-1]
		} else {
			stack = append(stack, e.To)
		}
	}
	cur, ok := st.aliases[alias]
	if !ok {
		return Event{}, fmt.Errorf("%w: model %s has no alias %q to roll back", ErrNotFound, name, alias)
	}
	if len(stack) < 2 {
		return Event{}, fmt.Errorf("alias %s of %s has no earlier holder than version %d to roll back to", alias, name, cur)
	}
	return g.move(name, st, Event{Action: ActionRollback, Alias: alias, From: cur, To: stack[len(stack)-2], Reason: reason})
}

// move appends the event to the history (fsynced), then replaces
// aliases.json. A crash between the two leaves the history one move ahead;
// read reports that instead of guessing.
func (g *Registry) move(name string, st *state, e Event) (Event, error) {
	e.Time, e.User = g.Now().UTC(), g.User
	line, _ := json.Marshal(e)
	hp := filepath.Join(g.modelDir(name), "history.jsonl")
	f, err := os.OpenFile(hp, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return Event{}, err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		_ = f.Close()
		return Event{}, err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return Event{}, err
	}
	if err := f.Close(); err != nil {
		return Event{}, err
	}
	aliases := maps.Clone(st.aliases)
	if aliases == nil {
		aliases = map[string]int{}
	}
	aliases[e.Alias] = e.To
	b, _ := json.MarshalIndent(aliases, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(g.modelDir(name), "aliases.json"), append(b, '\n'), 0o644); err != nil {
		return Event{}, err
	}
	return e, nil
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
