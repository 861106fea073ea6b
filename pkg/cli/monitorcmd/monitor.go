// Package monitorcmd implements `housectl monitor drift|performance|report`.
package monitorcmd

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	logs "github.com/housectl/housectl/pkg/store/all"
	"github.com/housectl/housectl/pkg/tracking"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/monitor"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the flags shared by the monitor verbs.
type Options struct {
	IO      *ui.IOStreams
	Config  func() (*config.Loaded, error)
	Now     func() time.Time
	Context context.Context
	// Stores opens the run store and the registry (cmdutil.Stores).
	Stores func(*config.Loaded) (*tracking.Store, *registry.Registry, error)
	Model  string
	Bucket time.Duration
	Since  time.Duration
	From   string
	To     string
	JSON   bool
}

func newOptions(f *cmdutil.Factory) *Options {
	o := &Options{IO: f.IOStreams, Now: f.Now}
	o.Stores = func(l *config.Loaded) (*tracking.Store, *registry.Registry, error) {
		return cmdutil.Stores(o.Context, f, l)
	}
	return o
}

// NewCmdMonitor returns `housectl monitor`.
func NewCmdMonitor(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "monitor <command>",
		Short: "Drift and live accuracy of a served model, from the prediction log",
		Long: `Compare what the server has been asked (the prediction log) with what the
model was trained on (the training summary in every model artifact):
population stability index and Kolmogorov–Smirnov per feature and for the
prediction, against monitor.* thresholds.`,
		Example: `  housectl monitor drift --since 24h
  housectl monitor drift --model models:/california/3 --json`,
	}
	o := newOptions(f)
	drift := &cobra.Command{
		Use:   "drift [--model <uri>] [--since <dur> | --from <t> --to <t>] [--json]",
		Short: "Population stability index and KS per feature; exit 6 on alert",
		Long: `Measure the drift of the logged inputs and predictions of one model version
(default: the version serve.model names now) over a window (default:
monitor.window). Each feature's training distribution is the reference;
the prediction's is the training target's. A statistic at or above
monitor.psi_alert or monitor.ks_alert is an alert and the command exits 6,
so a cron or CI job can act; fewer than monitor.min_rows logged rows is "not
enough data", not a number.`,
		Example: "  housectl monitor drift\n  housectl monitor drift --since 1h --json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			o.Context = cmd.Context()
			return driftRun(o)
		},
	}
	drift.Flags().StringVar(&o.Model, "model", "", "models:/ URI of the version to check (default: serve.model)")
	cmdutil.DurationVar(drift.Flags(), &o.Since, "since", 0, "the last DURATION, e.g. 24h or 7d (default: monitor.window)")
	drift.Flags().StringVar(&o.From, "from", "", "from this time (RFC 3339)")
	drift.Flags().StringVar(&o.To, "to", "", "up to this time (RFC 3339, exclusive)")
	drift.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	po := newOptions(f)
	perf := &cobra.Command{
		Use:   "performance [--model <name>] [--since <dur>] [--bucket <dur>] [--json]",
		Short: "Live RMSE, MAE and R² per model version and time window, from the feedback",
		Long: `Join the logged predictions with the actual values sent to POST /feedback or
housectl predictions feedback, and report RMSE, MAE and R² per version of the
model (default: serve.model's name), overall and per --bucket of time.`,
		Example: "  housectl monitor performance --since 7d --bucket 24h",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			po.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			po.Context = cmd.Context()
			if po.Bucket < 0 {
				return cmdutil.FlagErrorf("--bucket must be positive, got %s", po.Bucket)
			}
			return performanceRun(po)
		},
	}
	perf.Flags().StringVar(&po.Model, "model", "", "registered model name (default: serve.model's)")
	cmdutil.DurationVar(perf.Flags(), &po.Since, "since", 0, "the last DURATION, e.g. 24h or 7d (default: monitor.window)")
	perf.Flags().StringVar(&po.From, "from", "", "from this time (RFC 3339)")
	perf.Flags().StringVar(&po.To, "to", "", "up to this time (RFC 3339, exclusive)")
	cmdutil.DurationVar(perf.Flags(), &po.Bucket, "bucket", 0, "also report per window of this length (e.g. 1h or 1d)")
	perf.Flags().BoolVar(&po.JSON, "json", false, "print JSON")
	cmd.AddCommand(drift, perf, newCmdCompare(f), newCmdReport(f))
	return cmd
}

