package monitorcmd

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/exitcode"
	"github.com/housectl/housectl/pkg/monitor"
	"github.com/housectl/housectl/pkg/promote"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/ui"
)

// compareOptions are the flags of `monitor compare`.
type compareOptions struct {
	*Options
	A, B       string
	Confidence float64
	MinEffect  float64
	Promote    bool
	Alias      string
}

func newCmdCompare(f *cmdutil.Factory) *cobra.Command {
	o := &compareOptions{Options: newOptions(f)}
	cmd := &cobra.Command{
		Use:   "compare [--a production] [--b challenger] [--model <name>] [--since <dur>] [--json] [--promote]",
		Short: "Is the challenger better than production? A verdict from the log and the feedback",
		Long: `Compare two variants of a served model over a window (default:
monitor.window) on the logged predictions that have an actual value (POST
/feedback, housectl predictions feedback). For each: the rows, RMSE, MAE and
bias (mean of prediction − actual), with their intervals at
monitor.confidence.

When B ran as a shadow of A (serve.shadow), both predicted the same rows: a
paired t test of the row-by-row difference of squared errors. When they split
the traffic (serve.split), they saw other rows: Welch's t test. The verdict is
better (B's squared error is lower, surely, and by at least monitor.min_effect
of A's), worse (the mirror), or undecided, with the rows a conclusive test
would need. Each variant is compared at the newest version it served in the
window.

Exit status: 0 better, 5 worse, 10 undecided. --promote moves the alias
(--alias, default production) to B's version on better only, recorded in the
model's history as models promote does.`,
		Example: `  housectl monitor compare
  housectl monitor compare --a production --b challenger --since 7d --json
  housectl monitor compare --promote   # in a scheduled job`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			o.Context = cmd.Context()
			return compareRun(o, cmd)
		},
	}
	cmd.Flags().StringVar(&o.A, "a", "production", "the variant compared against (its alias)")
	cmd.Flags().StringVar(&o.B, "b", "challenger", "the challenger (its alias)")
	cmd.Flags().StringVar(&o.Model, "model", "", "registered model name (default: serve.model's)")
	cmdutil.DurationVar(cmd.Flags(), &o.Since, "since", 0, "the last DURATION, e.g. 24h or 7d (default: monitor.window)")
	cmd.Flags().StringVar(&o.From, "from", "", "from this time (RFC 3339)")
	cmd.Flags().StringVar(&o.To, "to", "", "up to this time (RFC 3339, exclusive)")
	cmd.Flags().Float64Var(&o.Confidence, "confidence", 0, "confidence of the intervals and the test (default: monitor.confidence)")
	cmd.Flags().Float64Var(&o.MinEffect, "min-effect", -1, "smallest relative change of the mean squared error that counts (default: monitor.min_effect)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&o.Promote, "promote", false, "on better, move --alias to B's version")
	cmd.Flags().StringVar(&o.Alias, "alias", "production", "the alias --promote moves")
	return cmd
}

// compareResult is what `monitor compare --json` prints.
type compareResult struct {
	Model string `json:"model"`
	From  string `json:"from"`
	monitor.Comparison
	Promoted *registry.Event `json:"promoted,omitempty"`
}

