// Package pipelinecmd implements `housectl pipeline run|status`: fetch →
// validate → train → evaluate → register → promote as stages with a lock
// file, each skipped while its inputs are unchanged.
package pipelinecmd

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/buildinfo"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/data"
	"github.com/housectl/housectl/pkg/pipeline"
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
	if err != nil {
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
