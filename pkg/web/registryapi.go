package web

// MLflow's model registry API over housectl's registry: registered
// models, versions, aliases, tags and descriptions. Aliases move through
// the registry's history as the CLI's do (an alias set through the API is
// a promotion; a removed one an "unset" move). Versions of external runs
// are registered with a digest of their artifacts and are never served.

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
)

func (s *Server) registryRoutes(mux *http.ServeMux) {
	for _, pre := range []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"} {
		route := func(method, name string, h apiFunc) {
			mux.HandleFunc(method+" "+pre+name, s.api(h))
		}
		route("POST", "registered-models/create", s.createModel)
		route("GET", "registered-models/get", s.getModel)
		route("GET", "registered-models/search", s.searchModels)
		route("POST", "registered-models/search", s.searchModels)
		route("POST", "registered-models/get-latest-versions", s.latestVersions)
		route("GET", "registered-models/get-latest-versions", s.latestVersions)
		route("POST", "registered-models/set-tag", s.modelTag(false))
		route("DELETE", "registered-models/delete-tag", s.modelTag(true))
		route("PATCH", "registered-models/update", s.updateModel)
		route("DELETE", "registered-models/delete", s.deleteModel)
		route("POST", "registered-models/rename", func(*http.Request, args) (any, error) {
			return nil, invalid("housectl does not rename registered models: versions and runs point at the name; register the runs under the new name")
		})
		route("POST", "registered-models/alias", s.setAlias)
		route("DELETE", "registered-models/alias", s.deleteAlias)
		route("GET", "registered-models/alias", s.getAlias)
		route("POST", "model-versions/create", s.createVersion)
		route("GET", "model-versions/get", s.getVersion)
		route("PATCH", "model-versions/update", s.updateVersion)
		route("POST", "model-versions/set-tag", s.versionTag(false))
		route("DELETE", "model-versions/delete-tag", s.versionTag(true))
		route("GET", "model-versions/get-download-uri", s.downloadURI)
		route("GET", "model-versions/search", s.searchVersions)
		route("POST", "model-versions/search", s.searchVersions)
		route("DELETE", "model-versions/delete", func(*http.Request, args) (any, error) {
			return nil, &apiError{http.StatusBadRequest, "INVALID_STATE", "housectl keeps every registered version (its aliases' history points at them); move the aliases away instead"}
		})
		route("POST", "model-versions/transition-stage", func(*http.Request, args) (any, error) {
			return nil, invalid("model stages are deprecated in MLflow and not kept by housectl: set an alias (registered-models/alias) instead")
		})
	}
}

type versionJSON struct {
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Created     int64      `json:"creation_timestamp"`
	Updated     int64      `json:"last_updated_timestamp"`
	Stage       string     `json:"current_stage"`
	Description string     `json:"description"`
	Source      string     `json:"source"`
	RunID       string     `json:"run_id"`
	Status      string     `json:"status"`
	RunLink     string     `json:"run_link"`
	Tags        []keyValue `json:"tags,omitempty"`
	Aliases     []string   `json:"aliases"`
}

type aliasJSON struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type modelJSON struct {
	Name           string        `json:"name"`
	Created        int64         `json:"creation_timestamp"`
	Updated        int64         `json:"last_updated_timestamp"`
	Description    string        `json:"description"`
	LatestVersions []versionJSON `json:"latest_versions,omitempty"`
	Tags           []keyValue    `json:"tags,omitempty"`
	Aliases        []aliasJSON   `json:"aliases,omitempty"`
}

// regModel is a registered model read for the API: versions and aliases
// (nil model when it has none yet) and its meta.
type regModel struct {
	name  string
	model *registry.Model
	meta  *registry.Meta
}

