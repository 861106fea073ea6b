// Package predictcmd implements `housectl predict`.
package predictcmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/atomicfile"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/input"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the dependencies and flags of `housectl predict`.
type Options struct {
	IO     *ui.IOStreams
	Config func() (*config.Loaded, error)
	// Stores opens the run store and the registry (cmdutil.Stores).
	Stores func(*config.Loaded) (*tracking.Store, *registry.Registry, error)
	Run    string
	Input  string
	Output string
	Format string // csv or json (lines)
}

// NewCmdPredict returns `housectl predict`.
func NewCmdPredict(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "predict --run {<run>|models:/<name>@<alias>|models:/<name>/<version>} [--input <file>] [--output <file>] [--format {csv|json}]",
		Short: "Predict a CSV or JSON-lines file with a trained model",
		Long: `Predict every row of --input (CSV with a header, or JSON lines: one object
per line; "-" or nothing reads standard input as CSV) with the model of a run
(its id, a unique id prefix, or its name) or of a registered version
(models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest). Input columns are matched to the
model's features by name; other columns are passed through. A missing
feature, or a cell that is empty, non-numeric, NaN or infinite, is an error
naming its row and column (exit 4), and nothing is written; for a feature the
schema made nullable, an empty cell (or null, NaN, an absent key) is a missing
value, which the model handles as it learned to.

The output (--output, else standard output) has the input's columns and a
prediction column, as CSV or JSON lines (--format, default: the input's).
The model file's SHA-256 is checked against the run's (or the registry's)
record first.`,
		Example: `  housectl predict --run gradient_boosting --input new.csv --output scored.csv
  housectl predict --run 20261128T1342 --input rows.jsonl --format json
  housectl predict --run models:/california@production --input new.csv`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			opts.Stores = func(l *config.Loaded) (*tracking.Store, *registry.Registry, error) {
				return cmdutil.Stores(cmd.Context(), f, l)
			}
			if opts.Run == "" {
				return cmdutil.FlagErrorf("--run is required: name the run whose model predicts")
			}
			if opts.Format != "" && opts.Format != "csv" && opts.Format != "json" {
				return cmdutil.FlagErrorf("--format must be csv or json, got %q", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Run, "run", "", "run id, unique id prefix or name, or a models:/ URI")
	cmd.Flags().StringVarP(&opts.Input, "input", "i", "-", "input file: .csv, or .jsonl/.ndjson/.json for JSON lines; - for stdin (CSV)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output file (default: standard output)")
	cmd.Flags().StringVar(&opts.Format, "format", "", "output format: csv or json (default: the input's)")
	return cmd
}

// table is the parsed input: column names and rows of raw cells (the
// output echoes them), and, for JSON lines, each line as read.
type table struct {
	cols  []string
	rows  [][]string
	lines [][]byte
	json  bool
}

func isJSONName(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".jsonl", ".ndjson", ".json":
		return true
	}
	return false
}

func readInput(r io.Reader, jsonLines bool) (*table, error) {
	r = dataset.SkipBOM(r) // as a spreadsheet saves it
	if !jsonLines {
		cr := csv.NewReader(r)
		recs, err := cr.ReadAll()
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if len(recs) == 0 {
			return nil, errors.New("input is empty: it needs a header row")
		}
		return &table{cols: recs[0], rows: recs[1:]}, nil
	}
	t := &table{json: true}
	index := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return nil, fmt.Errorf("input line %d: not a JSON object: %w", line, err)
		}
		row := make([]string, len(t.cols))
		for k, v := range obj {
			i, ok := index[k]
			if !ok {
				i = len(t.cols)
				index[k] = i
				t.cols = append(t.cols, k)
				for j := range t.rows {
					t.rows[j] = append(t.rows[j], "")
				}
				row = append(row, "")
			}
			row[i] = string(v)
		}
		t.rows = append(t.rows, row)
		t.lines = append(t.lines, bytes.Clone(b))
	}
	return t, sc.Err()
}

