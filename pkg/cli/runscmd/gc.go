package runscmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/ui"
)

// GCOptions are the flags of `housectl runs gc`.
type GCOptions struct {
	IO         *ui.IOStreams
	Store      func() (*tracking.Store, error)
	Experiment string
}

// NewCmdGC returns `housectl runs gc`.
func NewCmdGC(f *cmdutil.Factory, runF func(*GCOptions) error) *cobra.Command {
	opts := &GCOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "gc [--experiment <name>]",
		Short: "Mark failed the RUNNING runs whose process has died",
		Long: `A run stays RUNNING if its housectl process was killed hard (SIGKILL, power
loss). runs list shows such runs as "RUNNING (process gone)"; runs gc marks
them FAILED with a note. Only processes on this host can be checked: runs
started elsewhere are left alone.`,
		Example: `  housectl runs gc`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Store = func() (*tracking.Store, error) { s, _, err := storeFor(f, cmd); return s, err }
			if runF != nil {
				return runF(opts)
			}
			store, err := opts.Store()
			if err != nil {
				return err
			}
			marked, err := store.GC(opts.Experiment)
			for _, r := range marked {
				fmt.Fprintf(opts.IO.Out, "%s\t%s\tmarked FAILED (process %d gone)\n", r.ID, r.Name, r.Lineage.PID)
			}
			if len(marked) == 0 && err == nil {
				fmt.Fprintln(opts.IO.ErrOut, "no abandoned runs")
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&opts.Experiment, "experiment", "e", "", "only this experiment (default: all)")
	return cmd
}
