package tracking

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// number returns a metric or numeric attribute of the run.
func (r *Run) number(kind, key string) (float64, bool) {
	if kind == kindMetric {
		v, ok := r.Metrics[key]
		return v, ok
	}
	switch key {
	case "start_time":
		return float64(r.StartTime.UnixMilli()), true
	case "end_time":
		if r.EndTime == nil {
			return 0, false
		}
		return float64(r.EndTime.UnixMilli()), true
	}
	return 0, false
}

// String returns a param, tag or string attribute of the run as MLflow
// would show it: params as strings (numbers in their shortest form, lists
// and objects as JSON); the model kind is params.model too; lineage shows
// up as tags (git_commit, git_branch, git_dirty, data_md5, ...) unless a
// user tag of that name exists.
func (r *Run) String(kind, key string) (string, bool) {
	switch kind {
	case kindParam:
		return r.Param(key)
	case kindTag:
		v, ok := r.AllTags()[key]
		return v, ok
	}
	switch key {
	case "run_id":
		return r.ID, true
	case "run_name":
		return r.Name, true
	case "status":
		return r.Status, true
	case "experiment":
		return r.Experiment, true
	case "user_id":
		return r.Lineage.User, r.Lineage.User != ""
	case "artifact_uri":
		return r.ArtifactURI(), true
	}
	return "", false
}

// Param returns a parameter as MLflow stores it (see String).
func (r *Run) Param(key string) (string, bool) {
	v, ok := r.Params[key]
	if !ok && key == "model" {
		return r.Model, true
	}
	return v, ok
}

// ParamStrings returns every parameter, with model.
func (r *Run) ParamStrings() map[string]string {
	out := make(map[string]string, len(r.Params)+1)
	maps.Copy(out, r.Params)
	if _, ok := out["model"]; !ok {
		out["model"] = r.Model
	}
	return out
}

// AllTags returns the user's tags plus the lineage as system tags.
func (r *Run) AllTags() map[string]string {
	out := map[string]string{}
	l := r.Lineage
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	set("git_commit", l.GitCommit)
	set("git_branch", l.GitBranch)
	if l.GitCommit != "" {
		set("git_dirty", strconv.FormatBool(l.GitDirty))
	}
	set("data_md5", l.DataMD5)
	set("data_path", l.DataPath)
	set("test_data_md5", l.TestDataMD5)
	set("config_sha256", l.ConfigSHA256)
	set("housectl_version", l.Version)
	set("host", l.Host)
	set("user", l.User)
	set("mlflow.source.git.commit", l.GitCommit)
	set("mlflow.source.git.branch", l.GitBranch)
	set("mlflow.runName", r.Name)
	set("mlflow.user", l.User)
	for k, v := range r.Tags {
		out[k] = v
	}
	return out
}

// OrderBy is one sort key: an identifier as in filters, ascending unless
// Desc.
type OrderBy struct {
	kind, key string
	Desc      bool
}

// ParseOrderBy parses "metrics.rmse", "metrics.rmse DESC",
// "attributes.start_time ASC", ...
func ParseOrderBy(src string) (OrderBy, error) {
	l := &lexer{src: src}
	l.skip()
	kind, key, err := l.identifier()
	if err != nil {
		return OrderBy{}, err
	}
	o := OrderBy{kind: kind, key: key}
	l.skip()
	at := l.pos
	if kind == kindDataset {
		return OrderBy{}, l.errf(0, "runs cannot be ordered by a dataset's %s", key)
	}
	switch w := strings.ToUpper(l.word(false)); w {
	case "", "ASC":
	case "DESC":
		o.Desc = true
	default:
		return OrderBy{}, l.errf(at, "expected ASC or DESC, got %q", w)
	}
	l.skip()
	if l.pos != len(src) {
		return OrderBy{}, l.errf(l.pos, "unexpected text after the sort key")
	}
	return o, nil
}

// SortRuns orders runs as MLflow does: the base order is start_time DESC,
// run_id ASC; then each key, applied as stable sorts from last to first.
// Missing and NaN values sort last in both directions.
func SortRuns(runs []*Run, keys []OrderBy) {
	slices.SortStableFunc(runs, func(a, b *Run) int {
		if c := b.StartTime.Compare(a.StartTime); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		numeric := k.kind == kindMetric || k.kind == kindAttr && numericAttrs[k.key] != ""
		slices.SortStableFunc(runs, func(a, b *Run) int {
			if numeric {
				va, oka := a.number(k.kind, k.key)
				vb, okb := b.number(k.kind, k.key)
				oka, okb = oka && !math.IsNaN(va), okb && !math.IsNaN(vb)
				if c := missingLast(oka, okb); c != 0 || !oka {
					return c
				}
				if k.Desc {
					return cmp.Compare(vb, va)
				}
				return cmp.Compare(va, vb)
			}
			sa, oka := a.String(k.kind, k.key)
			sb, okb := b.String(k.kind, k.key)
			if c := missingLast(oka, okb); c != 0 || !oka {
				return c
			}
			if k.Desc {
				return strings.Compare(sb, sa)
			}
			return strings.Compare(sa, sb)
		})
	}
}

func missingLast(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// Search lists the runs of experiment ("" for all) that match the filter,
// sorted, at most limit (0: all). Unreadable runs come back as errors.
// Runs deleted through MLflow's API are left out, as MLflow's searches
// leave them out by default.
func (s *Store) Search(experiment string, f *Filter, order []OrderBy, limit int) ([]*Run, []error) {
	runs, errs := s.List(experiment)
	kept := runs[:0]
	for _, r := range runs {
		if !r.Deleted && (f == nil || len(f.terms) == 0 || f.Match(r)) {
			kept = append(kept, r)
		}
	}
	runs = kept
	SortRuns(runs, order)
	if limit > 0 && len(runs) > limit {
		runs = runs[:limit]
	}
	return runs, errs
}
