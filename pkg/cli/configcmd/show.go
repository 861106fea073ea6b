// Package configcmd implements `housectl config` verbs.
package configcmd

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/ui"
)

// NewCmdConfig groups the config verbs.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config <command>",
		Short: "Inspect the effective configuration",
		Example: `  housectl config show
  HOUSECTL_DATA_RETRIES=8 housectl config show --json`,
	}
	cmd.AddCommand(NewCmdShow(f, nil))
	return cmd
}

// ShowOptions are the dependencies and flags of `housectl config show`.
type ShowOptions struct {
	IO     *ui.IOStreams
	Config func() (*config.Loaded, error)
	JSON   bool
}

// NewCmdShow returns `housectl config show`.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "show [--json]",
		Short: "Print every effective setting and where it came from",
		Long: `Print every effective setting and where it came from: a flag, a HOUSECTL_*
environment variable, the config file, or the built-in default.

Precedence, highest first: flags > environment > file > defaults.`,
		Example: `  housectl config show
  housectl --config configs/handson-housing.yaml config show --json | jq '.settings[] | select(.source.kind != "default")'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			if runF != nil {
				return runF(opts)
			}
			return RunShow(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON with stable field names")
	return cmd
}

// RunShow prints the settings.
func RunShow(opts *ShowOptions) error {
	l, err := opts.Config()
	if err != nil {
		return err
	}
	settings := l.Settings()
	for i, s := range settings {
		// A DSN may carry a password: show it without.
		if v, ok := s.Value.(string); ok && s.Key == "predictions.dsn" && v != "" {
			settings[i].Value = store.Where(v, "")
		}
	}
	if opts.JSON {
		return ui.WriteJSON(opts.IO.Out, struct {
			File     string           `json:"file"`
			Settings []config.Setting `json:"settings"`
		}{l.File, settings})
	}
	st := opts.IO.Styles()
	if opts.IO.IsStdoutTTY() {
		file := l.File
		if file == "" {
			file = "none (built-in defaults; run `housectl init` to write one)"
		}
		fmt.Fprintf(opts.IO.Out, "%s %s\n", st.Bold.Render("config file:"), file)
	}
	t := &ui.Table{Headers: []string{"KEY", "VALUE", "SOURCE"}}
	for _, s := range settings {
		t.Append(s.Key, valueText(s.Value), s.Source.String())
	}
	t.CellStyle = func(row, col int) ui.StyleName {
		switch {
		case col == 2 && settings[row].Source.Kind != config.SourceDefault:
			return ui.StyleKey
		case col == 2:
			return ui.StyleMuted
		}
		return ui.StyleNone
	}
	return t.Render(opts.IO)
}

func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case []string, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}
