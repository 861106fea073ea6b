package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/data"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/promote"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/train"
)

// StageOptions are what housectl's stages need.
type StageOptions struct {
	Loaded   *config.Loaded
	Registry *registry.Registry
	// Fetch is the data fetch's options but for the config's data
	// section (client, user agent, progress, notices).
	Fetch data.FetchOptions
	// Train is the training request but for the configuration, which is
	// Loaded's (lineage facts, progress).
	Train train.Request
	// Log receives what the stages say.
	Log io.Writer
	Now func() time.Time
}

// Stages are housectl's stages, in the order of pipeline.stages:
//
//	fetch      data.url, data.sha256          -> data.archive, data.path (tracked with DVC)
//	validate   data.path, schema.*            -> the validation verdict
//	train      data.path, train.*             -> one run per candidate; the best run
//	evaluate   the best run, the alias holder -> experiments/evaluation.json
//	register   the best run                   -> a new version of pipeline.model
//	promote    the new version                -> pipeline.alias, if better (pipeline.if_better)
//
// r gives each stage the facts of the ones before it.
func Stages(r *Runner, o StageOptions) []Stage {
	cfg := &o.Loaded.Config
	g := o.Registry
	store := g.Store
	p := cfg.Pipeline
	now := o.Now
	if now == nil {
		now = time.Now
	}
	say := func(format string, args ...any) { fmt.Fprintf(o.Log, format+"\n", args...) }
	evalPath := filepath.Join(cfg.Experiments.Dir, "evaluation.json")
	all := map[string]Stage{
		"fetch": {
			Name: "fetch", Cmd: "housectl data fetch",
			Params: func() (map[string]any, error) {
				return map[string]any{"data.url": cfg.Data.URL, "data.sha256": cfg.Data.SHA256, "data.raw_dir": cfg.Data.RawDir}, nil
			},
			Outs: []string{cfg.Data.Archive, cfg.Data.Path},
			Run: func(ctx context.Context) (map[string]string, error) {
				fo := o.Fetch
				c := cfg.Data
				fo.URL, fo.SHA256, fo.Archive, fo.RawDir, fo.Path = c.URL, c.SHA256, c.Archive, c.RawDir, c.Path
				fo.Timeout, fo.Retries, fo.RetryBackoff, fo.MaxMemberBytes = c.Timeout, c.Retries, c.RetryBackoff, c.MaxMemberBytes
				res, err := data.Fetch(ctx, fo)
				if err != nil {
					return nil, err
				}
				tracked, err := data.Track(ctx, c.Path, func(msg string) { say("%s", msg) })
				if err != nil {
					return nil, err
				}
				say("%s: %d rows from sha256-verified %s", res.Path, res.Rows, res.Archive)
				if tracked != nil && tracked.Changed {
					say("tracked %s (md5 %s) in %s", tracked.Path, tracked.MD5, tracked.DvcFile)
				}
				return nil, nil
			},
		},
		"validate": {
			Name: "validate", Cmd: "housectl data validate",
			Params: func() (map[string]any, error) { return params(o.Loaded, "schema."), nil },
			Deps:   []string{cfg.Data.Path},
			Run: func(ctx context.Context) (map[string]string, error) {
				rep, err := dataset.Check(cfg.Data.Path, cfg.Schema, 20)
				if err != nil {
					return nil, err
				}
				for _, pr := range rep.Problems {
					say("  %s", pr)
				}
				say("%s: %s", rep.File, rep.Summary())
				if !rep.OK() {
					return nil, &dataset.ValidationError{Report: rep}
				}
				return map[string]string{"valid": "true"}, nil
			},
		},
		"train": {
			Name: "train", Cmd: "housectl train",
			Params: func() (map[string]any, error) { return params(o.Loaded, "train."), nil },
			Deps:   []string{cfg.Data.Path},
			Check: func(facts map[string]string) string {
				run, err := store.Find(facts["best_run"])
				if err != nil || run.Status != tracking.StatusFinished {
					return "the best run " + facts["best_run"] + " is gone"
				}
				for _, a := range run.Artifacts {
					if a.Path == "artifacts/model.bin" && a.SHA256 == facts["model_sha256"] {
						return ""
					}
				}
				return "the best run's model changed"
			},
			Run: func(ctx context.Context) (map[string]string, error) {
				req := o.Train
				req.Config = *cfg
				req.Store = store
				res, _, err := train.FromConfig(ctx, req)
				if err != nil {
					return nil, err
				}
				best := res.Candidates[res.Best]
				say("best by test %s: %s %.4f (run %s)", res.Metric, best.Model, best.Metrics[res.Metric], best.RunID)
				ids := make([]string, 0, len(res.Candidates))
				for _, c := range res.Candidates {
					ids = append(ids, c.RunID)
				}
				return map[string]string{"best_run": best.RunID, "best_model": best.Model, "model_sha256": best.Artifact.SHA256,
					"metric": res.Metric, "runs": strings.Join(ids, ",")}, nil
			},
		},
		"evaluate": {
			Name: "evaluate", Cmd: "housectl runs compare BEST --baseline models:/" + p.Model + "@" + p.Alias + " --json",
			Params: func() (map[string]any, error) {
				return map[string]any{"best_run": r.Fact("train", "best_run"), "holder": holderFor(g, p, r), "train.metric": cfg.Train.Metric}, nil
			},
			Outs: []string{evalPath},
			Run: func(ctx context.Context) (map[string]string, error) {
				facts, err := Evaluate(g, cfg, r.Fact("train", "best_run"), evalPath, now(), o.Log)
				if facts != nil {
					facts["holder"] = holderFor(g, p, r)
				}
				return facts, err
			},
		},
		"register": {
			Name: "register", Cmd: "housectl models register BEST --name " + p.Model,
			Params: func() (map[string]any, error) {
				return map[string]any{"pipeline.model": p.Model, "best_run": r.Fact("train", "best_run")}, nil
			},
			Check: func(facts map[string]string) string {
				n, _ := strconv.Atoi(facts["version"])
				if v, err := g.Version(p.Model, n); err != nil || v.RunID != facts["run"] {
					return "version " + facts["version"] + " of " + p.Model + " is not in the registry"
				}
				return ""
			},
			Run: func(ctx context.Context) (map[string]string, error) {
				run, err := store.Find(r.Fact("train", "best_run"))
				if err != nil {
					return nil, fmt.Errorf("no best run to register: %w", err)
				}
				v, err := g.Register(ctx, run, p.Model, "housectl pipeline run")
				if err != nil {
					return nil, err
				}
				say("registered %s version %d (%s, run %s)", v.Name, v.Version, v.Model, v.RunID)
				return map[string]string{"version": strconv.Itoa(v.Version), "run": v.RunID}, nil
			},
		},
		"promote": {
			Name: "promote", Cmd: fmt.Sprintf("housectl models promote %s VERSION --alias %s%s", p.Model, p.Alias, map[bool]string{true: " --if-better"}[p.IfBetter]),
			Params: func() (map[string]any, error) {
				return map[string]any{"pipeline.model": p.Model, "pipeline.alias": p.Alias, "pipeline.if_better": p.IfBetter,
					"train.metric": cfg.Train.Metric, "version": r.Fact("register", "version")}, nil
			},
			Check: func(facts map[string]string) string {
				v, err := g.Alias(p.Model, p.Alias)
				if err != nil || strconv.Itoa(v.Version) != facts["holder"] {
					return p.Alias + " no longer points at version " + facts["holder"]
				}
				return ""
			},
			Run: func(ctx context.Context) (map[string]string, error) {
				n, err := strconv.Atoi(r.Fact("register", "version"))
				if err != nil {
					return nil, errors.New("no registered version to promote: run the register stage")
				}
				e, err := promote.Promote(ctx, g, p.Model, p.Alias, n, promote.Options{IfBetter: p.IfBetter, Metric: cfg.Train.Metric, Reason: "housectl pipeline run", Schema: cfg.Schema})
				var refused *promote.RefusedError
				promoted := "true"
				switch {
				case errors.As(err, &refused):
					say("%v", err)
					promoted = "false"
				case err != nil:
					return nil, err
				case e.From == e.To:
					say("%s@%s already is version %d", p.Model, p.Alias, e.To)
				default:
					say("%s@%s → version %d", p.Model, p.Alias, e.To)
				}
				h := ""
				if holder, err := g.Alias(p.Model, p.Alias); err == nil {
					h = strconv.Itoa(holder.Version)
				}
				return map[string]string{"promoted": promoted, "holder": h}, nil
			},
		},
	}
	out := make([]Stage, 0, len(p.Stages))
	for _, name := range p.Stages {
		out = append(out, all[name])
	}
	return out
}

