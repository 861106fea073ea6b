package registry

// What MLflow's registry API needs beyond housectl's own commands:
//   - a registered model without versions, its description and tags, and
//     each version's description and tags after registration: meta.json,
//     one object per model replaced by compare-and-swap like the head;
//   - versions of external runs (recorded through MLflow's tracking
//     API): their source is a file or directory of the run's artifacts,
//     checked by a digest of the files' SHA-256s; housectl never loads
//     them as models;
//   - removing an alias (an "unset" move in the history) and deleting a
//     whole registered model.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/housectl/housectl/pkg/blob"
	"github.com/housectl/housectl/pkg/tracking"
)

// ActionUnset removes an alias (To is 0).
const ActionUnset = "unset"

// ErrExists is a registered model created twice.
var ErrExists = errors.New("registered model exists")

// ExternalError is an external version used as a model: housectl serves
// and predicts with its own model files only.
type ExternalError struct {
	Name    string
	Version int
	RunID   string
}

func (e *ExternalError) Error() string {
	return fmt.Sprintf("%s version %d is an external model (registered through MLflow's API from run %s): housectl serves and predicts with the models it trains; serve this one with the tool that made it, or register a run of housectl train", e.Name, e.Version, e.RunID)
}

// Meta is a registered model's description and tags, and each version's
// description and tags set after its registration.
type Meta struct {
	Format      int                     `json:"format"`
	Created     time.Time               `json:"created"`
	Updated     time.Time               `json:"updated"`
	Description string                  `json:"description,omitempty"`
	Tags        map[string]string       `json:"tags,omitempty"`
	Versions    map[string]*VersionMeta `json:"versions,omitempty"`
}