func (s *Server) readModel(ctx context.Context, name string) (*regModel, error) {
	if err := registry.ValidateName(name); err != nil {
		return nil, invalid("%v", err)
	}
	meta, err := s.reg.Meta(ctx, name)
	if err != nil {
		return nil, err
	}
	m, err := s.reg.Get(name)
	if errors.Is(err, registry.ErrNotFound) {
		m, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if m == nil && meta == nil {
		return nil, notFound("Registered Model with name=%s not found", name)
	}
	return &regModel{name: name, model: m, meta: meta}, nil
}

func (rm *regModel) version(n int) (*registry.Version, error) {
	if rm.model != nil {
		for _, v := range rm.model.Versions {
			if v.Version == n {
				return v, nil
			}
		}
	}
	return nil, notFound("Model Version (name=%s, version=%d) not found", rm.name, n)
}

func (rm *regModel) versionJSON(v *registry.Version) versionJSON {
	j := versionJSON{Name: v.Name, Version: strconv.Itoa(v.Version), Created: v.Created.UnixMilli(), Updated: v.Created.UnixMilli(),
		Stage: "None", Description: v.Description, Source: v.Source, RunID: v.RunID, Status: "READY", Aliases: []string{}}
	if rm.meta != nil {
		if vm := rm.meta.Versions[strconv.Itoa(v.Version)]; vm != nil {
			if vm.Description != nil {
				j.Description = *vm.Description
			}
			if len(vm.Tags) > 0 {
				j.Tags = kvList(vm.Tags)
			}
			j.Updated = vm.Updated.UnixMilli()
		}
	}
	if rm.model != nil {
		j.Aliases = rm.model.AliasesOf(v.Version)
	}
	return j
}

func (rm *regModel) json() modelJSON {
	j := modelJSON{Name: rm.name}
	if rm.meta != nil {
		j.Created, j.Updated = rm.meta.Created.UnixMilli(), rm.meta.Updated.UnixMilli()
		j.Description = rm.meta.Description
		if len(rm.meta.Tags) > 0 {
			j.Tags = kvList(rm.meta.Tags)
		}
	}
	if rm.model != nil && len(rm.model.Versions) > 0 {
		last := rm.model.Versions[len(rm.model.Versions)-1]
		j.LatestVersions = []versionJSON{rm.versionJSON(last)}
		if rm.meta == nil {
			j.Created = rm.model.Versions[0].Created.UnixMilli()
		}
		j.Updated = max(j.Updated, last.Created.UnixMilli())
		for _, a := range slices.Sorted(maps.Keys(rm.model.Aliases)) {
			j.Aliases = append(j.Aliases, aliasJSON{a, strconv.Itoa(rm.model.Aliases[a])})
		}
	}
	return j
}

func (s *Server) createModel(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	desc := in.str("description")
	tags := in.keyValues("tags")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	if err := registry.ValidateName(name); err != nil {
		return nil, invalid("%v", err)
	}
	if _, err := s.reg.CreateModel(r.Context(), name, desc, kvMap(tags)); err != nil {
		return nil, err
	}
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": rm.json()}, nil
}

func (s *Server) getModel(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	if in.err != nil {
		return nil, in.err
	}
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": rm.json()}, nil
}

func (s *Server) searchModels(r *http.Request, a args) (any, error) {
	f, pg, models, err := s.registrySearch(r, a, 100, 1000)
	if err != nil {
		return nil, err
	}
	var out []modelJSON
	for _, rm := range models {
		n := rm.name
		j := rm.json()
		tags := map[string]string{}
		if rm.meta != nil {
			tags = rm.meta.Tags
		}
		if f.MatchModel(n, "", msTime(j.Created), msTime(j.Updated), tags) {
			out = append(out, j)
		}
	}
	return page(pg, out, "registered_models"), nil
}

// registrySearch reads a registry search's filter and paging, and every
// registered model.
func (s *Server) registrySearch(r *http.Request, a args, def, limit int64) (*tracking.Filter, paging, []*regModel, error) {
	src, err := a.str("filter")
	if err != nil {
		return nil, paging{}, nil, err
	}
	f, err := tracking.ParseModelFilter(src)
	if err != nil {
		return nil, paging{}, nil, invalid("Invalid filter '%s': %v", src, err)
	}
	pg, err := a.paging(def, limit)
	if err != nil {
		return nil, paging{}, nil, err
	}
	names, err := s.reg.ModelNames(r.Context())
	if err != nil {
		return nil, paging{}, nil, err
	}
	models := make([]*regModel, 0, len(names))
	for _, n := range names {
		rm, err := s.readModel(r.Context(), n)
		if err != nil {
			return nil, paging{}, nil, err
		}
		models = append(models, rm)
	}
	return f, pg, models, nil
}

func (s *Server) latestVersions(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	stages := in.list("stages")
	if in.err != nil {
		return nil, in.err
	}
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	resp := map[string]any{}
	// Every version's stage is "None": the latest is the last version.
	if rm.model != nil && len(rm.model.Versions) > 0 && (len(stages) == 0 || slices.ContainsFunc(stages, func(s string) bool { return strings.EqualFold(s, "None") })) {
		resp["model_versions"] = []versionJSON{rm.versionJSON(rm.model.Versions[len(rm.model.Versions)-1])}
	}
	return resp, nil
}

func (s *Server) modelTag(remove bool) apiFunc {
	return func(r *http.Request, a args) (any, error) {
		in := a.reader()
		name := in.required("name")
		key := in.required("key")
		value := in.str("value")
		if in.err != nil {
			return nil, in.err
		}
		if err := s.writable(); err != nil {
			return nil, err
		}
		if _, err := s.readModel(r.Context(), name); err != nil {
			return nil, err
		}
		return nil, s.reg.ChangeMeta(r.Context(), name, func(m *registry.Meta) error {
			if remove {
				if _, ok := m.Tags[key]; !ok {
					return notFound("Registered model tag with name=%s not found", key)
				}
				delete(m.Tags, key)
				return nil
			}
			if m.Tags == nil {
				m.Tags = map[string]string{}
			}
			m.Tags[key] = value
			return nil
		})
	}
}

func (s *Server) updateModel(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	desc := in.str("description")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	if _, err := s.readModel(r.Context(), name); err != nil {
		return nil, err
	}
	if err := s.reg.ChangeMeta(r.Context(), name, func(m *registry.Meta) error { m.Description = desc; return nil }); err != nil {
		return nil, err
	}
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": rm.json()}, nil
}

func (s *Server) deleteModel(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	if _, err := s.readModel(r.Context(), name); err != nil {
		return nil, err
	}
	return nil, s.reg.DeleteModel(r.Context(), name)
}

func (a args) version() (int, error) {
	v, err := a.required("version")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, invalid("Parameter 'version' must be an integer, got '%s'.", v)
	}
	return n, nil
}

