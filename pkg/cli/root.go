// Package cli is housectl's command layer: the root command, the global
// flags, and the one function that maps errors to exit codes. Nothing
// imports it but cmd/housectl.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/buildinfo"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/cli/configcmd"
	"github.com/housectl/housectl/pkg/cli/datacmd"
	"github.com/housectl/housectl/pkg/cli/healthcmd"
	"github.com/housectl/housectl/pkg/cli/initcmd"
	"github.com/housectl/housectl/pkg/cli/modelscmd"
	"github.com/housectl/housectl/pkg/cli/monitorcmd"
	"github.com/housectl/housectl/pkg/cli/pipelinecmd"
	"github.com/housectl/housectl/pkg/cli/predictcmd"
	"github.com/housectl/housectl/pkg/cli/predictionscmd"
	"github.com/housectl/housectl/pkg/cli/runscmd"
	"github.com/housectl/housectl/pkg/cli/servecmd"
	"github.com/housectl/housectl/pkg/cli/traincmd"
	"github.com/housectl/housectl/pkg/cli/uicmd"
	"github.com/housectl/housectl/pkg/cli/version"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/data"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/dvc"
	"github.com/housectl/housectl/pkg/exitcode"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/model/all"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/train"
)

const exitCodesHelp = `Exit status:
  0    success (an empty result is a success)
  1    the command failed
  2    usage: a bad flag, argument, configuration or model parameter
  3    integrity: a checksum mismatch; a corrupt archive, cache object, model or registry file
  4    the data failed validation
  5    a gate failed: runs compare --fail-if/--max-regression, models promote --if-better;
       monitor compare found the challenger worse
  6    a monitoring alert: monitor drift found drift at or above monitor.*_alert
  7    object storage refused the credentials or the permission
  8    object storage has no such bucket
  9    object storage could not be reached (endpoint, network): retry later
  10   monitor compare could not decide yet: more rows with feedback are needed
  130  interrupted (Ctrl-C or SIGTERM); nothing half-written is left behind`

// Runs recorded before params were text are read with their kind's
// parameter types (tracking.ParamTypes).
func init() { tracking.ParamTypes = all.DefaultParams }

// NewCmdRoot returns the root command with every verb attached.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	info := buildinfo.Get()
	cmd := &cobra.Command{
		Use:   "housectl <command> [flags]",
		Short: "MLOps for tabular models in one binary",
		Long: `housectl runs the whole loop for a tabular regression model — fetch, version,
validate, train, track, compare, register, serve, monitor — from one binary,
one config file (configs/housectl.yaml) and one experiments/ directory.

Configuration precedence: flags > HOUSECTL_* environment > config file > defaults.

` + exitCodesHelp,
		Example: `  housectl init
  housectl pipeline run
  housectl runs compare gradient_boosting random_forest
  housectl models show california
  housectl serve
  housectl monitor drift --since 24h`,
		Version:       info.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetVersionTemplate("housectl {{.Version}}\n")
	cmd.PersistentFlags().StringVar(&f.ConfigPath, "config", "",
		"config file (default: $HOUSECTL_CONFIG, else "+config.DefaultPath+" if it exists)")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: err}
	})
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.CompletionOptions.HiddenDefaultCmd = true

	cmd.AddCommand(
		version.NewCmdVersion(f, nil),
		initcmd.NewCmdInit(f, nil),
		configcmd.NewCmdConfig(f),
		datacmd.NewCmdData(f),
		traincmd.NewCmdTrain(f, nil),
		predictcmd.NewCmdPredict(f, nil),
		runscmd.NewCmdRuns(f),
		modelscmd.NewCmdModels(f),
		servecmd.NewCmdServe(f, nil),
		uicmd.NewCmdUI(f, nil),
		healthcmd.NewCmdHealth(f, nil),
		pipelinecmd.NewCmdPipeline(f),
		monitorcmd.NewCmdMonitor(f),
		predictionscmd.NewCmdPredictions(f),
	)
	refuseUnknownSubcommands(cmd)
	return cmd
}

// refuseUnknownSubcommands makes every command group (a command that has
// subcommands and no action of its own) refuse an argument that names no
// subcommand, as a usage error (exit 2): cobra would print the group's help
// and exit 0, so that `housectl data remote modfy` in a script would seem
// to succeed. With no argument a group prints its help.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknownSubcommands(c)
	}
	if !cmd.HasSubCommands() || cmd.Run != nil || cmd.RunE != nil || !cmd.HasParent() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		var names []string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		msg := fmt.Sprintf("unknown command %q for %q; the commands are %s", args[0], c.CommandPath(), strings.Join(names, ", "))
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2
		}
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
		return cmdutil.FlagErrorf("%s", msg)
	}
}

// Main runs housectl with the process's arguments and returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, cmdutil.New(), os.Args[1:])
}

// Run executes one command line and returns its exit code, printing any
// error to the factory's stderr.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	code := ExitCode(ctx, err)
	st := f.IOStreams.Styles()
	var exitErr *cmdutil.ExitError
	switch {
	case errors.As(err, &exitErr) && exitErr.Err == nil:
		// The command already said all there is (status -q says nothing).
	case code == cmdutil.ExitInterrupted:
		fmt.Fprintln(f.IOStreams.ErrOut, "interrupted; nothing half-written was left behind")
	default:
		fmt.Fprintf(f.IOStreams.ErrOut, "%s %s\n", st.Error.Render("Error:"), err)
		if code == cmdutil.ExitUsage && !isConfigError(err) {
			fmt.Fprintf(f.IOStreams.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return code
}

func isConfigError(err error) bool {
	var ce *config.Error
	return errors.As(err, &ce)
}

// ExitCode maps an error to housectl's documented exit codes. It is the only
// place that does.
func ExitCode(ctx context.Context, err error) int {
	var (
		exitErr  *cmdutil.ExitError
		flagErr  *cmdutil.FlagError
		inputErr *train.InputError
		coder    exitcode.Coder
	)
	switch {
	case err == nil:
		return cmdutil.ExitOK
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return cmdutil.ExitInterrupted
	case errors.As(err, &exitErr):
		return exitErr.Code
	case errors.As(err, &coder):
		return coder.ExitCode()
	case errors.As(err, &flagErr), isConfigError(err), isCobraUsage(err):
		return cmdutil.ExitUsage
	case errors.Is(err, data.ErrIntegrity), errors.Is(err, dvc.ErrCorrupt), errors.Is(err, model.ErrCorrupt), isRegistryCorrupt(err):
		return cmdutil.ExitIntegrity
	case errors.Is(err, dataset.ErrInvalid):
		return cmdutil.ExitInvalidData
	case errors.As(err, &inputErr):
		return cmdutil.ExitUsage
	}
	return cmdutil.ExitFailure
}

func isRegistryCorrupt(err error) bool {
	var ce *registry.CorruptError
	var te *tracking.CorruptError
	return errors.As(err, &ce) || errors.As(err, &te)
}

// isCobraUsage recognises the usage errors cobra returns as plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command ") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.Contains(msg, "requires at least") ||
		strings.Contains(msg, "accepts at most")
}
