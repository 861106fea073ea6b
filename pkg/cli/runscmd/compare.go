package runscmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/eval"
	"github.com/housectl/housectl/pkg/plots"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/ui"
)

// CompareOptions are the flags of `housectl runs compare`.
type CompareOptions struct {
	IO            *ui.IOStreams
	Store         func() (*tracking.Store, string, error) // and the default metric
	Now           func() time.Time
	Runs          []string
	All           bool
	JSON          bool
	Markdown      bool
	Plot          string
	FailIf        string
	Baseline      string
	MaxRegression string
	Metric        string
}

// NewCmdCompare returns `housectl runs compare`.
func NewCmdCompare(f *cmdutil.Factory, runF func(*CompareOptions) error) *cobra.Command {
	opts := &CompareOptions{IO: f.IOStreams, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "compare <run>... [--all] [--json] [--plot <file.png>] [--fail-if <expr>] [--baseline <run|models:/URI> --max-regression <pct>]",
		Short: "Compare runs side by side; gate CI on a metric",
		Long: `Compare runs: params and metrics in columns, one per run, with each metric's
delta against the first run. Only the rows that differ are shown unless --all.
On a terminal the best value of each metric is highlighted. --plot draws the
metrics (and the boosting loss curves) into a PNG.

Gates, for CI (exit status 5 when a gate fails, after printing the table):
  --fail-if EXPR          fails if any compared run (other than the baseline)
                          matches EXPR, in runs list's filter syntax,
                          e.g. "metrics.rmse > 0.50"
  --baseline REF          puts a run, or a registered version (models:/NAME@ALIAS,
                          models:/NAME/VERSION), first; with
  --max-regression PCT    fails if any other run's --metric (default: the
                          config's train.metric) is worse than the baseline's
                          by more than PCT ("2%" or 0.02)`,
		Example: `  housectl runs compare gradient_boosting random_forest linear
  housectl runs compare 20261128T1342 20261128T1355 --all --json
  housectl runs compare gradient_boosting --baseline models:/california@production --max-regression 2%
  housectl runs compare gradient_boosting --fail-if "metrics.rmse > 0.50" --plot compare.png`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Runs = args
			opts.Store = func() (*tracking.Store, string, error) {
				s, cfg, err := storeFor(f, cmd)
				if err != nil {
					return nil, "", err
				}
				return s, cfg.Train.Metric, nil
			}
			if opts.JSON && opts.Markdown {
				return cmdutil.FlagErrorf("--json and --markdown are exclusive: pick one output")
			}
			if opts.MaxRegression != "" && opts.Baseline == "" {
				return cmdutil.FlagErrorf("--max-regression needs --baseline: the run or model version to compare against")
			}
			if len(args) < 2 && opts.Baseline == "" && opts.FailIf == "" {
				return cmdutil.FlagErrorf("compare needs two runs or more (or one run with --baseline or --fail-if)")
			}
			if opts.Plot != "" && !strings.EqualFold(filepath.Ext(opts.Plot), ".png") {
				return cmdutil.FlagErrorf("--plot writes a PNG: give a file name ending in .png, got %q", opts.Plot)
			}
			if runF != nil {
				return runF(opts)
			}
			return compareRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.All, "all", "a", false, "show every row, not only those that differ")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the comparison as JSON")
	cmd.Flags().BoolVar(&opts.Markdown, "markdown", false, "print the comparison as a Markdown table (e.g. for $GITHUB_STEP_SUMMARY)")
	cmd.Flags().StringVar(&opts.Plot, "plot", "", "also draw the comparison into this PNG file")
	cmd.Flags().StringVar(&opts.FailIf, "fail-if", "", "exit 5 if a compared run matches this filter")
	cmd.Flags().StringVar(&opts.Baseline, "baseline", "", "run or models:/ URI to compare against (shown first)")
	cmd.Flags().StringVar(&opts.MaxRegression, "max-regression", "", "with --baseline: exit 5 if --metric is worse by more than this (e.g. 2%)")
	cmd.Flags().StringVar(&opts.Metric, "metric", "", "metric for --max-regression (default: train.metric of the config)")
	return cmd
}