func (s *Server) setAlias(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	alias := in.required("alias")
	n := in.version()
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	if err := registry.ValidateAlias(alias); err != nil {
		return nil, invalid("%v", err)
	}
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	if _, err := rm.version(n); err != nil {
		return nil, err
	}
	_, err = s.reg.Promote(r.Context(), name, alias, n, registry.PromoteOptions{Reason: "set through MLflow's API"})
	return nil, err
}

func (s *Server) deleteAlias(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	alias := in.required("alias")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	if _, err := s.readModel(r.Context(), name); err != nil {
		return nil, err
	}
	_, err := s.reg.Unset(r.Context(), name, alias, "deleted through MLflow's API")
	return nil, err
}

func (s *Server) getAlias(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	alias := in.required("alias")
	if in.err != nil {
		return nil, in.err
	}
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	n, ok := 0, false
	if rm.model != nil {
		n, ok = rm.model.Aliases[alias]
	}
	if !ok {
		return nil, notFound("Registered model alias %s not found.", alias)
	}
	v, err := rm.version(n)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_version": rm.versionJSON(v)}, nil
}

// sourcePath reads a version's source as a path below the run's
// artifacts: runs:/<run>/<path>, or the run's artifact URI and a path.
func sourcePath(source, runID string, run *tracking.Run) (string, error) {
	if rest, ok := strings.CutPrefix(source, "runs:/"); ok {
		id, p, _ := strings.Cut(rest, "/")
		if id != runID {
			return "", invalid("source %s names run %s, but run_id is %s", source, id, runID)
		}
		return p, nil
	}
	if rest, ok := strings.CutPrefix(source, artifactURI(run)+"/"); ok {
		return rest, nil
	}
	return "", invalid("source %q: housectl registers the artifacts of its runs; give runs:/%s/<path> or %s/<path>", source, runID, artifactURI(run))
}

