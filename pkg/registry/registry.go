// Package registry is housectl's model registry: named models with
// immutable, numbered versions made from runs, and aliases (production,
// staging, ...) that point at versions and move atomically, with a history
// of every move.
//
// Nouns:
//   - Version: one registered model version, its lineage and the SHA-256
//     of its artifact; written once, never changed, sealed.
//   - Alias: a name for the version that holds it (MLflow's rules).
//   - Event: one alias move (promote or rollback): who, when, from, to, why.
//   - Head: aliases.json, the aliases and the history of their moves.
//
// On disk, under <experiments>/models/<name>/ (docs/FORMATS.md), through a
// blob.Store:
//
//	versions/<n>.json  one object per version, created once (exclusive)
//	aliases.json       the head, replaced by compare-and-swap
//	.lock              queues local writers (flock)
//
// A move is one write: the new head, written only if the head is still
// the one the move was decided on. A crash leaves the head before the move
// or after it, never between. Registries of format 1 (aliases.json as a
// bare map, history.jsonl appended before it) are read, an interrupted
// format-1 move is rolled forward or back, and the next command that takes
// the lock converts the model to format 2.
//
// Every read checks the objects against each other (the aliases must be
// what the history says; a version's seal must match its content and its
// facts its run's record), so a hand-edited registry is reported (an
// integrity error), never trusted.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofrs/flock"

	"github.com/housectl/housectl/pkg/blob"
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
	return fmt.Sprintf("registry file %s is invalid: %v. housectl will not use it as it is: undo the change, or restore the file from a copy (experiments/ is not in git by default)", e.Path, e.Err)
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
	// Files are an external version's artifacts (its source: a file or
	// a directory of the run's), each checked against the run's record;
	// SHA256 is then their digest (ArtifactDigest).
	Files []tracking.Artifact `json:"files,omitempty"`
	// Seal is the SHA-256 of the rest of the record (package seal):
	// versions registered before seals existed have none and are checked
	// against their run only.
	Seal string `json:"seal,omitempty"`
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
	// Blob holds the registry's objects; nil means a blob.Dir at Dir().
	Blob blob.Store
}

// Options configure a registry beyond its directory.
type Options struct {
	// Now is the clock of versions and events (nil: time.Now).
	Now func() time.Time
	// User is recorded as who registered or moved.
	User string
	// LockWait bounds the wait for another writer (0: 10 s).
	LockWait time.Duration
	// Blob holds the registry's objects (nil: a blob.Dir at dir/models).
	Blob blob.Store
}

// New returns the registry of the experiments directory dir, over the run
// store of the same directory.
func New(dir string, o Options) *Registry {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Registry{Root: dir, Store: &tracking.Store{Dir: dir, Now: o.Now}, Now: o.Now, User: o.User, LockWait: o.LockWait, Blob: o.Blob}
}

// Over returns the registry that lives with the run store s: in its
// directory, or in its bucket's models/ (with s.Dir as the local copy of
// the runs its versions are checked against).
func Over(s *tracking.Store, o Options) *Registry {
	if s.Remote != nil && o.Blob == nil {
		o.Blob = &blob.S3{B: s.Remote.B.Sub(tracking.RegistryDir)}
	}
	g := New(s.Dir, o)
	g.Store = s
	return g
}

