// Package pipelinecmd implements `housectl pipeline run|status`: fetch →
// validate → train → evaluate → register → promote as stages with a lock
// file, each skipped while its inputs are unchanged.
package pipelinecmd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/housectl/housectl/pkg/monitor"
	logs "github.com/housectl/housectl/pkg/store/all"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/buildinfo"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/data"
	"github.com/housectl/housectl/pkg/pipeline"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/train"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the dependencies and flags of `housectl pipeline`.
type Options struct {
	F       *cmdutil.Factory
	Cmd     *cobra.Command
	IO      *ui.IOStreams
	Context context.Context
	Force   bool
	IfDrift bool
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
		Use:     "run [--force] [--if-drift]",
		Short:   "Run the stages that changed",
		Example: "  housectl pipeline run\n  housectl pipeline run --force\n  housectl pipeline run --if-drift   # on a schedule: retrain a challenger when live traffic drifted",
		Args:    cmdutil.NoArgs,
	}
	ro := &Options{F: f, IO: f.IOStreams}
	run.Flags().BoolVar(&ro.Force, "force", false, "run every stage, changed or not")
	run.Flags().BoolVar(&ro.IfDrift, "if-drift", false, "retrain only when monitor drift alerts on serve.model's version, then move pipeline.challenger (not pipeline.alias) to the new version")
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

func runner(o *Options) (*pipeline.Runner, []pipeline.Stage, func(), error) {
	l, err := o.F.Config(o.Cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	f := o.F
	g, err := cmdutil.Registry(o.Context, f, l)
	if err != nil {
		return nil, nil, nil, err
	}
	if o.IfDrift {
		alert, err := driftAlert(o, l, g)
		if err != nil || !alert {
			return nil, nil, nil, err
		}
		// Retrain whatever changed, into the challenger alias, ungated.
		p := &l.Config.Pipeline
		p.Alias, p.IfBetter = p.Challenger, false
		o.Force = true
	}
	r := &pipeline.Runner{LockPath: l.Config.Pipeline.Lock, Out: o.IO.ErrOut}
	info := buildinfo.Get()
	progress, finish := cmdutil.TrainProgress(o.IO, l.Config.Train.CVFolds)
	st := pipeline.Stages(r, pipeline.StageOptions{
		Loaded: l, Registry: g, Log: o.IO.ErrOut, Now: f.Now,
		Fetch: data.FetchOptions{Client: f.HTTPClient(), UserAgent: cmdutil.UserAgent(), Seed: uint64(f.Now().UnixNano()),
			NewProgress: func(total int64, desc string) data.Progress { return o.IO.NewByteProgress(total, desc) },
			Notify:      func(msg string) { fmt.Fprintln(o.IO.ErrOut, msg) }},
		Train: train.Request{Now: f.Now, Progress: progress,
			Lineage: train.LineageOptions{Version: info.Short(), GoVersion: info.GoVersion, User: cmdutil.CurrentUser()}},
	})
	return r, st, finish, nil
}

func runRun(o *Options) error {
	r, st, finish, err := runner(o)
	if err != nil || r == nil { // nil: --if-drift found nothing to retrain
		return err
	}
	defer finish()
	start := time.Now()
	if err := r.Run(o.Context, st, o.Force); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "pipeline done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func statusRun(o *Options) error {
	r, st, _, err := runner(o)
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

// driftAlert measures the drift of serve.model's version over
// monitor.window from the prediction log, says what it found, and reports
// whether it is an alert.
func driftAlert(o *Options, l *config.Loaded, g *registry.Registry) (bool, error) {
	c := l.Config
	u, err := registry.ParseURI(c.Serve.Model)
	if err != nil {
		return false, cmdutil.FlagErrorf("serve.model: %w", err)
	}
	v, err := g.Resolve(u)
	if err != nil {
		return false, err
	}
	art, err := g.Load(o.Context, v)
	if err != nil {
		return false, err
	}
	db, err := logs.OpenExisting(o.Context, c.Predictions.DSN, c.Predictions.Path)
	if err != nil {
		return false, err
	}
	defer db.Close()
	to := o.F.Now()
	from := to.Add(-c.Monitor.Window)
	rep, _, err := monitor.LoggedDrift(o.Context, db, art.Header, v.Name, strconv.Itoa(v.Version), from, to, cmdutil.Thresholds(c.Monitor))
	if err != nil {
		return false, err
	}
	var alerting []string
	for _, f := range rep.Features {
		if f.Status == monitor.StatusAlert {
			alerting = append(alerting, fmt.Sprintf("%s (PSI %.2f, KS %.2f)", f.Name, f.PSI, f.KS))
		}
	}
	if rep.Prediction.Status == monitor.StatusAlert {
		alerting = append(alerting, fmt.Sprintf("the prediction (PSI %.2f, KS %.2f)", rep.Prediction.PSI, rep.Prediction.KS))
	}
	switch {
	case rep.Status == monitor.StatusInsufficient:
		fmt.Fprintf(o.IO.ErrOut, "not enough data to judge drift: %d logged predictions of %s version %d since %s (monitor.min_rows is %d); nothing retrained\n", rep.Rows, v.Name, v.Version, from.UTC().Format(time.RFC3339), c.Monitor.MinRows)
		return false, nil
	case rep.Status != monitor.StatusAlert:
		fmt.Fprintf(o.IO.ErrOut, "no drift alert on %s version %d (%d predictions since %s: %s); nothing retrained\n", v.Name, v.Version, rep.Rows, from.UTC().Format(time.RFC3339), rep.Status)
		return false, nil
	}
	fmt.Fprintf(o.IO.ErrOut, "drift alert on %s version %d over %d predictions: %s; retraining into %s@%s\n", v.Name, v.Version, rep.Rows, strings.Join(alerting, ", "), c.Pipeline.Model, c.Pipeline.Challenger)
	return true, nil
}
