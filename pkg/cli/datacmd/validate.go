package datacmd

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/ui"
)

// ValidateOptions are the dependencies and flags of `housectl data validate`.
type ValidateOptions struct {
	IO          *ui.IOStreams
	Config      func() (*config.Loaded, error)
	File        string
	JSON        bool
	MaxProblems int
}

// NewCmdValidate returns `housectl data validate`.
func NewCmdValidate(f *cmdutil.Factory, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "validate [<file>] [--json] [--max-problems <n>]",
		Short: "Check a CSV against the schema and report every problem",
		Long: `Check a CSV file (default: data.path) against the configured schema and report
each problem with its row, line and column: missing, extra or repeated
columns, rows with the wrong number of fields, empty cells, non-numeric
cells, NaN/Inf, values outside a column's [min, max], unknown category labels
and duplicate rows (schema.duplicates says whether those are errors). The
first 100 problems of each kind are listed (--max-problems) and all are
counted, so a file with a million bad rows gives a report of a bounded size.

Exit status: 0 when there is no error (warnings allowed), 4 when the data has
errors, 1 when the file cannot be read.`,
		Example: `  housectl data validate
  housectl data validate --config configs/handson-housing.yaml ../shared/datasets/geron_housing.csv
  housectl data validate new.csv --json | jq '.counts'`,
		Args: cmdutil.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			if len(args) == 1 {
				opts.File = args[0]
			}
			if opts.MaxProblems < 0 {
				return cmdutil.FlagErrorf("--max-problems must be 0 (all) or more, got %d", opts.MaxProblems)
			}
			if runF != nil {
				return runF(opts)
			}
			return RunValidate(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	cmd.Flags().IntVar(&opts.MaxProblems, "max-problems", 100, "list at most this many problems of each kind (all are still counted); 0 lists all")
	return cmd
}

// RunValidate validates the file and prints the report.
func RunValidate(opts *ValidateOptions) error {
	l, err := opts.Config()
	if err != nil {
		return err
	}
	path := opts.File
	if path == "" {
		path = l.Config.Data.Path
	}
	rep, err := dataset.Check(path, l.Config.Schema, opts.MaxProblems)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && opts.File == "" {
			return fmt.Errorf("%s does not exist: run `housectl data fetch` first, or name the file to check", path)
		}
		return err
	}
	if opts.JSON {
		if err := ui.WriteJSON(opts.IO.Out, rep); err != nil {
			return err
		}
	} else if err := printReport(opts.IO, rep, opts.MaxProblems); err != nil {
		return err
	}
	if !rep.OK() {
		return &cmdutil.ExitError{Code: cmdutil.ExitInvalidData,
			Err: fmt.Errorf("%s failed validation: %d error(s), %d warning(s)", path, rep.Errors, rep.Warnings)}
	}
	return nil
}

func printReport(io *ui.IOStreams, rep *dataset.Report, limit int) error {
	st := io.Styles()
	if len(rep.Problems) > 0 {
		t := &ui.Table{Headers: []string{"ROW", "LINE", "COLUMN", "KIND", "SEVERITY", "VALUE", "PROBLEM"}}
		for _, p := range rep.Problems {
			t.Append(num(p.Row), num(p.Line), p.Column, p.Kind, p.Severity, p.Value, p.Message)
		}
		t.CellStyle = func(row, col int) ui.StyleName {
			switch {
			case col != 4:
				return ui.StyleNone
			case rep.Problems[row].Severity == dataset.SeverityError:
				return ui.StyleError
			}
			return ui.StyleWarning
		}
		if err := t.Render(io); err != nil {
			return err
		}
	}
	summary := fmt.Sprintf("%s: %s", rep.File, rep.Summary())
	if rep.Truncated {
		summary += fmt.Sprintf(" (listed %d, the first %d of each kind; --max-problems 0 lists all)", len(rep.Problems), limit)
	}
	switch {
	case !rep.OK():
		summary = st.Error.Render("✗") + " " + summary
	case rep.Warnings > 0:
		summary = st.Warning.Render("!") + " " + summary
	default:
		summary = st.Success.Render("✓") + " " + summary
	}
	// On a terminal the summary follows the table; on a pipe stdout stays
	// pure TSV and the summary goes to stderr.
	w := io.ErrOut
	if io.IsStdoutTTY() {
		w = io.Out
	}
	if _, err := fmt.Fprintln(w, summary); err != nil {
		return err
	}
	if len(rep.Counts) > 0 && io.IsStdoutTTY() {
		for _, kind := range slices.Sorted(maps.Keys(rep.Counts)) {
			fmt.Fprintf(w, "  %-18s %d\n", kind, rep.Counts[kind])
		}
	}
	return nil
}

func num(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