func compareRun(opts *CompareOptions) error {
	var failIf *tracking.Filter
	if opts.FailIf != "" {
		var err error
		if failIf, err = tracking.ParseFilter(opts.FailIf); err != nil {
			return cmdutil.FlagErrorf("--fail-if: %w", err)
		}
	}
	maxReg := math.NaN()
	if opts.MaxRegression != "" {
		v, err := tracking.ParseFraction(opts.MaxRegression)
		if err != nil {
			return cmdutil.FlagErrorf("--max-regression: %w", err)
		}
		maxReg = v
	}
	store, defMetric, err := opts.Store()
	if err != nil {
		return err
	}
	metric := opts.Metric
	if metric == "" {
		metric = defMetric
	}
	if _, err := eval.LowerIsBetter(metric); err != nil && opts.MaxRegression != "" {
		return cmdutil.FlagErrorf("--metric: %w", err)
	}
	var runs []*tracking.Run
	labels := []string{}
	if opts.Baseline != "" {
		r, label, err := resolveRun(store, opts.Baseline)
		if err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
		runs, labels = append(runs, r), append(labels, label)
	}
	for _, ref := range opts.Runs {
		r, label, err := resolveRun(store, ref)
		if err != nil {
			return err
		}
		runs, labels = append(runs, r), append(labels, label)
	}
	c := tracking.Compare(runs, labels, opts.Now())
	if opts.Baseline != "" {
		c.Baseline = runs[0].ID
	}
	if failIf != nil || !math.IsNaN(maxReg) {
		c.Gate = tracking.Gates{FailIf: failIf, MaxRegression: maxReg, Metric: metric, Baseline: opts.Baseline != ""}.Check(runs, labels)
		for _, w := range c.Gate.Warnings {
			fmt.Fprintln(opts.IO.ErrOut, "warning: "+w)
		}
	}

	if opts.Plot != "" {
		if err := drawPlot(opts.Plot, runs, labels, c); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", opts.Plot)
	}
	switch {
	case opts.JSON:
		if err := ui.WriteJSON(opts.IO.Out, c); err != nil {
			return err
		}
	case opts.Markdown:
		if err := printMarkdown(opts, runs, labels, c); err != nil {
			return err
		}
	default:
		if err := printComparison(opts, runs, labels, c); err != nil {
			return err
		}
	}
	if c.Gate != nil && c.Gate.Failed {
		return c.Gate
	}
	if c.Gate != nil && !opts.JSON && !opts.Markdown {
		fmt.Fprintln(opts.IO.ErrOut, "gate passed: "+strings.Join(c.Gate.Checked, "; "))
	}
	return nil
}

// resolveRun finds a run by reference or through a models:/ URI.
func resolveRun(store *tracking.Store, ref string) (*tracking.Run, string, error) {
	if registry.IsURI(ref) {
		u, err := registry.ParseURI(ref)
		if err != nil {
			return nil, "", cmdutil.FlagErrorf("%w", err)
		}
		g := registry.Over(store, registry.Options{Now: store.Now})
		v, err := g.Resolve(u)
		if err != nil {
			return nil, "", err
		}
		r, err := store.Find(v.RunID)
		if err != nil {
			return nil, "", fmt.Errorf("%s (version %d) was made from run %s: %w", ref, v.Version, v.RunID, err)
		}
		return r, fmt.Sprintf("%s@v%d", u.Name, v.Version), nil
	}
	r, err := store.Find(ref)
	if err != nil {
		return nil, "", err
	}
	return r, r.Name + " " + shortID(r.ID), nil
}

func shortID(id string) string {
	if i := strings.LastIndexByte(id, '-'); i > 0 && len(id) > 15 {
		return id[:15]
	}
	return id
}

func printComparison(opts *CompareOptions, runs []*tracking.Run, labels []string, c *tracking.Comparison) error {
	headers := append([]string{"", "KEY"}, labels...)
	t := &ui.Table{Headers: headers}
	type mark struct{ row, col int }
	best := map[mark]bool{}
	add := func(section, key string, cells []string) { t.Append(append([]string{section, key}, cells...)...) }
	add("run", "id", ids(runs))
	add("run", "model", field(runs, func(r *tracking.Run) string { return r.Model }))
	add("run", "status", field(runs, func(r *tracking.Run) string { return r.DisplayStatus() }))
	hidden := 0
	for _, k := range sortedKeys(c.Params) {
		vs := c.Params[k]
		if !opts.All && len(runs) > 1 && !tracking.Differs(vs) {
			hidden++
			continue
		}
		cells := make([]string, len(vs))
		for i, v := range vs {
			if v != nil {
				cells[i] = *v
			}
		}
		add("param", k, cells)
	}
	for _, k := range sortedKeys(c.Metrics) {
		vs := c.Metrics[k]
		if !opts.All && len(runs) > 1 && !tracking.Differs(vs) {
			hidden++
			continue
		}
		cells := make([]string, len(vs))
		for i, v := range vs {
			if v == nil {
				continue
			}
			cells[i] = tracking.FormatMetric(*v)
			if d := c.Deltas[k][i]; d != nil {
				cells[i] += fmt.Sprintf(" (%+.4g)", *d)
			}
			if c.Best[k] == runs[i].ID && len(runs) > 1 {
				best[mark{len(t.Rows), 2 + i}] = true
			}
		}
		add("metric", k, cells)
	}
	t.CellStyle = func(row, col int) ui.StyleName {
		switch {
		case best[mark{row, col}]:
			return ui.StyleSuccess
		case col == 0:
			return ui.StyleMuted
		case col == 1:
			return ui.StyleKey
		}
		return ui.StyleNone
	}
	if err := t.Render(opts.IO); err != nil {
		return err
	}
	if hidden > 0 && opts.IO.IsStdoutTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "%d identical row(s) hidden; --all shows them\n", hidden)
	}
	return nil
}