// params returns the effective settings under the given key prefixes
// (e.g. "train."), except those that cannot change a result.
func params(l *config.Loaded, prefixes ...string) map[string]any {
	out := map[string]any{}
	for _, st := range l.Settings() {
		if st.Key == "train.workers" {
			continue // results do not depend on it
		}
		for _, p := range prefixes {
			if strings.HasPrefix(st.Key, p) {
				out[st.Key] = st.Value
			}
		}
	}
	return out
}

// holderFor is the version the candidate is evaluated against: the alias's
// holder, unless the holder is the candidate itself (this pipeline promoted
// it), when the evaluation against the previous holder stands.
func holderFor(g *registry.Registry, p config.Pipeline, r *Runner) string {
	v, err := g.Alias(p.Model, p.Alias)
	if err != nil {
		return ""
	}
	if v.RunID == r.Fact("train", "best_run") {
		return r.Fact("evaluate", "holder")
	}
	return strconv.Itoa(v.Version)
}

// Evaluate writes the best run's metrics against the alias holder's, on
// the same test rows (promote.Compare), to path, and returns the verdict
// as the evaluate stage's facts.
func Evaluate(g *registry.Registry, cfg *config.Config, bestID, path string, now time.Time, log io.Writer) (map[string]string, error) {
	best, err := g.Store.Find(bestID)
	if err != nil {
		return nil, fmt.Errorf("no best run to evaluate: %w", err)
	}
	metric := cfg.Train.Metric
	out := map[string]any{"candidate": map[string]any{"run": best.ID, "model": best.Model, "metrics": best.Metrics, "test_set": best.Lineage.TestSet()},
		"metric": metric, "time": now.UTC().Format(time.RFC3339)}
	facts := map[string]string{"verdict": "no holder"}
	if v, err := g.Alias(cfg.Pipeline.Model, cfg.Pipeline.Alias); err == nil {
		out["holder"] = map[string]any{"version": v.Version, "run": v.RunID, "metrics": v.Metrics, "test_set": v.TestSet}
		c := promote.Compare(promote.Run(g.Store, best), promote.Version(g, v), metric, cfg.Schema)
		verdict := c.Verdict
		if c.Rescored > 0 {
			out["rescored_rows"] = c.Rescored
		}
		if verdict == promote.NotComparable {
			verdict = "not comparable (no common test rows)"
		}
		out["verdict"] = verdict
		facts["verdict"] = verdict
		fmt.Fprintf(log, "candidate %s %s %.4f vs %s@%s (version %d) %.4f: %s\n", best.Model, metric, c.Candidate, cfg.Pipeline.Model, cfg.Pipeline.Alias, v.Version, c.Holder, verdict)
	} else {
		fmt.Fprintf(log, "no %s@%s yet: the candidate will be the first\n", cfg.Pipeline.Model, cfg.Pipeline.Alias)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return facts, nil
}
