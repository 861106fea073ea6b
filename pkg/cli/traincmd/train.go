// Package traincmd implements `housectl train`.
package traincmd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/buildinfo"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/eval"
	"github.com/housectl/housectl/pkg/promote"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/train"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the dependencies and flags of `housectl train`.
type Options struct {
	IO      *ui.IOStreams
	Config  func() (*config.Loaded, error)
	Now     func() time.Time
	Context context.Context
	// Stores opens the run store and the registry (cmdutil.Stores).
	Stores   func(*config.Loaded) (*tracking.Store, *registry.Registry, error)
	Models   []string
	Data     string
	TestData string
	Sets     []string
	Tags     []string
	JSON     bool
	// Register, Promote and IfBetter: register the best candidate as the
	// next version of a model, then move an alias to it (gated).
	Register string
	Promote  string
	IfBetter bool
}

// NewCmdTrain returns `housectl train`.
func NewCmdTrain(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "train [--model <kind>]... [--set <kind.param=value>]... [--data <file>] [--test-data <file>] [--json]",
		Short: "Fit the candidate models, cross-validate, evaluate and record one run each",
		Long: `Fit each candidate model (train.candidates; --model overrides) on the data
(data.path; --data overrides): hold out a seeded test split (train.test_fraction,
or evaluate on --test-data and train on all of --data), run k-fold
cross-validation on the training part (train.cv_folds), fit on all of it,
evaluate on the test rows (RMSE, MAE, R², MAPE) and select the best by
train.metric.

Every candidate becomes a run under experiments/<experiment>/<run-id>/ with
its params, metrics, lineage and artifacts (the model, feature importances,
the loss history for boosting). The same data, config and seed give
byte-identical models whatever the number of workers.

Models: linear (OLS via sajari/regression, ridge via gonum), random_forest,
gradient_boosting (histogram-based). Parameters: see README, "Models".

--register NAME registers the best candidate as the next version of NAME;
--promote ALIAS then moves the alias to it, and with --if-better only when it
beats the alias's current holder on train.metric (else exit 5, with the runs
and the version kept). One CI step: train, register, gated promotion.`,
		Example: `  housectl train
  housectl train --model gradient_boosting --set gradient_boosting.learning_rate=0.05
  housectl train --data data/california.csv --test-data holdout.csv --json
  housectl train --register california --promote production --if-better`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			opts.Context = cmd.Context()
			opts.Stores = func(l *config.Loaded) (*tracking.Store, *registry.Registry, error) {
				return cmdutil.Stores(cmd.Context(), f, l)
			}
			if opts.Promote != "" && opts.Register == "" {
				return cmdutil.FlagErrorf("--promote needs --register NAME: the model whose alias moves")
			}
			if opts.IfBetter && opts.Promote == "" {
				return cmdutil.FlagErrorf("--if-better needs --promote ALIAS")
			}
			if opts.Register != "" {
				if err := registry.ValidateName(opts.Register); err != nil {
					return cmdutil.FlagErrorf("--register: %w", err)
				}
			}
			if opts.Promote != "" {
				if err := registry.ValidateAlias(opts.Promote); err != nil {
					return cmdutil.FlagErrorf("--promote: %w", err)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&opts.Models, "model", "m", nil, "fit only these models (repeatable or comma-separated)")
	fl.StringVar(&opts.Data, "data", "", "training data CSV (default: data.path)")
	fl.StringVar(&opts.TestData, "test-data", "", "evaluate on this CSV and train on all of --data")
	fl.StringVar(&opts.Register, "register", "", "register the best candidate as the next version of this model")
	fl.StringVar(&opts.Promote, "promote", "", "with --register: move this alias (e.g. production) to the new version")
	fl.BoolVar(&opts.IfBetter, "if-better", false, "with --promote: only if the new version beats the alias's holder (else exit 5)")
	fl.StringArrayVar(&opts.Sets, "set", nil, "override a model parameter: kind.param=value (repeatable)")
	fl.StringArrayVar(&opts.Tags, "tag", nil, "tag the runs: key=value (repeatable)")
	fl.String("experiment", "", "experiment name (train.experiment)")
	fl.Int64("seed", 0, "random seed (train.seed)")
	fl.Int("cv-folds", 0, "cross-validation folds, 0 to skip (train.cv_folds)")
	fl.BoolVar(&opts.JSON, "json", false, "print the results as JSON")
	cmdutil.BindConfigFlag(cmd, "experiment", "train.experiment")
	cmdutil.BindConfigFlag(cmd, "seed", "train.seed")
	cmdutil.BindConfigFlag(cmd, "cv-folds", "train.cv_folds")
	return cmd
}

// Run trains.
func Run(opts *Options) error {
	res, cfg, g, err := execute(opts)
	if err != nil {
		return err
	}
	if opts.JSON {
		err = ui.WriteJSON(opts.IO.Out, res)
	} else {
		err = printResult(opts.IO, res, cfg.Train.Experiment)
	}
	if err != nil || opts.Register == "" {
		return err
	}
	return registerBest(opts, g, cfg, res)
}

// execute trains as Run does, printing only progress, and returns the
// result with the effective configuration and the registry of its store.
func execute(opts *Options) (*train.Result, *config.Config, *registry.Registry, error) {
	l, err := opts.Config()
	if err != nil {
		return nil, nil, nil, err
	}
	tags, err := train.ParseTags(opts.Tags)
	if err != nil {
		return nil, nil, nil, err
	}
	store, g, err := opts.Stores(l)
	if err != nil {
		return nil, nil, nil, err
	}
	info := buildinfo.Get()
	progress, finish := cmdutil.TrainProgress(opts.IO, l.Config.Train.CVFolds)
	res, cfg, err := train.FromConfig(opts.Context, train.Request{
		Config: l.Config, Overrides: train.Overrides{Models: opts.Models, Sets: opts.Sets},
		Data: opts.Data, TestData: opts.TestData, Tags: tags, Now: opts.Now, Progress: progress, Store: store,
		Lineage: train.LineageOptions{Version: info.Short(), GoVersion: info.GoVersion, User: cmdutil.CurrentUser()},
	})
	finish()
	if err != nil {
		return nil, nil, nil, err
	}
	return res, &cfg, g, nil
}

// registerBest registers the best candidate and, if asked, promotes it.
// Messages go to stderr so --json output stays one document.
func registerBest(opts *Options, g *registry.Registry, cfg *config.Config, res *train.Result) error {
	best := res.Candidates[res.Best]
	run, err := g.Store.EnsureRun(opts.Context, cfg.Train.Experiment, best.RunID)
	if err != nil {
		return err
	}
	v, err := g.Register(opts.Context, run, opts.Register, "housectl train --register")
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "registered %s version %d (%s, run %s)\n", v.Name, v.Version, v.Model, v.RunID)
	if opts.Promote == "" {
		return nil
	}
	e, err := promote.Promote(opts.Context, g, v.Name, opts.Promote, v.Version, promote.Options{IfBetter: opts.IfBetter, Metric: res.Metric, Reason: "housectl train --promote", Schema: cfg.Schema})
	if err != nil {
		return err
	}
	if e.From == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%s@%s → version %d\n", v.Name, opts.Promote, e.To)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "%s@%s: version %d → %d\n", v.Name, opts.Promote, e.From, e.To)
	}
	return nil
}