// matrix validates the rows by the same policy as the server (package
// input: numbers, finite, within each feature's range) and builds the
// model's input. Columns that are not features are carried along.
func matrix(t *table, s *input.Schema) (model.Matrix, error) {
	var missing []string
	for _, f := range s.Features {
		if !slices.Contains(t.cols, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return model.Matrix{}, fmt.Errorf("%w: the model needs column(s) %s, which the input lacks (it has %s)",
			dataset.ErrInvalid, strings.Join(missing, ", "), strings.Join(t.cols, ", "))
	}
	tab := input.NewTable(s, max(len(t.rows), 1))
	tab.AllowExtra = true
	var err error
	if t.json {
		for i := 0; i < len(t.lines) && err == nil; i++ {
			err = tab.Object(input.NewJSON(t.lines[i]), "row", i+1)
		}
	} else {
		idx, _ := tab.Header(t.cols, "header")
		for i := 0; i < len(t.rows) && err == nil; i++ {
			err = tab.TextRow(t.rows[i], t.cols, idx, "row", i+1)
		}
	}
	if err != nil {
		return model.Matrix{}, fmt.Errorf("%w: %w", dataset.ErrInvalid, err)
	}
	X, err := tab.Done()
	var ie *input.InvalidError
	if errors.As(err, &ie) {
		lines := make([]string, 0, min(len(ie.Problems), 20))
		for _, p := range ie.Problems[:min(len(ie.Problems), 20)] {
			lines = append(lines, describe(p))
		}
		more := ""
		if ie.Total > len(lines) {
			more = fmt.Sprintf("\n  … and %d more", ie.Total-len(lines))
		}
		return model.Matrix{}, fmt.Errorf("%w: %d bad cell(s); nothing was predicted:\n  %s%s", dataset.ErrInvalid, ie.Total, strings.Join(lines, "\n  "), more)
	}
	return X, err
}

// describe writes a problem as "row 3, column MedInc: message (value)".
func describe(p input.Problem) string {
	var where []string
	if len(p.Loc) >= 2 && p.Loc[0] == "row" {
		where = append(where, fmt.Sprintf("row %v", p.Loc[1]))
		if len(p.Loc) >= 3 {
			where = append(where, fmt.Sprintf("column %v", p.Loc[2]))
		}
	}
	msg := p.Msg
	switch in := p.Input.(type) {
	case nil:
	case string:
		if in != "" {
			msg += fmt.Sprintf(" (got %q)", in)
		}
	default:
		msg += fmt.Sprintf(" (got %v)", in)
	}
	return strings.Join(where, ", ") + ": " + msg
}

// Run predicts.
func Run(opts *Options) error {
	l, err := opts.Config()
	if err != nil {
		return err
	}
	store, g, err := opts.Stores(l)
	if err != nil {
		return err
	}
	var art *model.Artifact
	if registry.IsURI(opts.Run) {
		u, err := registry.ParseURI(opts.Run)
		if err != nil {
			return cmdutil.FlagErrorf("--run: %w", err)
		}
		v, err := g.Resolve(u)
		if err != nil {
			return err
		}
		if art, err = g.Load(context.Background(), v); err != nil {
			return err
		}
	} else if art, err = runModel(store, opts.Run); err != nil {
		return err
	}

	in := opts.IO.In
	jsonIn := false
	if opts.Input != "-" {
		f, err := os.Open(opts.Input)
		if err != nil {
			return err
		}
		defer f.Close()
		in, jsonIn = f, isJSONName(opts.Input)
	}
	t, err := readInput(in, jsonIn)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", dataset.ErrInvalid, opts.Input, err)
	}
	schema, err := input.NewSchema(art.Header, l.Config.Serve.RangeTolerance, cmdutil.Bounds(l.Config.Schema))
	if schema != nil {
		schema.UnseenMissing = l.Config.Serve.UnseenLabels == "missing"
	}
	if err != nil {
		return err
	}
	X, err := matrix(t, schema)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Input, err)
	}
	pred := make([]float64, X.Rows)
	art.Model.PredictBatch(X, pred)

	jsonOut := t.json
	if opts.Format != "" {
		jsonOut = opts.Format == "json"
	}
	var out bytes.Buffer
	if jsonOut {
		enc := json.NewEncoder(&out)
		for r, row := range t.rows {
			obj := make(map[string]any, len(t.cols)+1)
			for i, c := range t.cols {
				if i >= len(row) {
					continue
				}
				if t.json {
					if row[i] != "" {
						obj[c] = json.RawMessage(row[i])
					}
				} else if v, err := strconv.ParseFloat(row[i], 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
					obj[c] = v
				} else {
					obj[c] = row[i]
				}
			}
			obj["prediction"] = pred[r]
			if err := enc.Encode(obj); err != nil {
				return err
			}
		}
	} else {
		w := csv.NewWriter(&out)
		_ = w.Write(append(append([]string(nil), t.cols...), "prediction"))
		for r, row := range t.rows {
			cells := append([]string(nil), row...)
			if t.json { // JSON values as text: strings unquoted, null empty
				for i, c := range cells {
					var str string
					if c == "null" {
						cells[i] = ""
					} else if json.Unmarshal([]byte(c), &str) == nil {
						cells[i] = str
					}
				}
			}
			_ = w.Write(append(cells, strconv.FormatFloat(pred[r], 'g', -1, 64)))
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
	}
	if opts.Output == "" {
		_, err = opts.IO.Out.Write(out.Bytes())
		return err
	}
	if err := atomicfile.WriteFile(opts.Output, out.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %d predictions to %s (model %s of %s)\n", len(pred), opts.Output, art.Header.Kind, opts.Run)
	return nil
}

// runModel loads a finished run's model, checked against the run's record.
func runModel(store *tracking.Store, ref string) (*model.Artifact, error) {
	run, err := store.Find(ref)
	if err != nil {
		return nil, err
	}
	return registry.LoadRunModel(context.Background(), store, run)
}