func (s *Server) createVersion(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	source := in.required("source")
	runID := in.str("run_id")
	desc := in.str("description")
	tags := in.keyValues("tags")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	if runID == "" {
		if rest, ok := strings.CutPrefix(source, "runs:/"); ok {
			runID, _, _ = strings.Cut(rest, "/")
		}
	}
	if runID == "" {
		return nil, invalid("housectl registers versions of its runs: give run_id and source runs:/<run id>/<path>")
	}
	if _, err := s.readModel(r.Context(), name); err != nil {
		return nil, err
	}
	lr, err := s.live(runID)
	if err != nil {
		return nil, err
	}
	lr.mu.Lock()
	run := lr.run.Clone()
	lr.mu.Unlock()
	rel, err := sourcePath(source, runID, run)
	if err != nil {
		return nil, err
	}
	var v *registry.Version
	if run.Model == tracking.KindExternal {
		v, err = s.reg.RegisterExternal(r.Context(), run, name, rel, desc)
	} else {
		if rel != "artifacts/model.bin" && rel != "model.bin" {
			return nil, invalid("run %s is housectl's: its model is runs:/%s/artifacts/model.bin", runID, runID)
		}
		v, err = s.reg.Register(r.Context(), run, name, desc)
	}
	if err != nil {
		return nil, invalid("%v", err)
	}
	if len(tags) > 0 {
		err := s.reg.ChangeMeta(r.Context(), name, func(m *registry.Meta) error {
			vm := versionMeta(m, v.Version)
			vm.Tags = kvMap(tags)
			vm.Updated = v.Created
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_version": rm.versionJSON(v)}, nil
}

func versionMeta(m *registry.Meta, n int) *registry.VersionMeta {
	if m.Versions == nil {
		m.Versions = map[string]*registry.VersionMeta{}
	}
	k := strconv.Itoa(n)
	if m.Versions[k] == nil {
		m.Versions[k] = &registry.VersionMeta{}
	}
	return m.Versions[k]
}

func (s *Server) getVersion(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	n := in.version()
	if in.err != nil {
		return nil, in.err
	}
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	v, err := rm.version(n)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_version": rm.versionJSON(v)}, nil
}

// changeVersion applies fn to version n's meta and returns the version.
func (s *Server) changeVersion(ctx context.Context, name string, n int, fn func(vm *registry.VersionMeta) error) (versionJSON, error) {
	if err := s.writable(); err != nil {
		return versionJSON{}, err
	}
	rm, err := s.readModel(ctx, name)
	if err != nil {
		return versionJSON{}, err
	}
	if _, err := rm.version(n); err != nil {
		return versionJSON{}, err
	}
	err = s.reg.ChangeMeta(ctx, name, func(m *registry.Meta) error {
		vm := versionMeta(m, n)
		if err := fn(vm); err != nil {
			return err
		}
		vm.Updated = s.now().UTC()
		return nil
	})
	if err != nil {
		return versionJSON{}, err
	}
	if rm, err = s.readModel(ctx, name); err != nil {
		return versionJSON{}, err
	}
	v, err := rm.version(n)
	if err != nil {
		return versionJSON{}, err
	}
	return rm.versionJSON(v), nil
}

func (s *Server) updateVersion(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	n := in.version()
	desc := in.str("description")
	if in.err != nil {
		return nil, in.err
	}
	j, err := s.changeVersion(r.Context(), name, n, func(vm *registry.VersionMeta) error { vm.Description = &desc; return nil })
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_version": j}, nil
}

func (s *Server) versionTag(remove bool) apiFunc {
	return func(r *http.Request, a args) (any, error) {
		in := a.reader()
		name := in.required("name")
		n := in.version()
		key := in.required("key")
		value := in.str("value")
		if in.err != nil {
			return nil, in.err
		}
		_, err := s.changeVersion(r.Context(), name, n, func(vm *registry.VersionMeta) error {
			if remove {
				if _, ok := vm.Tags[key]; !ok {
					return notFound("Model version tag with name=%s not found", key)
				}
				delete(vm.Tags, key)
				return nil
			}
			if vm.Tags == nil {
				vm.Tags = map[string]string{}
			}
			vm.Tags[key] = value
			return nil
		})
		return nil, err
	}
}

func (s *Server) downloadURI(r *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	n := in.version()
	if in.err != nil {
		return nil, in.err
	}
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	v, err := rm.version(n)
	if err != nil {
		return nil, err
	}
	return map[string]string{"artifact_uri": v.Source}, nil
}

func (s *Server) searchVersions(r *http.Request, a args) (any, error) {
	f, pg, models, err := s.registrySearch(r, a, 10000, 200000)
	if err != nil {
		return nil, err
	}
	var out []versionJSON
	for _, rm := range models {
		n := rm.name
		if rm.model == nil {
			continue
		}
		for i := len(rm.model.Versions) - 1; i >= 0; i-- {
			j := rm.versionJSON(rm.model.Versions[i])
			tags := map[string]string{}
			for _, kv := range j.Tags {
				tags[kv.Key] = kv.Value
			}
			if f.MatchModel(n, j.RunID, msTime(j.Created), msTime(j.Updated), tags) {
				out = append(out, j)
			}
		}
	}
	return page(pg, out, "model_versions"), nil
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