func printResult(io *ui.IOStreams, res *train.Result, experiment string) error {
	t := &ui.Table{Headers: []string{"", "MODEL", "CV " + strings.ToUpper(res.Metric), "RMSE", "MAE", "R2", "MAPE %", "FIT", "RUN"}}
	for i, c := range res.Candidates {
		mark := ""
		if i == res.Best {
			mark = "★"
		}
		cv := "-"
		if c.CV != nil {
			cv = fmt.Sprintf("%.4f ± %.4f", c.CV[res.Metric], c.CVStd[res.Metric])
		}
		t.Append(mark, c.Model, cv, num(c.Metrics[eval.RMSE]), num(c.Metrics[eval.MAE]), num(c.Metrics[eval.R2]),
			fmt.Sprintf("%.2f", c.Metrics[eval.MAPE]), fmt.Sprintf("%.2fs", c.FitSeconds), c.RunID)
	}
	t.CellStyle = func(row, _ int) ui.StyleName {
		if row == res.Best {
			return ui.StyleSuccess
		}
		return ui.StyleNone
	}
	if err := t.Render(io); err != nil {
		return err
	}
	best := res.Candidates[res.Best]
	fmt.Fprintf(io.ErrOut, "best by test %s: %s (%s), run %s in %s/; %d training rows, %d test rows, data md5 %s\n",
		res.Metric, best.Model, num(best.Metrics[res.Metric]), best.RunID, experiment, res.TrainRows, res.TestRows, res.DataMD5)
	return nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