func performanceRun(o *Options) error {
	l, err := o.Config()
	if err != nil {
		return err
	}
	from, to, err := o.window(l.Config.Monitor.Window)
	if err != nil {
		return err
	}
	name, err := modelName(l, o.Model)
	if err != nil {
		return err
	}
	db, err := openLog(o.Context, l)
	if err != nil {
		return err
	}
	defer db.Close()
	joined, err := db.Joined(o.Context, store.Query{From: from, To: to, Model: name})
	if err != nil {
		return err
	}
	out := monitor.Performance(joined, from, o.Bucket)
	if o.JSON {
		return ui.WriteJSON(o.IO.Out, map[string]any{"model": name, "from": from, "rows": len(joined), "performance": out})
	}
	if len(joined) == 0 {
		fmt.Fprintf(o.IO.Out, "not enough data: no logged prediction of %s since %s has an actual value yet; send them to POST /feedback or housectl predictions feedback\n", name, from.Format(time.RFC3339))
		return nil
	}
	t := &ui.Table{Headers: []string{"VERSION", "WINDOW", "ROWS", "RMSE", "MAE", "R2"}}
	for _, p := range out {
		w := "all"
		if !p.From.IsZero() {
			w = p.From.UTC().Format(time.RFC3339)
		}
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
		t.Append(name+"@"+p.Version, w, strconv.Itoa(p.Rows), f(p.RMSE), f(p.MAE), f(p.R2))
	}
	return t.Render(o.IO)
}

// window turns the flags into a query's time bounds.
func (o *Options) window(def time.Duration) (from, to time.Time, err error) {
	if o.Since < 0 {
		return from, to, cmdutil.FlagErrorf("--since must be positive, got %s", o.Since)
	}
	if o.Since > 0 && o.From != "" {
		return from, to, cmdutil.FlagErrorf("give --since or --from, not both")
	}
	for _, t := range []struct {
		flag, v string
		dst     *time.Time
	}{{"--from", o.From, &from}, {"--to", o.To, &to}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return from, to, cmdutil.FlagErrorf("%s: %q is not an RFC 3339 time such as 2026-11-28T14:00:00Z", t.flag, t.v)
		}
		*t.dst = v
	}
	if from.IsZero() {
		since := o.Since
		if since == 0 {
			since = def
		}
		from = o.Now().Add(-since)
	}
	return from, to, nil
}

// target resolves the model version to check and loads its artifact.
func target(o *Options, l *config.Loaded, uri string) (*registry.Version, *model.Artifact, error) {
	if uri == "" {
		uri = l.Config.Serve.Model
	}
	u, err := registry.ParseURI(uri)
	if err != nil {
		return nil, nil, cmdutil.FlagErrorf("--model: %w", err)
	}
	_, g, err := o.Stores(l)
	if err != nil {
		return nil, nil, err
	}
	v, err := g.Resolve(u)
	if err != nil {
		return nil, nil, err
	}
	a, err := g.Load(o.Context, v)
	return v, a, err
}

// openLog opens the prediction log.
func openLog(ctx context.Context, l *config.Loaded) (*store.DB, error) {
	return logs.OpenExisting(ctx, l.Config.Predictions.DSN, l.Config.Predictions.Path)
}

// DriftOutput is the --json document.
type DriftOutput struct {
	Model   string         `json:"model"`
	Version int            `json:"version"`
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to,omitzero"`
	Report  monitor.Report `json:"report"`
}

// measured is a drift measurement with what it was made from.
type measured struct {
	out     DriftOutput
	version *registry.Version
	art     *model.Artifact
	preds   []float64
	db      *store.DB
}

