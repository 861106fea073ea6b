package datacmd

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
)

// NewCmdSchema returns `housectl data schema`.
func NewCmdSchema(f *cmdutil.Factory) *cobra.Command {
	var target, configPath string
	var write bool
	var maxCats int
	cmd := &cobra.Command{
		Use:   "schema <file.csv> --target <column> [--write] [--max-categories N]",
		Short: "Propose the schema section for a CSV: types, nullable, ranges, categories",
		Long: `Read a CSV (a header row, then rows; quoted fields, CRLF line ends and a
UTF-8 byte-order mark are fine) and propose its schema: each column a number,
with the range it has, or a category, with its labels (the most frequent
first); nullable where a cell is empty. Columns that are empty throughout,
constant, or look like an id or free text are proposed with ignore: true and a
warning on standard error: they stay in the file but are no feature.

The YAML goes to standard output, ready to paste into the configuration, or
--write puts it into the configuration file (--config, HOUSECTL_CONFIG, else
configs/housectl.yaml), replacing its schema section and keeping the rest.
Check the ranges: they are what this file holds, and the server refuses values
far outside a model's training range anyway (serve.range_tolerance).`,
		Example: `  housectl data schema ../shared/datasets/geron_housing.csv --target median_house_value
  housectl data schema sales.csv --target revenue --write`,
		Args: cmdutil.ExactArgs(1, "the CSV file to read"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return cmdutil.FlagErrorf("--target is required: the column to predict")
			}
			file, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer file.Close()
			inf, err := dataset.Infer(file, dataset.InferOptions{Target: target, MaxCategories: maxCats, Name: args[0]})
			if err != nil {
				return &cmdutil.ExitError{Code: 4, Err: err}
			}
			for _, w := range inf.Warnings {
				fmt.Fprintln(f.IOStreams.ErrOut, "warning: "+w)
			}
			if !write {
				y, err := config.SchemaYAML(inf.Schema)
				if err != nil {
					return err
				}
				fmt.Fprintf(f.IOStreams.Out, "# %s: %d rows, %d columns; proposed by housectl data schema\n", args[0], inf.Rows, len(inf.Schema.Columns))
				_, err = f.IOStreams.Out.Write(y)
				return err
			}
			return writeSchema(f, cmd, configPath, inf)
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "the column to predict (required)")
	cmd.Flags().BoolVar(&write, "write", false, "write the schema into the configuration file instead of printing it")
	cmd.Flags().IntVar(&maxCats, "max-categories", 50, "most distinct labels a text column may have to be a category")
	cmd.Flags().StringVar(&configPath, "config-file", "", "the configuration file --write edits (default: --config, HOUSECTL_CONFIG, else configs/housectl.yaml)")
	return cmd
}

// writeSchema puts the schema into the configuration file, and checks
// that the result loads.
func writeSchema(f *cmdutil.Factory, _ *cobra.Command, path string, inf *dataset.Inferred) error {
	if path == "" {
		path = f.ConfigPath
	}
	if path == "" {
		if v, ok := f.LookupEnv("HOUSECTL_CONFIG"); ok && v != "" {
			path = v
		}
	}
	if path == "" {
		path = config.DefaultPath
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: run housectl init first, or give the file with --config", err)
	}
	data, err := config.WithSchema(old, inf.Schema)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := config.LoadReader(bytes.NewReader(data), path, config.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }}); err != nil {
		return fmt.Errorf("the schema would make %s invalid, so it was not written: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	st := f.IOStreams.Styles()
	fmt.Fprintf(f.IOStreams.Out, "%s the schema of %d columns into %s (target %s)\n", st.Success.Render("wrote"), len(inf.Schema.Columns), path, inf.Schema.Target)
	return nil
}
