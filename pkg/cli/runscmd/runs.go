// Package runscmd implements `housectl runs list|show|compare|gc`.
package runscmd

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/ui"
)

// NewCmdRuns returns `housectl runs`.
func NewCmdRuns(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs <command>",
		Short: "List, inspect and compare training runs",
		Long: `Runs are what housectl train records under experiments/<experiment>/<run-id>/.
A run is named by its id, a unique id prefix, or its name (the newest run of
that name).`,
		Example: `  housectl runs list --filter "metrics.rmse < 0.5" --order-by "metrics.rmse ASC"
  housectl runs show gradient_boosting
  housectl runs compare 20261128T1342 20261128T1355 --fail-if "metrics.rmse > 0.5"`,
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdShow(f, nil), NewCmdCompare(f, nil), NewCmdGC(f, nil), NewCmdPush(f), NewCmdPull(f))
	return cmd
}

// storeFor opens the experiments directory of the configuration.
func storeFor(f *cmdutil.Factory, cmd *cobra.Command) (*tracking.Store, *config.Config, error) {
	l, err := f.Config(cmd)
	if err != nil {
		return nil, nil, err
	}
	s, _, err := cmdutil.Stores(cmd.Context(), f, l)
	if err != nil {
		return nil, nil, err
	}
	// A bucket that cannot be read is the command's error (with its exit
	// status), not a warning about one run.
	return s, &l.Config, s.Sync(cmd.Context())
}

// fmtDuration prints a run's duration (or how long it has been running).
func fmtDuration(r *tracking.Run, now time.Time) string {
	end := now
	if r.EndTime != nil {
		end = *r.EndTime
	}
	d := end.Sub(r.StartTime)
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// fmtTime prints a time: relative on a terminal, RFC 3339 for scripts.
func fmtTime(io *ui.IOStreams, t, now time.Time) string {
	if !io.IsStdoutTTY() {
		return t.UTC().Format(time.RFC3339)
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Local().Format("2006-01-02 15:04")
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// statusStyle colours a status on a terminal.
func statusStyle(s string) ui.StyleName {
	switch {
	case s == tracking.StatusFinished:
		return ui.StyleSuccess
	case s == tracking.StatusFailed, strings.Contains(s, "gone"):
		return ui.StyleError
	case s == tracking.StatusKilled:
		return ui.StyleWarning
	}
	return ui.StyleNone
}

// runJSON is a run as the --json outputs show it: run.json's fields plus
// the directory and the live status.
type runJSON struct {
	*tracking.Run
	Dir           string `json:"dir"`
	DisplayStatus string `json:"display_status"`
}

func toJSON(r *tracking.Run) runJSON {
	return runJSON{Run: r, Dir: r.Dir(), DisplayStatus: r.DisplayStatus()}
}