// measure reads the log and computes the drift; the caller closes db.
func measure(o *Options, l *config.Loaded) (*measured, error) {
	from, to, err := o.window(l.Config.Monitor.Window)
	if err != nil {
		return nil, err
	}
	v, art, err := target(o, l, o.Model)
	if err != nil {
		return nil, err
	}
	db, err := openLog(o.Context, l)
	if err != nil {
		return nil, err
	}
	rep, preds, err := monitor.LoggedDrift(o.Context, db, art.Header, v.Name, strconv.Itoa(v.Version), from, to, cmdutil.Thresholds(l.Config.Monitor))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &measured{out: DriftOutput{Model: v.Name, Version: v.Version, From: from, To: to, Report: rep}, version: v, art: art, preds: preds, db: db}, nil
}

func driftRun(o *Options) error {
	l, err := o.Config()
	if err != nil {
		return err
	}
	m, err := measure(o, l)
	if err != nil {
		return err
	}
	defer m.db.Close()
	out, v, rep := m.out, m.version, m.out.Report
	if o.JSON {
		if err := ui.WriteJSON(o.IO.Out, jsonSafe(out)); err != nil {
			return err
		}
	} else if err := printDrift(o, out, l.Config.Monitor); err != nil {
		return err
	}
	if rep.Status == monitor.StatusAlert {
		return &cmdutil.ExitError{Code: cmdutil.ExitAlert, Err: fmt.Errorf("drift alert on %s version %d: see the table", v.Name, v.Version)}
	}
	return nil
}

// jsonSafe replaces NaN (not enough data) with nulls via a copy.
func jsonSafe(d DriftOutput) any {
	conv := func(r monitor.Result) map[string]any {
		m := map[string]any{"name": r.Name, "rows": r.Rows, "status": r.Status, "training_mean": r.RefMean}
		for k, v := range map[string]float64{"psi": r.PSI, "ks": r.KS, "live_mean": r.LiveMean} {
			if !math.IsNaN(v) {
				m[k] = v
			} else {
				m[k] = nil
			}
		}
		return m
	}
	feats := make([]map[string]any, len(d.Report.Features))
	for i, f := range d.Report.Features {
		feats[i] = conv(f)
	}
	return map[string]any{"model": d.Model, "version": d.Version, "from": d.From, "to": d.To, "rows": d.Report.Rows,
		"status": d.Report.Status, "features": feats, "prediction": conv(d.Report.Prediction)}
}

func printDrift(o *Options, d DriftOutput, m config.Monitor) error {
	rep := d.Report
	if rep.Status == monitor.StatusInsufficient || rep.Rows < m.MinRows {
		fmt.Fprintf(o.IO.Out, "not enough data: %d logged predictions of %s version %d since %s; drift needs at least %d (monitor.min_rows)\n",
			rep.Rows, d.Model, d.Version, d.From.Format(time.RFC3339), m.MinRows)
		return nil
	}
	t := &ui.Table{Headers: []string{"FEATURE", "ROWS", "PSI", "KS", "LIVE MEAN", "TRAINING MEAN", "STATUS"}}
	add := func(r monitor.Result) {
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
		t.Append(r.Name, strconv.Itoa(r.Rows), f(r.PSI), f(r.KS), strconv.FormatFloat(r.LiveMean, 'g', 5, 64), strconv.FormatFloat(r.RefMean, 'g', 5, 64), r.Status)
	}
	for _, r := range rep.Features {
		add(r)
	}
	add(rep.Prediction)
	t.CellStyle = func(row, col int) ui.StyleName {
		if col != 6 {
			return ui.StyleNone
		}
		switch t.Rows[row][6] {
		case monitor.StatusAlert:
			return ui.StyleError
		case monitor.StatusWarn:
			return ui.StyleWarning
		}
		return ui.StyleSuccess
	}
	if err := t.Render(o.IO); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "%s version %d, %d predictions since %s: %s (PSI warn/alert %.2f/%.2f, KS %.2f/%.2f)\n",
		d.Model, d.Version, rep.Rows, d.From.Format(time.RFC3339), rep.Status, m.PSIWarn, m.PSIAlert, m.KSWarn, m.KSAlert)
	return nil
}

// modelName is the registered model a command looks at: --model, else
// serve.model's.
func modelName(l *config.Loaded, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	u, err := registry.ParseURI(l.Config.Serve.Model)
	if err != nil {
		return "", cmdutil.FlagErrorf("serve.model: %w", err)
	}
	return u.Name, nil
}