func ids(runs []*tracking.Run) []string {
	return field(runs, func(r *tracking.Run) string { return r.ID })
}

func field(runs []*tracking.Run, get func(*tracking.Run) string) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = get(r)
	}
	return out
}

func drawPlot(path string, runs []*tracking.Run, labels []string, c *tracking.Comparison) error {
	var metrics []string
	for _, k := range sortedKeys(c.Metrics) {
		if !strings.HasPrefix(k, "cv_") && k != "fit_seconds" {
			metrics = append(metrics, k)
		}
	}
	if len(metrics) == 0 {
		return errors.New("the runs have no metrics to draw")
	}
	values := make([][]float64, len(runs))
	curves := make([][]float64, len(runs))
	for i, r := range runs {
		for _, k := range metrics {
			v := math.NaN()
			if p := c.Metrics[k][i]; p != nil {
				v = *p
			}
			values[i] = append(values[i], v)
		}
		if b, err := os.ReadFile(filepath.Join(r.Dir(), "history.json")); err == nil {
			var h struct {
				TrainLoss []float64 `json:"train_loss"`
			}
			if json.Unmarshal(b, &h) == nil {
				curves[i] = h.TrainLoss
			}
		}
	}
	img, err := plots.Comparison("runs", slices.Clone(labels), metrics, values, curves)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, img, 0o644)
}

// printMarkdown writes the comparison as GitHub-flavoured Markdown: the
// differing rows (all with --all), the best value of each metric in bold,
// and the gate's verdict.
func printMarkdown(opts *CompareOptions, runs []*tracking.Run, labels []string, c *tracking.Comparison) error {
	var b strings.Builder
	cell := func(s string) string { return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s) }
	fmt.Fprintf(&b, "| | %s |\n|---|%s\n", strings.Join(mapStrings(labels, cell), " | "), strings.Repeat("---|", len(labels)))
	fmt.Fprintf(&b, "| run | %s |\n", strings.Join(mapStrings(ids(runs), func(s string) string { return "`" + s + "`" }), " | "))
	for _, k := range sortedKeys(c.Params) {
		vs := c.Params[k]
		if !opts.All && len(runs) > 1 && !tracking.Differs(vs) {
			continue
		}
		cells := make([]string, len(vs))
		for i, v := range vs {
			if v != nil {
				cells[i] = cell(*v)
			}
		}
		fmt.Fprintf(&b, "| param `%s` | %s |\n", cell(k), strings.Join(cells, " | "))
	}
	for _, k := range sortedKeys(c.Metrics) {
		vs := c.Metrics[k]
		if !opts.All && len(runs) > 1 && !tracking.Differs(vs) {
			continue
		}
		cells := make([]string, len(vs))
		for i, v := range vs {
			if v == nil {
				continue
			}
			cells[i] = tracking.FormatMetric(*v)
			if d := c.Deltas[k][i]; d != nil {
				cells[i] += fmt.Sprintf(" (%+.4g)", *d)
			}
			if c.Best[k] == runs[i].ID && len(runs) > 1 {
				cells[i] = "**" + cells[i] + "**"
			}
		}
		fmt.Fprintf(&b, "| metric `%s` | %s |\n", cell(k), strings.Join(cells, " | "))
	}
	if c.Gate != nil {
		if c.Gate.Failed {
			fmt.Fprintf(&b, "\n**Gate failed:** %s\n", cell(strings.Join(c.Gate.Reasons, "; ")))
		} else {
			fmt.Fprintf(&b, "\n**Gate passed:** %s\n", cell(strings.Join(c.Gate.Checked, "; ")))
		}
	}
	_, err := io.WriteString(opts.IO.Out, b.String())
	return err
}

func mapStrings(xs []string, f func(string) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
