package registry

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/housectl/housectl/pkg/blob"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/model/all"
	"github.com/housectl/housectl/pkg/tracking"
)

// URI is a parsed models:/ URI: models:/NAME/VERSION, models:/NAME/latest
// or models:/NAME@ALIAS (split at the last '@', as MLflow does).
type URI struct {
	Name    string
	Version int    // > 0 for models:/NAME/VERSION
	Alias   string // for models:/NAME@ALIAS
	Latest  bool   // models:/NAME/latest
}

func (u URI) String() string {
	switch {
	case u.Alias != "":
		return "models:/" + u.Name + "@" + u.Alias
	case u.Latest:
		return "models:/" + u.Name + "/latest"
	}
	return "models:/" + u.Name + "/" + strconv.Itoa(u.Version)
}

// IsURI reports whether s is meant as a models:/ URI.
func IsURI(s string) bool { return strings.HasPrefix(s, "models:/") }

// ParseURI parses a models:/ URI.
func ParseURI(s string) (URI, error) {
	bad := func(why string) (URI, error) {
		return URI{}, fmt.Errorf("%q is not a proper models:/ URI (%s): use models:/NAME/VERSION, models:/NAME/latest or models:/NAME@ALIAS", s, why)
	}
	rest, ok := strings.CutPrefix(s, "models:/")
	if !ok {
		return bad("no models:/ prefix")
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		u := URI{Name: rest[:i], Alias: rest[i+1:]}
		if strings.Contains(u.Name, "/") {
			return bad("a name with an alias has no /")
		}
		if err := ValidateName(u.Name); err != nil {
			return bad(err.Error())
		}
		if err := ValidateAlias(u.Alias); err != nil {
			return bad(err.Error())
		}
		return u, nil
	}
	name, ver, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(ver, "/") || ver == "" {
		return bad("want exactly NAME/VERSION or NAME@ALIAS")
	}
	if err := ValidateName(name); err != nil {
		return bad(err.Error())
	}
	if strings.EqualFold(ver, "latest") {
		return URI{Name: name, Latest: true}, nil
	}
	n, err := strconv.Atoi(ver)
	if err != nil || n < 1 || strconv.Itoa(n) != ver {
		return bad(fmt.Sprintf("version %q is not a positive number; stages are not supported, use an alias", ver))
	}
	return URI{Name: name, Version: n}, nil
}

// Resolve returns the version a URI names.
func (g *Registry) Resolve(u URI) (*Version, error) {
	switch {
	case u.Alias != "":
		return g.Alias(u.Name, u.Alias)
	case u.Latest:
		m, err := g.Get(u.Name)
		if err != nil {
			return nil, err
		}
		return m.Versions[len(m.Versions)-1], nil
	}
	return g.Version(u.Name, u.Version)
}

// Stamp returns a token that changes whenever what u resolves to may
// have changed, at the cost of one small request: the ETag of the
// model's head (a HEAD request) for an alias, the last version's key (a
// listing) for latest; a numbered version never changes. A server polls
// it and resolves again only when it differs.
func (g *Registry) Stamp(ctx context.Context, u URI) (string, error) {
	switch {
	case u.Alias != "":
		tag, err := g.blobs().Stat(ctx, headKey(u.Name))
		if errors.Is(err, blob.ErrNotExist) {
			return "no head", nil
		}
		return tag, err
	case u.Latest:
		infos, err := g.blobs().List(ctx, versionsPrefix(u.Name))
		if err != nil {
			return "", err
		}
		n := 0
		for _, i := range infos {
			num, _ := strings.CutSuffix(path.Base(i.Key), ".json")
			if v, err := strconv.Atoi(num); err == nil && v > n {
				n = v
			}
		}
		return fmt.Sprintf("%d versions, last %d", len(infos), n), nil
	}
	return "version " + strconv.Itoa(u.Version), nil
}

// ArtifactPath is the version's model file in a local registry.
func (g *Registry) ArtifactPath(v *Version) string {
	return filepath.Join(g.Root, filepath.FromSlash(v.Artifact))
}

// Load reads the version's model and checks it is the one registered. In
// a shared registry the artifact comes from the content-addressed cache,
// fetched and checked first.
func (g *Registry) Load(ctx context.Context, v *Version) (*model.Artifact, error) {
	if v.Model == tracking.KindExternal {
		return nil, &ExternalError{Name: v.Name, Version: v.Version, RunID: v.RunID}
	}
	p := g.ArtifactPath(v)
	if g.Store != nil && g.Store.Remote != nil {
		run, err := g.Store.EnsureRun(ctx, v.Experiment, v.RunID)
		if err != nil {
			return nil, err
		}
		if p, err = g.Store.ModelFile(ctx, run); err != nil {
			return nil, err
		}
	}
	a, sum, err := all.Load(p)
	if err != nil {
		return nil, err
	}
	if sum != v.SHA256 {
		return nil, &CorruptError{Path: p, Err: fmt.Errorf("sha256 %s, but %s version %d was registered with %s", sum, v.Name, v.Version, v.SHA256)}
	}
	return a, nil
}

// LoadRunModel reads a finished run's model from its store and checks it
// against the run's record.
func LoadRunModel(ctx context.Context, s *tracking.Store, run *tracking.Run) (*model.Artifact, error) {
	if run.Status != tracking.StatusFinished {
		return nil, fmt.Errorf("run %s is %s: only finished runs have a model", run.ID, run.Status)
	}
	p, err := s.ModelFile(ctx, run)
	if err != nil {
		return nil, err
	}
	for _, a := range run.Artifacts {
		if a.Path != tracking.ModelArtifact {
			continue
		}
		art, sum, err := all.Load(p)
		if err != nil {
			return nil, err
		}
		if sum != a.SHA256 {
			return nil, &CorruptError{Path: p, Err: fmt.Errorf("sha256 %s, but run %s recorded %s", sum, run.ID, a.SHA256)}
		}
		return art, nil
	}
	return nil, fmt.Errorf("run %s has no model artifact", run.ID)
}