func (g *Registry) blobs() blob.Store {
	if g.Blob == nil {
		g.Blob = &blob.Dir{Root: g.Dir(), LockWait: g.LockWait}
	}
	return g.Blob
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

// validAlias is MLflow's ^[\w\-]*$ (Python's Unicode \w: letters,
// numbers and '_'), 1 to 255 characters.
func validAlias(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > 255 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

// reservedV is ^[vV]\d+$ (Python's Unicode \d: decimal digits).
func reservedV(s string) bool {
	if len(s) < 2 || s[0] != 'v' && s[0] != 'V' {
		return false
	}
	for _, r := range s[1:] {
		if !unicode.IsDigit(r) {
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

// ValidateAlias checks an alias by MLflow's rules: letters and numbers of
// any script, '_' and '-', at most 255 characters; "latest" and
// v<digits> are reserved.
func ValidateAlias(alias string) error {
	switch {
	case !validAlias(alias):
		return fmt.Errorf("alias %q: use 1-255 letters, digits (of any script), '_' or '-'", alias)
	case strings.EqualFold(alias, "latest"):
		return fmt.Errorf("alias %q is reserved: models:/NAME/latest already means the newest version", alias)
	case reservedV(alias):
		return fmt.Errorf("alias %q is reserved: v<number> names a version", alias)
	}
	return nil
}

// lock takes the model's writer lock and returns when it was taken.
// Writers queue on it; the conditional writes under it are what keeps a
// move atomic, the lock only spares them retries.
func (g *Registry) lock(ctx context.Context, name string) (func(), time.Time, error) {
	dir := g.modelDir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, time.Time{}, err
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
		return nil, time.Time{}, fmt.Errorf("model %s is locked by another housectl process (waited %v): try again", name, wait)
	}
	return func() { _ = fl.Unlock() }, time.Now(), nil
}

// maxAttempts bounds the retries of a write whose precondition failed
// because another writer got there first.
const maxAttempts = 20

// update runs one write to a model under its lock: it reads and checks the
// model, repairs what an interrupted command left (temporary files, the
// format-1 layout and its interrupted move), then lets write do its part
// with the state it read. A write whose precondition fails (another
// writer changed the model since it was read) is retried from the read.
func (g *Registry) update(ctx context.Context, name string, write func(st *state) error) error {
	unlock, lockedAt, err := g.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if sw, ok := g.blobs().(interface {
		Sweep(prefix string, olderThan time.Time) (int, error)
	}); ok {
		if _, err := sw.Sweep(name+"/", lockedAt); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		st, err := g.read(ctx, name)
		if err == nil {
			err = write(st)
		}
		if !errors.Is(err, blob.ErrPrecondition) || attempt == maxAttempts {
			if errors.Is(err, blob.ErrPrecondition) {
				return fmt.Errorf("model %s kept changing under this command (%d attempts): another housectl is moving it; try again: %w", name, attempt, err)
			}
			return err
		}
		// Another writer won the race (on S3, from another machine, past
		// the local lock): read again after a short random wait, so that
		// writers racing in step fall out of it.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(attempt) * int64(20*time.Millisecond)))):
		}
	}
}

// commit writes the model's head with e applied (nil: as it is, to repair
// or convert it): aliases.json replaced if it is still what st read, the
// one commit point of a move. Then a format-1 history.jsonl, now inside
// the head, is deleted.
func (g *Registry) commit(ctx context.Context, name string, st *state, e *Event) error {
	aliases, history := maps.Clone(st.aliases), slices.Clone(st.history)
	if aliases == nil {
		aliases = map[string]int{}
	}
	if e != nil {
		aliases[e.Alias] = e.To
		if e.Action == ActionUnset {
			delete(aliases, e.Alias)
		}
		history = append(history, *e)
	}
	cond := blob.Cond{IfMatch: st.headTag, IfAbsent: st.headTag == ""}
	b := g.blobs()
	if _, err := b.Put(ctx, headKey(name), encodeHead(aliases, history), cond); err != nil {
		return err
	}
	if st.legacy {
		if err := b.Delete(ctx, legacyHistoryKey(name)); err != nil && !errors.Is(err, blob.ErrNotExist) {
			return err
		}
	}
	return nil
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
	rel, err := filepath.Rel(g.Root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("run %s is not under %s", run.ID, g.Root)
	}
	file, err := g.Store.ModelFile(ctx, run)
	if err != nil {
		return nil, err
	}
	if sum, err := tracking.FileSHA256(file); err != nil {
		return nil, err
	} else if sum != art.SHA256 {
		return nil, &CorruptError{Path: path, Err: fmt.Errorf("sha256 %s, but run %s recorded %s", sum, run.ID, art.SHA256)}
	}
	// In a shared store the version must not reach the bucket before
	// its run: a reader elsewhere checks one against the other.
	if err := g.Store.Publish(ctx, run); err != nil {
		return nil, err
	}
	return g.addVersion(ctx, name, &Version{
		Name: name, Description: description,
		RunID: run.ID, Experiment: run.Experiment, Source: "runs:/" + run.ID + "/" + art.Path, Model: run.Model,
		Artifact: filepath.ToSlash(rel), SHA256: art.SHA256, DataMD5: run.Lineage.DataMD5, TestSet: run.Lineage.TestSet(),
		Metrics: run.Metrics, Params: run.ParamStrings(), Lineage: run.Lineage,
	})
}

// addVersion writes v as the model's next version, created once and
// sealed, under the model's lock (converting a format-1 model first).
func (g *Registry) addVersion(ctx context.Context, name string, v *Version) (*Version, error) {
	err := g.update(ctx, name, func(st *state) error {
		if st.legacy {
			if err := g.commit(ctx, name, st, nil); err != nil {
				return err
			}
		}
		v.Version, v.Created, v.User = 1, g.Now().UTC(), g.User
		if n := len(st.versions); n > 0 {
			v.Version = st.versions[n-1].Version + 1
		}
		var err error
		v.Seal = ""
		if v.Seal, err = v.seal(); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		_, err = g.blobs().Put(ctx, versionKey(name, v.Version), append(b, '\n'), blob.Cond{IfAbsent: true})
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
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
	st, err := g.read(context.Background(), name)
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
	infos, err := g.blobs().List(context.Background(), "")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, info := range infos {
		name, _, ok := strings.Cut(info.Key, "/")
		if ok && ValidateName(name) == nil && (len(names) == 0 || names[len(names)-1] != name) {
			names = append(names, name)
		}
	}
	var out []*Model
	for _, name := range names {
		m, err := g.Get(name)
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

// validMove checks the model and alias of a move.
func validMove(name, alias string) error {
	if err := ValidateAlias(alias); err != nil {
		return err
	}
	return ValidateName(name)
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
	if err := validMove(name, alias); err != nil {
		return Event{}, err
	}
	var out Event
	err := g.update(ctx, name, func(st *state) error {
		cand := st.version(n)
		if cand == nil {
			if len(st.versions) == 0 {
				return fmt.Errorf("%w: no registered model %q", ErrNotFound, name)
			}
			return fmt.Errorf("%w: model %s has no version %d", ErrNotFound, name, n)
		}
		from := st.aliases[alias]
		if from == n {
			out = Event{Alias: alias, From: n, To: n}
			return g.repairOnly(ctx, name, st)
		}
		if o.Gate != nil {
			if err := o.Gate(st.version(from), cand); err != nil {
				return err
			}
		}
		out = Event{Time: g.Now().UTC(), User: g.User, Action: ActionPromote, Alias: alias, From: from, To: n, Reason: o.Reason}
		return g.commit(ctx, name, st, &out)
	})
	if err != nil {
		return Event{}, err
	}
	return out, nil
}

// repairOnly converts a format-1 model when a command that holds the
// lock has nothing else to write.
func (g *Registry) repairOnly(ctx context.Context, name string, st *state) error {
	if !st.legacy {
		return nil
	}
	return g.commit(ctx, name, st, nil)
}

// Rollback gives alias back to the version that held it before the
// current one (promotions stack up; each rollback pops one).
func (g *Registry) Rollback(ctx context.Context, name, alias, reason string) (Event, error) {
	if err := validMove(name, alias); err != nil {
		return Event{}, err
	}
	var out Event
	err := g.update(ctx, name, func(st *state) error {
		var stack []int
		for _, e := range st.history {
			if e.Alias != alias {
				continue
			}
			if e.Action == ActionUnset {
				stack = stack[:0] // the alias starts over
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
			return fmt.Errorf("%w: model %s has no alias %q to roll back", ErrNotFound, name, alias)
		}
		if len(stack) < 2 {
			return fmt.Errorf("alias %s of %s has no earlier holder than version %d to roll back to", alias, name, cur)
		}
		out = Event{Time: g.Now().UTC(), User: g.User, Action: ActionRollback, Alias: alias, From: cur, To: stack[len(stack)-2], Reason: reason}
		return g.commit(ctx, name, st, &out)
	})
	if err != nil {
		return Event{}, err
	}
	return out, nil
}
