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
	"strconv"
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

// Comparison is the --json output.
type Comparison struct {
	Runs     []ComparedRun         `json:"runs"`
	Baseline string                `json:"baseline,omitempty"` // the first run's id when --baseline was given
	Params   map[string][]*string  `json:"params"`             // key → one value per run (null: not set)
	Metrics  map[string][]*float64 `json:"metrics"`
	Deltas   map[string][]*float64 `json:"deltas"` // against the first run
	Best     map[string]string     `json:"best"`   // metric → id of the best run
	Gate     *GateResult           `json:"gate,omitempty"`
}

// ComparedRun identifies one column.
type ComparedRun struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Experiment string  `json:"experiment"`
	Model      string  `json:"model"`
	Status     string  `json:"status"`
	Start      string  `json:"start_time"`
	Seconds    float64 `json:"duration_seconds"`
	Label      string  `json:"label"`
}

// GateResult says whether the gates passed.
type GateResult struct {
	Failed  bool     `json:"failed"`
	Reasons []string `json:"reasons"`
	Checked []string `json:"checked"`
}

// ExitGateFailed is the exit status when a gate fails.
const ExitGateFailed = cmdutil.ExitGate

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
		v, err := parsePercent(opts.MaxRegression)
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
	c := build(runs, labels, opts.Now())
	if opts.Baseline != "" {
		c.Baseline = runs[0].ID
	}

	// Gates.
	if failIf != nil || !math.IsNaN(maxReg) {
		g := &GateResult{}
		start := 0
		if opts.Baseline != "" {
			start = 1
		}
		for i, r := range runs[start:] {
			label := labels[start+i]
			if failIf != nil {
				g.Checked = append(g.Checked, fmt.Sprintf("%s: %s", label, failIf))
				if failIf.Match(r) {
					g.Reasons = append(g.Reasons, fmt.Sprintf("%s matches --fail-if %q", label, failIf.String()))
				}
			}
			if !math.IsNaN(maxReg) {
				base, okb := runs[0].Metrics[metric]
				v, ok := r.Metrics[metric]
				if !ok || !okb {
					g.Reasons = append(g.Reasons, fmt.Sprintf("%s or the baseline has no metric %s to compare", label, metric))
					continue
				}
				if runs[0].Lineage.TestSet() != r.Lineage.TestSet() {
					fmt.Fprintf(opts.IO.ErrOut, "warning: %s was scored on other test rows than the baseline (%s vs %s)\n", label, r.Lineage.TestSet(), runs[0].Lineage.TestSet())
				}
				reg := regression(metric, base, v)
				g.Checked = append(g.Checked, fmt.Sprintf("%s: %s %s vs baseline %s: %+.2f%% (limit %.2f%%)", label, metric, fmtMetric(v), fmtMetric(base), 100*reg, 100*maxReg))
				if reg > maxReg {
					g.Reasons = append(g.Reasons, fmt.Sprintf("%s: %s %s is %.2f%% worse than the baseline's %s (limit %.2f%%)", label, metric, fmtMetric(v), 100*reg, fmtMetric(base), 100*maxReg))
				}
			}
		}
		g.Failed = len(g.Reasons) > 0
		c.Gate = g
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
		return &cmdutil.ExitError{Code: ExitGateFailed, Err: fmt.Errorf("gate failed: %s", strings.Join(c.Gate.Reasons, "; "))}
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
		g := &registry.Registry{Root: store.Dir, Store: store}
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

// regression is how much worse v is than base, as a fraction of |base|
// (negative: better).
func regression(metric string, base, v float64) float64 {
	lower, _ := eval.LowerIsBetter(metric)
	d := v - base
	if !lower {
		d = -d
	}
	if base == 0 {
		if d > 0 {
			return math.Inf(1)
		}
		return 0
	}
	return d / math.Abs(base)
}

func parsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a percentage: use e.g. 2%% or 0.02", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

// lowerBetter guesses a metric's direction: known metrics by eval, cv_
// variants like their base, anything else (times, sizes) lower.
func lowerBetter(k string) bool {
	if lower, err := eval.LowerIsBetter(strings.TrimPrefix(k, "cv_")); err == nil {
		return lower
	}
	return true
}

func build(runs []*tracking.Run, labels []string, now time.Time) *Comparison {
	c := &Comparison{Params: map[string][]*string{}, Metrics: map[string][]*float64{}, Deltas: map[string][]*float64{}, Best: map[string]string{}}
	for i, r := range runs {
		end := now
		if r.EndTime != nil {
			end = *r.EndTime
		}
		c.Runs = append(c.Runs, ComparedRun{ID: r.ID, Name: r.Name, Experiment: r.Experiment, Model: r.Model, Status: r.DisplayStatus(),
			Start: r.StartTime.UTC().Format(time.RFC3339), Seconds: end.Sub(r.StartTime).Seconds(), Label: labels[i]})
	}
	for i, r := range runs {
		for k, v := range r.ParamStrings() {
			if c.Params[k] == nil {
				c.Params[k] = make([]*string, len(runs))
			}
			c.Params[k][i] = &v
		}
		for k, v := range r.Metrics {
			if c.Metrics[k] == nil {
				c.Metrics[k] = make([]*float64, len(runs))
			}
			c.Metrics[k][i] = &v
		}
	}
	for k, vs := range c.Metrics {
		d := make([]*float64, len(runs))
		best := -1
		for i, v := range vs {
			if v == nil {
				continue
			}
			if vs[0] != nil && i > 0 {
				x := *v - *vs[0]
				d[i] = &x
			}
			if best < 0 || lowerBetter(k) && *v < *vs[best] || !lowerBetter(k) && *v > *vs[best] {
				best = i
			}
		}
		c.Deltas[k] = d
		if best >= 0 {
			c.Best[k] = runs[best].ID
		}
	}
	return c
}

func differs[T comparable](vs []*T) bool {
	for _, v := range vs[1:] {
		if (v == nil) != (vs[0] == nil) || v != nil && *v != *vs[0] {
			return true
		}
	}
	return false
}

func printComparison(opts *CompareOptions, runs []*tracking.Run, labels []string, c *Comparison) error {
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
		if !opts.All && len(runs) > 1 && !differs(vs) {
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
		if !opts.All && len(runs) > 1 && !differs(vs) {
			hidden++
			continue
		}
		cells := make([]string, len(vs))
		for i, v := range vs {
			if v == nil {
				continue
			}
			cells[i] = fmtMetric(*v)
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

func drawPlot(path string, runs []*tracking.Run, labels []string, c *Comparison) error {
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
func printMarkdown(opts *CompareOptions, runs []*tracking.Run, labels []string, c *Comparison) error {
	var b strings.Builder
	cell := func(s string) string { return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s) }
	fmt.Fprintf(&b, "| | %s |\n|---|%s\n", strings.Join(mapStrings(labels, cell), " | "), strings.Repeat("---|", len(labels)))
	fmt.Fprintf(&b, "| run | %s |\n", strings.Join(mapStrings(ids(runs), func(s string) string { return "`" + s + "`" }), " | "))
	for _, k := range sortedKeys(c.Params) {
		vs := c.Params[k]
		if !opts.All && len(runs) > 1 && !differs(vs) {
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
		if !opts.All && len(runs) > 1 && !differs(vs) {
			continue
		}
		cells := make([]string, len(vs))
		for i, v := range vs {
			if v == nil {
				continue
			}
			cells[i] = fmtMetric(*v)
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
