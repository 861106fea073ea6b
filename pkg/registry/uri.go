package registry

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

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

// ArtifactPath is the version's model file.
func (g *Registry) ArtifactPath(v *Version) string {
	return filepath.Join(g.Root, filepath.FromSlash(v.Artifact))
}

// Load reads the version's model and checks it is the one registered.
func (g *Registry) Load(v *Version) (*model.Artifact, error) {
	p := g.ArtifactPath(v)
	a, sum, err := all.Load(p)
	if err != nil {
		return nil, err
	}
	if sum != v.SHA256 {
		return nil, &CorruptError{Path: p, Err: fmt.Errorf("sha256 %s, but %s version %d was registered with %s", sum, v.Name, v.Version, v.SHA256)}
	}
	return a, nil
}

// LoadRunModel reads a finished run's model and checks it against the
// run's record.
func LoadRunModel(run *tracking.Run) (*model.Artifact, error) {
	if run.Status != tracking.StatusFinished {
		return nil, fmt.Errorf("run %s is %s: only finished runs have a model", run.ID, run.Status)
	}
	for _, a := range run.Artifacts {
		if a.Path != "artifacts/model.bin" {
			continue
		}
		p := filepath.Join(run.Dir(), filepath.FromSlash(a.Path))
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
