// Package pipelinecmd implements `housectl pipeline run|status`: fetch →
// validate → train → evaluate → register → promote as stages with a lock
// file, each skipped while its inputs are unchanged.
package pipelinecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/cli/datacmd"
	"github.com/housectl/housectl/pkg/cli/traincmd"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/pipeline"
	"github.com/housectl/housectl/pkg/promote"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the dependencies and flags of `housectl pipeline`.
type Options struct {
	F       *cmdutil.Factory
	Cmd     *cobra.Command
	IO      *ui.IOStreams
	Context context.Context
	Force   bool
	JSON    bool
	Only    []string
}

// NewCmdPipeline returns `housectl pipeline`.
func NewCmdPipeline(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline <command>",
		Short: "Run fetch → validate → train → evaluate → register → promote, skipping what did not change",
		Long: `The stages of pipeline.stages run in order. What each consumed and produced
(file md5s as DVC computes them, the config keys it reads, the facts it left:
best run, version, alias holder) goes into pipeline.lock after the stage, as
dvc.lock does. A stage whose deps, params and outputs are unchanged is
skipped, saying so; --force reruns everything.

  fetch      data.url, data.sha256        -> data.archive, data.path (tracked with DVC)
  validate   data.path, schema.*          -> the validation verdict
  train      data.path, train.*           -> one run per candidate; the best run
  evaluate   the best run, the alias holder -> experiments/evaluation.json
  register   the best run                 -> a new version of pipeline.model
  promote    the new version              -> pipeline.alias, if better (pipeline.if_better)`,
		Example: `  housectl pipeline run
  housectl pipeline status
  housectl pipeline run --force`,
	}
	run := &cobra.Command{
		Use:     "run [--force]",
		Short:   "Run the stages that changed",
		Example: "  housectl pipeline run\n  housectl pipeline run --force",
		Args:    cmdutil.NoArgs,
	}
	ro := &Options{F: f, IO: f.IOStreams}
	run.Flags().BoolVar(&ro.Force, "force", false, "run every stage, changed or not")
	run.RunE = func(c *cobra.Command, _ []string) error {
		ro.Cmd, ro.Context = c, c.Context()
		return runRun(ro)
	}
	status := &cobra.Command{
		Use:     "status [--json]",
		Short:   "Say which stages would run, and why",
		Example: "  housectl pipeline status",
		Args:    cmdutil.NoArgs,
	}
	so := &Options{F: f, IO: f.IOStreams}
	status.Flags().BoolVar(&so.JSON, "json", false, "print JSON")
	status.RunE = func(c *cobra.Command, _ []string) error {
		so.Cmd, so.Context = c, c.Context()
		return statusRun(so)
	}
	cmd.AddCommand(run, status)
	return cmd
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

// stages builds housectl's stages for the configuration.
func stages(o *Options, l *config.Loaded, r *pipeline.Runner) ([]pipeline.Stage, error) {
	cfg := &l.Config
	f := o.F
	cfgFn := func() (*config.Loaded, error) { return f.Config(o.Cmd) }
	dir := cfg.Experiments.Dir
	store := &tracking.Store{Dir: dir, Now: f.Now}
	g := &registry.Registry{Root: dir, Store: store, Now: f.Now, User: cmdutil.CurrentUser()}
	evalPath := filepath.Join(dir, "evaluation.json")
	p := cfg.Pipeline
	all := map[string]pipeline.Stage{
		"fetch": {
			Name: "fetch", Cmd: "housectl data fetch",
			Params: func() (map[string]any, error) {
				return map[string]any{"data.url": cfg.Data.URL, "data.sha256": cfg.Data.SHA256, "data.raw_dir": cfg.Data.RawDir}, nil
			},
			Outs: []string{cfg.Data.Archive, cfg.Data.Path},
			Run: func(ctx context.Context) (map[string]string, error) {
				return nil, datacmd.RunFetch(&datacmd.FetchOptions{IO: o.IO, Config: cfgFn, HTTPClient: f.HTTPClient, Context: ctx})
			},
		},
		"validate": {
			Name: "validate", Cmd: "housectl data validate",
			Params: func() (map[string]any, error) { return params(l, "schema."), nil },
			Deps:   []string{cfg.Data.Path},
			Run: func(ctx context.Context) (map[string]string, error) {
				if err := datacmd.RunValidate(&datacmd.ValidateOptions{IO: o.IO, Config: cfgFn, MaxProblems: 20}); err != nil {
					return nil, err
				}
				return map[string]string{"valid": "true"}, nil
			},
		},
		"train": {
			Name: "train", Cmd: "housectl train",
			Params: func() (map[string]any, error) { return params(l, "train."), nil },
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
				res, _, err := traincmd.Execute(&traincmd.Options{IO: o.IO, Config: cfgFn, Now: f.Now, Context: ctx})
				if err != nil {
					return nil, err
				}
				best := res.Candidates[res.Best]
				fmt.Fprintf(o.IO.ErrOut, "best by test %s: %s %.4f (run %s)\n", res.Metric, best.Model, best.Metrics[res.Metric], best.RunID)
				var ids []string
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
				facts, err := evaluate(o, g, store, cfg, r.Fact("train", "best_run"), evalPath)
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
				fmt.Fprintf(o.IO.ErrOut, "registered %s version %d (%s, run %s)\n", v.Name, v.Version, v.Model, v.RunID)
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
					fmt.Fprintf(o.IO.ErrOut, "%v\n", err)
					promoted = "false"
				case err != nil:
					return nil, err
				case e.From == e.To:
					fmt.Fprintf(o.IO.ErrOut, "%s@%s already is version %d\n", p.Model, p.Alias, e.To)
				default:
					fmt.Fprintf(o.IO.ErrOut, "%s@%s → version %d\n", p.Model, p.Alias, e.To)
				}
				holder, err := g.Alias(p.Model, p.Alias)
				h := ""
				if err == nil {
					h = strconv.Itoa(holder.Version)
				}
				return map[string]string{"promoted": promoted, "holder": h}, nil
			},
		},
	}
	var out []pipeline.Stage
	for _, name := range p.Stages {
		out = append(out, all[name])
	}
	return out, nil
}

