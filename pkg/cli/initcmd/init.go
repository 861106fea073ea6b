// Package initcmd implements `housectl init`.
package initcmd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/configs"
	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/dvc"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the dependencies and flags of `housectl init`.
type Options struct {
	IO    *ui.IOStreams
	Dir   string
	Force bool
	// FromCSV and Target scaffold the project around a CSV of one's own.
	FromCSV string
	Target  string
}

// NewCmdInit returns `housectl init`.
func NewCmdInit(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "init [<dir>] [--force]",
		Short: "Scaffold a new project: config, experiments/ and ignore files",
		Long: `Scaffold a housectl project in <dir> (default: the current directory):

  configs/housectl.yaml  the documented default configuration
  experiments/           where runs and the model registry go
  .gitignore             keeps the downloaded archive and raw files out of git
  .dvc/, .dvcignore      a DVC repository, as ` + "`dvc init`" + ` makes it

The config is never overwritten unless --force is given; DVC's files are
written only when missing; .gitignore lines are merged, never removed.`,
		Example: `  housectl init
  housectl init my-model && cd my-model && housectl data fetch
  housectl init --from-csv sales.csv --target revenue   # any CSV: schema, data.path, model name`,
		Args: cmdutil.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if (opts.FromCSV == "") != (opts.Target == "") {
				return cmdutil.FlagErrorf("--from-csv and --target go together: the CSV and the column to predict")
			}
			opts.Dir = "."
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "overwrite existing files")
	cmd.Flags().StringVar(&opts.FromCSV, "from-csv", "", "scaffold around this CSV: its schema proposed (as housectl data schema does), data.path, the model's name")
	cmd.Flags().StringVar(&opts.Target, "target", "", "with --from-csv: the column to predict")
	return cmd
}

// gitignoreLines keep fetched and derived data out of git; DVC files track it.
var gitignoreLines = []string{
	"# housectl: data is versioned by content (.dvc files), not by git",
	"/data/cal_housing.tgz",
	"/data/raw/",
}

// Run scaffolds the project.
func Run(opts *Options) error {
	cfg := configs.Default
	var warnings []string
	if opts.FromCSV != "" {
		var err error
		if cfg, warnings, err = scaffold(opts); err != nil {
			return err
		}
	}
	files := []struct {
		path string
		data []byte
	}{
		{filepath.Join(opts.Dir, filepath.FromSlash(config.DefaultPath)), cfg},
	}
	if !opts.Force {
		var exist []string
		for _, f := range files {
			if _, err := os.Stat(f.path); err == nil {
				exist = append(exist, f.path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("%s already exist(s); nothing was written. Re-run with --force to overwrite", strings.Join(exist, ", "))
		}
	}
	var created []string
	for _, f := range files {
		if err := atomicfile.WriteFile(f.path, f.data, 0o644); err != nil {
			return err
		}
		created = append(created, f.path)
	}
	dvcFiles, err := dvc.Init(opts.Dir)
	if err != nil {
		return err
	}
	created = append(created, dvcFiles...)
	exp := filepath.Join(opts.Dir, "experiments")
	if err := os.MkdirAll(exp, 0o755); err != nil {
		return err
	}
	keep := filepath.Join(exp, ".gitkeep")
	if _, err := os.Stat(keep); errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.WriteFile(keep, nil, 0o644); err != nil {
			return err
		}
		created = append(created, exp+string(filepath.Separator))
	}
	gi := filepath.Join(opts.Dir, ".gitignore")
	added, err := mergeLines(gi, gitignoreLines)
	if err != nil {
		return err
	}
	if added {
		created = append(created, gi)
	}
	st := opts.IO.Styles()
	for _, c := range created {
		fmt.Fprintf(opts.IO.Out, "%s %s\n", st.Success.Render("wrote"), c)
	}
	for _, w := range warnings {
		fmt.Fprintln(opts.IO.ErrOut, "warning: "+w)
	}
	next := "housectl data fetch"
	if opts.FromCSV != "" {
		next = "housectl data validate && housectl train --register " + modelName(opts.FromCSV) + " --promote production"
	}
	if filepath.Clean(opts.Dir) == "." {
		fmt.Fprintln(opts.IO.ErrOut, "Next: "+next)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "Next: cd %s && %s\n", opts.Dir, next)
	}
	return nil
}

// modelName is a registered model name made from a file's name.
func modelName(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	b := []byte(base)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	name := strings.Trim(string(b), "_.-")
	if name == "" || len(name) > 64 {
		return "model"
	}
	return name
}

// scaffold makes the configuration of a project around the CSV: its
// schema proposed, data.path pointing at it (relative to the project when
// inside it), the model named after it.
func scaffold(opts *Options) ([]byte, []string, error) {
	f, err := os.Open(opts.FromCSV)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	inf, err := dataset.Infer(f, dataset.InferOptions{Target: opts.Target, Name: opts.FromCSV})
	if err != nil {
		return nil, nil, &cmdutil.ExitError{Code: 4, Err: err}
	}
	path := opts.FromCSV
	absDir, err1 := filepath.Abs(opts.Dir)
	absCSV, err2 := filepath.Abs(opts.FromCSV)
	if err1 == nil && err2 == nil {
		path = absCSV
		if rel, err := filepath.Rel(absDir, absCSV); err == nil && filepath.IsLocal(rel) {
			path = filepath.ToSlash(rel)
		}
	}
	data, err := config.Scaffold(configs.Default, config.Scaffolding{DataPath: path, Name: modelName(opts.FromCSV), Schema: inf.Schema})
	if err != nil {
		return nil, nil, err
	}
	if _, err := config.LoadReader(bytes.NewReader(data), "the scaffolded configuration", config.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }}); err != nil {
		return nil, nil, fmt.Errorf("the configuration for %s would be invalid, so nothing was written: %w", opts.FromCSV, err)
	}
	return data, inf.Warnings, nil
}

// mergeLines appends the lines missing from the file at path (creating
// it), keeping everything already there. It reports whether it wrote.
func mergeLines(path string, lines []string) (bool, error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(old), "\n") {
		have[strings.TrimSpace(l)] = true
	}
	var b bytes.Buffer
	b.Write(old)
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		b.WriteByte('\n')
	}
	n := b.Len()
	for _, l := range lines {
		if !have[l] {
			b.WriteString(l + "\n")
		}
	}
	if b.Len() == n {
		return false, nil
	}
	return true, atomicfile.WriteFile(path, b.Bytes(), 0o644)
}
