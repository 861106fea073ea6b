// Package predictionscmd implements `housectl predictions tail|stats|export`.
package predictionscmd

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	logs "github.com/housectl/housectl/pkg/store/all"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the flags shared by the predictions verbs.
type Options struct {
	IO      *ui.IOStreams
	Config  func() (*config.Loaded, error)
	Now     func() time.Time
	Context context.Context
	Since   time.Duration
	From    string
	To      string
	Model   string
	Version string
	Variant string
	Shadows bool
	Limit   int
	Follow  bool
	JSON    bool
	Format  string
	Output  string
}

// NewCmdPredictions returns `housectl predictions`.
func NewCmdPredictions(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "predictions <command>",
		Short: "Query the prediction log that housectl serve writes",
		Long: `The prediction log (predictions.path, SQLite) holds every prediction the
server made: time, request id, model, version, features, prediction, latency.`,
		Example: `  housectl predictions tail -n 20
  housectl predictions stats --since 1h
  housectl predictions export --format csv --output predictions.csv`,
	}
	window := func(c *cobra.Command, o *Options) {
		cmdutil.DurationVar(c.Flags(), &o.Since, "since", 0, "only the last DURATION (e.g. 30m, 24h, 7d)")
		c.Flags().StringVar(&o.From, "from", "", "from this time (RFC 3339)")
		c.Flags().StringVar(&o.To, "to", "", "up to this time (RFC 3339, exclusive)")
		c.Flags().StringVar(&o.Model, "model", "", "only this registered model name")
		c.Flags().StringVar(&o.Version, "version", "", "only this model version")
		c.Flags().StringVar(&o.Variant, "variant", "", "only this variant of a split or shadow (its alias)")
		c.Flags().BoolVar(&o.Shadows, "shadows", false, "include the shadow's predictions (never returned to clients)")
	}
	mk := func(use, short, example string, flags func(*cobra.Command, *Options), run func(*Options) error) *cobra.Command {
		o := &Options{IO: f.IOStreams, Now: f.Now}
		c := &cobra.Command{Use: use, Short: short, Example: example, Args: cmdutil.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				o.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
				o.Context = cmd.Context()
				return run(o)
			}}
		window(c, o)
		flags(c, o)
		return c
	}
	fb := &cobra.Command{
		Use:   "feedback <file.csv>",
		Short: "Join actual values to logged predictions (CSV: request_id, actual[, row])",
		Long: `Read actual values from a CSV with a header naming request_id and actual (and
row, the row's index within a batch request, 0 when absent) and store them
beside the logged predictions, as POST /feedback does. Every line is checked
first (exit 4 naming line and column; nothing stored); then the command says
how many matched a logged prediction. A later value for the same prediction
replaces the earlier.`,
		Example: "  housectl predictions feedback actuals.csv",
		Args:    cobra.ExactArgs(1),
	}
	fo := &Options{IO: f.IOStreams, Now: f.Now}
	fb.RunE = func(c *cobra.Command, args []string) error {
		fo.Config = func() (*config.Loaded, error) { return f.Config(c) }
		fo.Context = c.Context()
		return feedbackRun(fo, args[0])
	}
	cmd.AddCommand(fb)
	cmd.AddCommand(
		mk("tail [-n <rows>] [--follow] [--json]", "Show the newest predictions (and follow new ones)",
			"  housectl predictions tail -n 5\n  housectl predictions tail --follow --json",
			func(c *cobra.Command, o *Options) {
				c.Flags().IntVarP(&o.Limit, "lines", "n", 10, "how many of the newest predictions (0: none, e.g. with --follow)")
				c.Flags().BoolVarP(&o.Follow, "follow", "f", false, "keep printing new predictions until interrupted")
				c.Flags().BoolVar(&o.JSON, "json", false, "one JSON object per line")
			}, tailRun),
		mk("stats [--since <dur> | --from <t> --to <t>] [--json]", "Count, latency percentiles and prediction distribution, by version",
			"  housectl predictions stats --since 24h --json",
			func(c *cobra.Command, o *Options) { c.Flags().BoolVar(&o.JSON, "json", false, "print JSON") }, statsRun),
		mk("export --format {csv|json} [--output <file>]", "Export the predictions (oldest first)",
			"  housectl predictions export --format csv --output log.csv --since 24h",
			func(c *cobra.Command, o *Options) {
				c.Flags().StringVar(&o.Format, "format", "csv", "csv or json (JSON lines)")
				c.Flags().StringVarP(&o.Output, "output", "o", "", "file to write (default: standard output)")
			}, exportRun),
	)
	return cmd
}

