package runscmd

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/ui"
)

// ListOptions are the flags of `housectl runs list`.
type ListOptions struct {
	IO         *ui.IOStreams
	Store      func() (*tracking.Store, error)
	Now        func() time.Time
	Experiment string
	Filter     string
	OrderBy    []string
	Limit      int
	JSON       bool
}

// NewCmdList returns `housectl runs list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "list [--experiment <name>] [--filter <expr>] [--order-by <key> [ASC|DESC]]... [--limit <n>] [--json]",
		Short: "List runs, filtered and sorted as MLflow's search_runs does",
		Long: `List runs newest first (MLflow's base order: start time descending, then id).

--filter takes MLflow's search syntax: comparisons joined by AND (no OR, no
parentheses). Metrics compare with = != < <= > >= against numbers; params and
tags are strings (=, !=, LIKE, ILIKE against a quoted value); attributes are
run_id, run_name, status, experiment, model (strings; run_id also IN (...))
and start_time, end_time (milliseconds since the epoch). params.model is the
model kind; tags include the lineage (git_commit, git_branch, data_md5, host,
user, ...). A run without the key never matches. A malformed filter is an
error that points at the position.

--order-by may be repeated; missing and NaN values sort last.`,
		Example: `  housectl runs list
  housectl runs list --filter "metrics.rmse < 0.5 and params.model = 'gradient_boosting'"
  housectl runs list --filter "tags.git_commit = 'abc123'" --order-by "metrics.rmse ASC" --limit 5
  housectl runs list --json | jq '.[0].id'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Store = func() (*tracking.Store, error) { s, _, err := storeFor(f, cmd); return s, err }
			if opts.Limit < 0 {
				return cmdutil.FlagErrorf("--limit must be 0 (no limit) or positive, got %d", opts.Limit)
			}
			if runF != nil {
				return runF(opts)
			}
			return listRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Experiment, "experiment", "e", "", "only this experiment (default: all)")
	cmd.Flags().StringVarP(&opts.Filter, "filter", "f", "", "MLflow search filter, e.g. \"metrics.rmse < 0.5\"")
	cmd.Flags().StringArrayVar(&opts.OrderBy, "order-by", nil, "sort key, e.g. \"metrics.rmse ASC\" (repeatable)")
	cmd.Flags().IntVarP(&opts.Limit, "limit", "L", 0, "show at most this many runs (0: all)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the runs as JSON")
	return cmd
}

func listRun(opts *ListOptions) error {
	filter, err := tracking.ParseFilter(opts.Filter)
	if err != nil {
		return cmdutil.FlagErrorf("--filter: %w", err)
	}
	var order []tracking.OrderBy
	for _, o := range opts.OrderBy {
		k, err := tracking.ParseOrderBy(o)
		if err != nil {
			return cmdutil.FlagErrorf("--order-by: %w", err)
		}
		order = append(order, k)
	}
	store, err := opts.Store()
	if err != nil {
		return err
	}
	exp := opts.Experiment
	if exp != "" {
		exp = store.ExperimentDirOf(exp) // a name made through MLflow's API
	}
	runs, errs := store.Search(exp, filter, order, opts.Limit)
	names := store.ExperimentNames()
	var unreadable error
	for _, e := range errs {
		fmt.Fprintf(opts.IO.ErrOut, "warning: skipped an unreadable run: %v\n", e)
		unreadable = errors.New("some runs could not be read (see the warnings above)")
	}
	if opts.JSON {
		out := make([]runJSON, len(runs))
		for i, r := range runs {
			out[i] = toJSON(r)
		}
		return cmp.Or(ui.WriteJSON(opts.IO.Out, out), unreadable)
	}
	if len(runs) == 0 {
		if opts.IO.IsStdoutTTY() && unreadable == nil {
			fmt.Fprintln(opts.IO.ErrOut, "no runs match; train some with `housectl train`")
		}
		return unreadable
	}
	now := opts.Now()
	t := &ui.Table{Headers: []string{"ID", "NAME", "EXPERIMENT", "MODEL", "STATUS", "START", "DURATION", "RMSE", "MAE", "R2"}}
	for _, r := range runs {
		m := func(k string) string {
			if v, ok := r.Metrics[k]; ok {
				return tracking.FormatMetric(v)
			}
			return ""
		}
		expName := r.Experiment
		if n, ok := names[r.Experiment]; ok {
			expName = n
		}
		t.Append(r.ID, r.Name, expName, r.Model, r.DisplayStatus(), fmtTime(opts.IO, r.StartTime, now), fmtDuration(r, now), m("rmse"), m("mae"), m("r2"))
	}
	t.CellStyle = func(row, col int) ui.StyleName {
		if col == 4 {
			return statusStyle(t.Rows[row][4])
		}
		return ui.StyleNone
	}
	if err := t.Render(opts.IO); err != nil {
		return err
	}
	return unreadable
}
