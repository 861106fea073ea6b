// Package datacmd implements the `housectl data` verbs.
package datacmd

import (
	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
)

// NewCmdData groups the data verbs.
func NewCmdData(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data <command>",
		Short: "Fetch, validate and version the training data (DVC-compatible)",
		Example: `  housectl data fetch
  housectl data validate
  housectl data status`,
	}
	cmd.AddCommand(NewCmdFetch(f, nil), NewCmdValidate(f, nil), NewCmdSchema(f),
		NewCmdHash(f, nil), NewCmdAdd(f, nil), NewCmdStatus(f, nil), NewCmdCheckout(f, nil),
		NewCmdRemote(f), NewCmdPush(f, nil), NewCmdPull(f, nil))
	return cmd
}