func (o *Options) open() (*store.DB, store.Query, error) {
	l, err := o.Config()
	if err != nil {
		return nil, store.Query{}, err
	}
	q := store.Query{Model: o.Model, Version: o.Version, Variant: o.Variant}
	if o.Shadows {
		q.Shadows = store.WithShadows
	}
	if o.Since < 0 {
		return nil, q, cmdutil.FlagErrorf("--since must be positive, got %s", o.Since)
	}
	if o.Since > 0 {
		if o.From != "" {
			return nil, q, cmdutil.FlagErrorf("give --since or --from, not both")
		}
		q.From = o.Now().Add(-o.Since)
	}
	for _, t := range []struct {
		flag, v string
		dst     *time.Time
	}{{"--from", o.From, &q.From}, {"--to", o.To, &q.To}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return nil, q, cmdutil.FlagErrorf("%s: %q is not an RFC 3339 time such as 2026-11-28T14:00:00Z", t.flag, t.v)
		}
		*t.dst = v
	}
	db, err := logs.OpenExisting(o.Context, l.Config.Predictions.DSN, l.Config.Predictions.Path)
	return db, q, err
}

func featureNames(rows []store.Row) []string {
	set := map[string]bool{}
	for _, r := range rows {
		for k := range r.Features {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func printRows(o *Options, rows []store.Row) error {
	w := bufio.NewWriter(o.IO.Out)
	for _, r := range rows {
		if o.JSON {
			b, _ := json.Marshal(r)
			_, _ = w.Write(append(b, '\n'))
			continue
		}
		keys := make([]string, 0, len(r.Features))
		for k := range r.Features {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var fs []string
		for _, k := range keys {
			fs = append(fs, k+"="+strconv.FormatFloat(r.Features[k], 'g', -1, 64))
		}
		served := r.Model + "@" + r.Version
		if r.Variant != "" {
			served += " (" + r.Variant + ")"
		}
		if r.Shadow {
			served += " shadow"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%.6g\t%.3fms\t%s\n", r.Time.Format(time.RFC3339Nano), r.RequestID, served,
			r.Prediction, float64(r.Latency.Microseconds())/1000, strings.Join(fs, " "))
	}
	return w.Flush()
}

func tailRun(o *Options) error {
	if o.Limit < 0 {
		return cmdutil.FlagErrorf("-n/--lines must be 0 or more (0 with --follow: only new predictions), got %d", o.Limit)
	}
	db, q, err := o.open()
	if err != nil {
		return err
	}
	defer db.Close()
	var rows []store.Row
	if o.Limit > 0 { // a Query's zero Limit means every row
		q.Limit = o.Limit
		if rows, err = db.Rows(o.Context, q); err != nil {
			return err
		}
	}
	slices.Reverse(rows)
	if err := printRows(o, rows); err != nil {
		return err
	}
	if !o.Follow {
		return nil
	}
	var last int64
	if len(rows) > 0 {
		last = rows[len(rows)-1].ID
	} else if n, err := db.Rows(o.Context, store.Query{Limit: 1}); err == nil && len(n) > 0 {
		last = n[0].ID
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-o.Context.Done():
			return nil
		case <-t.C:
		}
		q.Limit, q.AfterID, q.Ascending = 0, last, true
		rows, err := db.Rows(o.Context, q)
		if err != nil {
			if o.Context.Err() != nil {
				return nil
			}
			return err
		}
		if len(rows) > 0 {
			last = rows[len(rows)-1].ID
			if err := printRows(o, rows); err != nil {
				return err
			}
		}
	}
}

func statsRun(o *Options) error {
	db, q, err := o.open()
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Rows(o.Context, q)
	if err != nil {
		return err
	}
	st := store.Summarize(rows, 10)
	if o.Since > 0 {
		st.Window = o.Since.String()
	}
	type versionStats struct {
		Version string      `json:"version"`
		Stats   store.Stats `json:"stats"`
	}
	groups := map[string][]store.Row{}
	for _, r := range rows {
		k := r.Model + "@" + r.Version
		groups[k] = append(groups[k], r)
	}
	var per []versionStats
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		per = append(per, versionStats{Version: k, Stats: store.Summarize(groups[k], 0)})
	}
	if o.JSON {
		return ui.WriteJSON(o.IO.Out, map[string]any{"all": st, "by_version": per})
	}
	if st.Count == 0 {
		fmt.Fprintln(o.IO.ErrOut, "no predictions in that window")
		return nil
	}
	t := &ui.Table{Headers: []string{"VERSION", "COUNT", "PER S", "P50 MS", "P90 MS", "P99 MS", "MEAN", "STD", "P10", "P50", "P90"}}
	add := func(name string, s store.Stats) {
		f := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
		t.Append(name, strconv.FormatInt(s.Count, 10), f(s.PerSecond), f(s.Latency["p50"]), f(s.Latency["p90"]), f(s.Latency["p99"]),
			f(s.Prediction["mean"]), f(s.Prediction["std"]), f(s.Prediction["p10"]), f(s.Prediction["p50"]), f(s.Prediction["p90"]))
	}
	for _, v := range per {
		add(v.Version, v.Stats)
	}
	add("all", st)
	if err := t.Render(o.IO); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "%d predictions from %s to %s\n", st.Count, st.From.Format(time.RFC3339), st.To.Format(time.RFC3339))
	return nil
}

func exportRun(o *Options) error {
	if o.Format != "csv" && o.Format != "json" {
		return cmdutil.FlagErrorf("--format must be csv or json, got %q", o.Format)
	}
	db, q, err := o.open()
	if err != nil {
		return err
	}
	defer db.Close()
	q.Ascending = true
	rows, err := db.Rows(o.Context, q)
	if err != nil {
		return err
	}
	out := o.IO.Out
	var file *atomicfile.File
	if o.Output != "" {
		if file, err = atomicfile.Create(o.Output, 0o644); err != nil {
			return err
		}
		defer file.Abort()
		out = file
	}
	bw := bufio.NewWriter(out)
	if o.Format == "json" {
		enc := json.NewEncoder(bw)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	} else {
		feats := featureNames(rows)
		cw := csv.NewWriter(bw)
		_ = cw.Write(append([]string{"id", "time", "request_id", "model", "version", "prediction", "latency_ms"}, feats...))
		for _, r := range rows {
			rec := []string{strconv.FormatInt(r.ID, 10), r.Time.Format(time.RFC3339Nano), r.RequestID, r.Model, r.Version,
				strconv.FormatFloat(r.Prediction, 'g', -1, 64), strconv.FormatFloat(float64(r.Latency)/1e6, 'f', 3, 64)}
			for _, f := range feats {
				v, ok := r.Features[f]
				if ok {
					rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
				} else {
					rec = append(rec, "")
				}
			}
			_ = cw.Write(rec)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if file != nil {
		if err := file.Commit(); err != nil {
			return err
		}
		fmt.Fprintf(o.IO.ErrOut, "wrote %d predictions to %s\n", len(rows), o.Output)
	}
	return nil
}

func feedbackRun(o *Options, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(dataset.SkipBOM(f))
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%w: %s: no header row (want request_id,actual[,row]): %w", dataset.ErrInvalid, path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	ri, ok1 := col["request_id"]
	ai, ok2 := col["actual"]
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: %s: the header needs request_id and actual (and optionally row), got %q", dataset.ErrInvalid, path, header)
	}
	rowi, hasRow := col["row"]
	now := o.Now().UTC()
	var fb []store.Feedback
	var problems []string
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %w", dataset.ErrInvalid, path, err)
		}
		id := strings.TrimSpace(rec[ri])
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[ai]), 64)
		switch {
		case id == "":
			problems = append(problems, fmt.Sprintf("line %d, column request_id: empty", line))
		case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
			problems = append(problems, fmt.Sprintf("line %d, column actual: %q is not a finite number", line, rec[ai]))
		}
		row := 0
		if hasRow && strings.TrimSpace(rec[rowi]) != "" {
			row, err = strconv.Atoi(strings.TrimSpace(rec[rowi]))
			if err != nil || row < 0 {
				problems = append(problems, fmt.Sprintf("line %d, column row: %q is not a row index (0 or more)", line, rec[rowi]))
			}
		}
		fb = append(fb, store.Feedback{RequestID: id, Row: row, Actual: v, Time: now})
	}
	if len(problems) > 0 {
		for _, p := range problems[:min(len(problems), 20)] {
			fmt.Fprintln(o.IO.ErrOut, p)
		}
		return fmt.Errorf("%w: %s: %d bad line(s); nothing was stored", dataset.ErrInvalid, path, len(problems))
	}
	if len(fb) == 0 {
		return fmt.Errorf("%w: %s has no rows", dataset.ErrInvalid, path)
	}
	db, _, err := o.open()
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.AddFeedback(o.Context, fb)
	matched := res.Matched
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "stored %d actual value(s): %d matched a logged prediction, %d did not (yet)\n", len(fb), matched, len(fb)-matched)
	return nil
}