// VersionMeta is a version's changes after registration.
type VersionMeta struct {
	Description *string           `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Updated     time.Time         `json:"updated"`
}

func metaKey(name string) string { return name + "/meta.json" }

// readMeta returns the model's meta and its ETag ("" and a nil meta when
// there is none).
func (g *Registry) readMeta(ctx context.Context, name string) (*Meta, string, error) {
	raw, tag, err := g.blobs().Get(ctx, metaKey(name))
	if errors.Is(err, blob.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var m Meta
	if err := strictJSON(raw, &m); err != nil {
		return nil, "", &CorruptError{Path: g.path(metaKey(name)), Err: err}
	}
	if m.Format != 1 {
		return nil, "", &CorruptError{Path: g.path(metaKey(name)), Err: fmt.Errorf("format %d; this housectl reads format 1: use a newer housectl", m.Format)}
	}
	return &m, tag, nil
}

// Meta returns a model's meta (nil when it has none).
func (g *Registry) Meta(ctx context.Context, name string) (*Meta, error) {
	m, _, err := g.readMeta(ctx, name)
	return m, err
}

// ChangeMeta applies fn to the model's meta under its lock and writes it
// by compare-and-swap. The model must exist (a version or a meta).
func (g *Registry) ChangeMeta(ctx context.Context, name string, fn func(m *Meta) error) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return g.update(ctx, name, func(st *state) error {
		m, tag, err := g.readMeta(ctx, name)
		if err != nil {
			return err
		}
		if m == nil {
			if len(st.versions) == 0 {
				return fmt.Errorf("%w: Registered Model with name=%s not found", ErrNotFound, name)
			}
			m = &Meta{Format: 1, Created: st.versions[0].Created}
		}
		if err := fn(m); err != nil {
			return err
		}
		m.Updated = g.Now().UTC()
		b, _ := json.MarshalIndent(m, "", "  ")
		_, err = g.blobs().Put(ctx, metaKey(name), append(b, '\n'), blob.Cond{IfMatch: tag, IfAbsent: tag == ""})
		return err
	})
}

// CreateModel registers a model without versions, with a description and
// tags.
func (g *Registry) CreateModel(ctx context.Context, name, description string, tags map[string]string) (*Meta, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	var out *Meta
	err := g.update(ctx, name, func(st *state) error {
		m, _, err := g.readMeta(ctx, name)
		if err != nil {
			return err
		}
		if m != nil || len(st.versions) > 0 {
			return fmt.Errorf("%w: Registered Model (name=%s) already exists", ErrExists, name)
		}
		now := g.Now().UTC()
		out = &Meta{Format: 1, Created: now, Updated: now, Description: description, Tags: tags}
		b, _ := json.MarshalIndent(out, "", "  ")
		_, err = g.blobs().Put(ctx, metaKey(name), append(b, '\n'), blob.Cond{IfAbsent: true})
		return err
	})
	return out, err
}

// Exists reports whether a model is registered (a version or a meta).
func (g *Registry) Exists(ctx context.Context, name string) (bool, error) {
	infos, err := g.blobs().List(ctx, name+"/")
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(infos, func(i blob.Info) bool {
		return i.Key == metaKey(name) || strings.HasPrefix(i.Key, versionsPrefix(name))
	}), nil
}

// DeleteModel removes a registered model: its versions, aliases, history
// and meta. The runs stay.
func (g *Registry) DeleteModel(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	ok, err := g.Exists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: Registered Model with name=%s not found", ErrNotFound, name)
	}
	return g.update(ctx, name, func(*state) error {
		infos, err := g.blobs().List(ctx, name+"/")
		if err != nil {
			return err
		}
		// The head first: a model cut short by a crash has versions
		// without aliases, which reads as a model, never aliases that
		// point at nothing.
		slices.SortStableFunc(infos, func(a, b blob.Info) int {
			return boolInt(b.Key == headKey(name)) - boolInt(a.Key == headKey(name))
		})
		for _, i := range infos {
			if err := g.blobs().Delete(ctx, i.Key); err != nil && !errors.Is(err, blob.ErrNotExist) {
				return err
			}
		}
		return nil
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Unset removes an alias, recorded in the history as an "unset" move.
func (g *Registry) Unset(ctx context.Context, name, alias, reason string) (Event, error) {
	if err := validMove(name, alias); err != nil {
		return Event{}, err
	}
	var out Event
	err := g.update(ctx, name, func(st *state) error {
		cur, ok := st.aliases[alias]
		if !ok {
			return fmt.Errorf("%w: Registered model alias %s not found", ErrNotFound, alias)
		}
		out = Event{Time: g.Now().UTC(), User: g.User, Action: ActionUnset, Alias: alias, From: cur, To: 0, Reason: reason}
		return g.commit(ctx, name, st, &out)
	})
	return out, err
}

// artifactsAt returns a run's artifacts at rel: a file, or a directory
// and everything below it, sorted by path.
func artifactsAt(run *tracking.Run, rel string) []tracking.Artifact {
	prefix := "artifacts/" + rel
	var out []tracking.Artifact
	for _, a := range run.Artifacts {
		if a.Path == prefix || strings.HasPrefix(a.Path, prefix+"/") {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b tracking.Artifact) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// ArtifactDigest is the digest of files: the SHA-256 of their "path
// sha256" lines, in path order. An external version records it.
func ArtifactDigest(files []tracking.Artifact) string {
	h := sha256.New()
	for _, a := range files {
		h.Write([]byte(a.Path + " " + a.SHA256 + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// RegisterExternal makes a new version of name from an external run's
// artifacts at rel (runs:/<run>/<rel>, MLflow's source).
func (g *Registry) RegisterExternal(ctx context.Context, run *tracking.Run, name, rel, description string) (*Version, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	rel = strings.Trim(rel, "/")
	if rel == "" || path.Clean(rel) != rel || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("source path %q: name a file or directory of the run's artifacts", rel)
	}
	// As MLflow, the source may hold no files yet (a client that wrote
	// them elsewhere); the version keeps those it has.
	files := artifactsAt(run, rel)
	sum := ArtifactDigest(files)
	if err := g.Store.Publish(ctx, run); err != nil {
		return nil, err
	}
	return g.addVersion(ctx, name, &Version{
		Name: name, Description: description,
		RunID: run.ID, Experiment: run.Experiment, Source: "runs:/" + run.ID + "/" + rel, Model: run.Model,
		Artifact: path.Join(run.Experiment, run.ID, "artifacts", rel), SHA256: sum, DataMD5: run.Lineage.DataMD5,
		TestSet: run.Lineage.TestSet(), Metrics: run.Metrics, Params: run.ParamStrings(), Lineage: run.Lineage,
		Files: files,
	})
}

// ModelNames lists the registered models, with or without versions.
func (g *Registry) ModelNames(ctx context.Context) ([]string, error) {
	infos, err := g.blobs().List(ctx, "")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, info := range infos {
		name, rest, ok := strings.Cut(info.Key, "/")
		if ok && ValidateName(name) == nil && (rest == "meta.json" || strings.HasPrefix(rest, "versions/")) {
			seen[name] = true
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