// holderFor is the version the candidate is evaluated against: the alias's
// holder, unless the holder is the candidate itself (this pipeline promoted
// it), when the evaluation against the previous holder stands.
func holderFor(g *registry.Registry, p config.Pipeline, r *pipeline.Runner) string {
	v, err := g.Alias(p.Model, p.Alias)
	if err != nil {
		return ""
	}
	if v.RunID == r.Fact("train", "best_run") {
		return r.Fact("evaluate", "holder")
	}
	return strconv.Itoa(v.Version)
}

// evaluate writes the best run's metrics against the alias holder's, on
// the same test rows, to path.
func evaluate(o *Options, g *registry.Registry, store *tracking.Store, cfg *config.Config, bestID, path string) (map[string]string, error) {
	best, err := store.Find(bestID)
	if err != nil {
		return nil, fmt.Errorf("no best run to evaluate: %w", err)
	}
	metric := cfg.Train.Metric
	out := map[string]any{"candidate": map[string]any{"run": best.ID, "model": best.Model, "metrics": best.Metrics, "test_set": best.Lineage.TestSet()},
		"metric": metric, "time": time.Now().UTC().Format(time.RFC3339)}
	facts := map[string]string{"verdict": "no holder"}
	if v, err := g.Alias(cfg.Pipeline.Model, cfg.Pipeline.Alias); err == nil {
		out["holder"] = map[string]any{"version": v.Version, "run": v.RunID, "metrics": v.Metrics, "test_set": v.TestSet}
		c := promote.Compare(promote.Run(best), promote.Version(g, v), metric, cfg.Schema)
		a, b, verdict := c.Candidate, c.Holder, c.Verdict
		if c.Rescored > 0 {
			out["rescored_rows"] = c.Rescored
		}
		if verdict == promote.NotComparable {
			verdict = "not comparable (no common test rows)"
		}
		out["verdict"] = verdict
		facts["verdict"] = verdict
		fmt.Fprintf(o.IO.ErrOut, "candidate %s %s %.4f vs %s@%s (version %d) %.4f: %s\n", best.Model, metric, a, cfg.Pipeline.Model, cfg.Pipeline.Alias, v.Version, b, verdict)
	} else {
		fmt.Fprintf(o.IO.ErrOut, "no %s@%s yet: the candidate will be the first\n", cfg.Pipeline.Model, cfg.Pipeline.Alias)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return facts, nil
}

func runner(o *Options) (*pipeline.Runner, []pipeline.Stage, error) {
	l, err := o.F.Config(o.Cmd)
	if err != nil {
		return nil, nil, err
	}
	r := &pipeline.Runner{LockPath: l.Config.Pipeline.Lock, Out: o.IO.ErrOut}
	st, err := stages(o, l, r)
	return r, st, err
}

func runRun(o *Options) error {
	r, st, err := runner(o)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := r.Run(o.Context, st, o.Force); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "pipeline done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func statusRun(o *Options) error {
	r, st, err := runner(o)
	if err != nil {
		return err
	}
	sts, err := r.Status(st)
	if err != nil {
		return err
	}
	if o.JSON {
		return ui.WriteJSON(o.IO.Out, sts)
	}
	if !slices.ContainsFunc(sts, func(s pipeline.Status) bool { return s.Changed }) {
		fmt.Fprintln(o.IO.Out, "Data and pipelines are up to date.")
		return nil
	}
	for _, s := range sts {
		if !s.Changed {
			continue
		}
		fmt.Fprintf(o.IO.Out, "%s:\n", s.Stage)
		for _, why := range s.Reasons {
			fmt.Fprintf(o.IO.Out, "\t%s\n", why)
		}
	}
	return nil
}
