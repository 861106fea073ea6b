// Package version implements `housectl version`.
package version

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/buildinfo"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the dependencies and flags of `housectl version`.
type Options struct {
	IO   *ui.IOStreams
	Info func() buildinfo.Info
	JSON bool
}

// NewCmdVersion returns the command; runF replaces the run in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Info: buildinfo.Get}
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print the version, commit, build date and Go version",
		Example: `  housectl version
  housectl version --json | jq -r .commit`,
		Args: cmdutil.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON with stable field names")
	return cmd
}

// Run prints the build information.
func Run(opts *Options) error {
	info := opts.Info()
	if opts.JSON {
		return ui.WriteJSON(opts.IO.Out, info)
	}
	modified := ""
	if info.Modified {
		modified = " (modified)"
	}
	_, err := fmt.Fprintf(opts.IO.Out, "housectl %s\ncommit:  %s%s\nbuilt:   %s\ngo:      %s %s\n",
		info.Version, info.Commit, modified, info.Date, info.GoVersion, info.Platform)
	return err
}