func compareRun(o *compareOptions, cmd *cobra.Command) error {
	l, err := o.Config()
	if err != nil {
		return err
	}
	mc := l.Config.Monitor
	conf := mc.Confidence
	if cmd.Flags().Changed("confidence") {
		conf = o.Confidence
	}
	effect := mc.MinEffect
	if cmd.Flags().Changed("min-effect") {
		effect = o.MinEffect
	}
	if !(conf > 0.5 && conf < 1) {
		return cmdutil.FlagErrorf("--confidence must be between 0.5 and 1, got %v", conf)
	}
	if !(effect >= 0 && effect < 1) {
		return cmdutil.FlagErrorf("--min-effect must be 0 or more and under 1, got %v", effect)
	}
	if o.A == o.B {
		return cmdutil.FlagErrorf("--a and --b are both %s: compare two variants", o.A)
	}
	from, to, err := o.window(mc.Window)
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
	joined, err := db.Joined(o.Context, store.Query{From: from, To: to, Model: name, Shadows: store.WithShadows})
	if err != nil {
		return err
	}
	p := monitor.Collect(joined, o.A, o.B)
	co := monitor.CompareOptions{Confidence: conf, MinEffect: effect}
	var c monitor.Comparison
	if len(p.PairedB) > 0 {
		c, err = monitor.ComparePaired(monitor.Stats(o.A, p.VersionA, p.PairedA, conf), monitor.Stats(o.B, p.VersionB, p.PairedB, conf), p.PairedA, p.PairedB, co)
	} else {
		c, err = monitor.CompareWelch(monitor.Stats(o.A, p.VersionA, p.A, conf), monitor.Stats(o.B, p.VersionB, p.B, conf), p.A, p.B, co)
	}
	if errors.Is(err, monitor.ErrTooFew) {
		msg := fmt.Sprintf("not enough data: %s has %d and %s %d logged predictions of %s with an actual value since %s; serve them as a split or a shadow (serve.split, serve.shadow) and send the actual values to POST /feedback",
			o.A, len(p.A), o.B, len(p.B), name, from.Format(time.RFC3339))
		if o.JSON {
			_ = ui.WriteJSON(o.IO.Out, map[string]any{"model": name, "verdict": monitor.VerdictUndecided, "why": msg})
		} else {
			fmt.Fprintln(o.IO.Out, msg)
		}
		return &cmdutil.ExitError{Code: exitcode.Undecided}
	}
	if err != nil {
		return err
	}
	res := compareResult{Model: name, From: from.Format(time.RFC3339), Comparison: c}
	if o.Promote && c.Verdict == monitor.VerdictBetter {
		v, err := strconv.Atoi(p.VersionB)
		if err != nil {
			return fmt.Errorf("%s's version %q is not a number: nothing to promote", o.B, p.VersionB)
		}
		_, g, err := o.Stores(l)
		if err != nil {
			return err
		}
		e, err := promote.Promote(o.Context, g, name, o.Alias, v, promote.Options{
			Reason: fmt.Sprintf("housectl monitor compare: %s better than %s (%s)", o.B, o.A, c.Why)})
		if err != nil {
			return err
		}
		res.Promoted = &e
	}
	if o.JSON {
		if err := ui.WriteJSON(o.IO.Out, res); err != nil {
			return err
		}
	} else if err := printComparison(o, res); err != nil {
		return err
	}
	switch c.Verdict {
	case monitor.VerdictWorse:
		return &cmdutil.ExitError{Code: exitcode.Gate}
	case monitor.VerdictUndecided:
		return &cmdutil.ExitError{Code: exitcode.Undecided}
	}
	return nil
}

func printComparison(o *compareOptions, r compareResult) error {
	c := r.Comparison
	kind := "Welch's t test (a split: other rows)"
	if c.Test.Kind == "paired" {
		kind = "paired t test (a shadow: the same rows)"
	}
	fmt.Fprintf(o.IO.Out, "%s: %s (version %s) against %s (version %s) since %s, %s\n", r.Model, c.B.Variant, c.B.Version, c.A.Variant, c.A.Version, r.From, kind)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	iv := func(i monitor.Interval) string { return f(i.Value) + " [" + f(i.Low) + ", " + f(i.High) + "]" }
	pct := strconv.FormatFloat(100*c.Confidence, 'g', -1, 64) + "%"
	t := &ui.Table{Headers: []string{"VARIANT", "VERSION", "ROWS", "RMSE " + pct, "MAE " + pct, "BIAS " + pct}}
	for _, v := range []monitor.VariantStats{c.A, c.B} {
		t.Append(v.Variant, v.Version, strconv.Itoa(v.N), iv(v.RMSE), iv(v.MAE), iv(v.Bias))
	}
	if err := t.Render(o.IO); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "squared error, %s − %s: %s, t %.3f, df %.1f, p %.3g\n", c.B.Variant, c.A.Variant, iv(c.Test.Diff), c.Test.T, c.Test.DF, c.Test.P)
	fmt.Fprintf(o.IO.Out, "verdict: %s: %s\n", c.Verdict, c.Why)
	if c.Test.SampleSize > 0 {
		fmt.Fprintf(o.IO.Out, "a conclusive test would need about %d rows with feedback per variant\n", c.Test.SampleSize)
	}
	if e := r.Promoted; e != nil {
		if e.From == e.To {
			fmt.Fprintf(o.IO.Out, "%s@%s already holds version %d\n", r.Model, e.Alias, e.To)
		} else {
			fmt.Fprintf(o.IO.Out, "promoted: %s@%s: version %d → %d\n", r.Model, e.Alias, e.From, e.To)
		}
	}
	return nil
}
