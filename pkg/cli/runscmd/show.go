package runscmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/ui"
)

// ShowOptions are the flags of `housectl runs show`.
type ShowOptions struct {
	IO    *ui.IOStreams
	Store func() (*tracking.Store, error)
	Now   func() time.Time
	Run   string
	JSON  bool
}

// NewCmdShow returns `housectl runs show`.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "show <run> [--json]",
		Short: "Show everything about one run: params, metrics, lineage, artifacts",
		Example: `  housectl runs show gradient_boosting
  housectl runs show 20261128T134210 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			opts.Store = func() (*tracking.Store, error) { s, _, err := storeFor(f, cmd); return s, err }
			if runF != nil {
				return runF(opts)
			}
			return showRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the run as JSON")
	return cmd
}

func showRun(opts *ShowOptions) error {
	store, err := opts.Store()
	if err != nil {
		return err
	}
	r, err := store.Find(opts.Run)
	if err != nil {
		return err
	}
	if opts.JSON {
		return ui.WriteJSON(opts.IO.Out, toJSON(r))
	}
	st := opts.IO.Styles()
	var b strings.Builder
	section := func(title string) { fmt.Fprintf(&b, "\n%s\n", st.Header.Render(title)) }
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %-18s %s\n", st.Key.Render(k), v)
		}
	}
	now := opts.Now()
	fmt.Fprintf(&b, "%s %s\n", st.Bold.Render("run "+r.ID), st.Muted.Render("("+r.Dir()+")"))
	kv("name", r.Name)
	kv("experiment", r.Experiment)
	kv("model", r.Model)
	kv("status", r.DisplayStatus())
	kv("error", r.Error)
	kv("start", r.StartTime.UTC().Format(time.RFC3339))
	if r.EndTime != nil {
		kv("end", r.EndTime.UTC().Format(time.RFC3339))
	}
	kv("duration", fmtDuration(r, now))
	section("Metrics")
	for _, k := range sortedKeys(r.Metrics) {
		kv(k, tracking.FormatMetric(r.Metrics[k]))
	}
	section("Params")
	ps := r.ParamStrings()
	for _, k := range sortedKeys(ps) {
		kv(k, ps[k])
	}
	if len(r.Tags) > 0 {
		section("Tags")
		for _, k := range sortedKeys(r.Tags) {
			kv(k, r.Tags[k])
		}
	}
	section("Lineage")
	l := r.Lineage
	kv("data", fmt.Sprintf("%s (md5 %s, %d rows)", l.DataPath, l.DataMD5, l.DataRows))
	kv("test rows", l.TestSet())
	kv("config sha256", l.ConfigSHA256)
	kv("seed", fmt.Sprint(l.Seed))
	if l.GitCommit != "" {
		dirty := ""
		if l.GitDirty {
			dirty = " (dirty)"
		}
		kv("git", fmt.Sprintf("%s on %s%s", l.GitCommit, l.GitBranch, dirty))
	}
	kv("housectl", l.Version+" ("+l.GoVersion+")")
	kv("host", fmt.Sprintf("%s, pid %d", l.Host, l.PID))
	kv("user", l.User)
	if len(r.CV) > 0 {
		section(fmt.Sprintf("Cross-validation (%d folds)", len(r.CV)))
		for i, fold := range r.CV {
			var parts []string
			for _, k := range sortedKeys(fold) {
				parts = append(parts, k+" "+tracking.FormatMetric(fold[k]))
			}
			kv(fmt.Sprintf("fold %d", i+1), strings.Join(parts, ", "))
		}
	}
	if len(r.Artifacts) > 0 {
		section("Artifacts")
		for _, a := range r.Artifacts {
			kv(a.Path, fmt.Sprintf("%d bytes, sha256 %s", a.Size, a.SHA256))
		}
	}
	_, err = fmt.Fprint(opts.IO.Out, b.String())
	return err
}
