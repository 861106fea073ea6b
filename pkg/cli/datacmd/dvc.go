package datacmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/dvc"
	"github.com/housectl/housectl/pkg/ui"
)

// DVCOptions are the dependencies every versioning verb shares.
type DVCOptions struct {
	IO      *ui.IOStreams
	Context context.Context
	Repo    func() (*dvc.Repo, error)
	Jobs    int
	JSON    bool
}

func newDVCOptions(f *cmdutil.Factory) *DVCOptions {
	return &DVCOptions{IO: f.IOStreams, Repo: func() (*dvc.Repo, error) { return dvc.Find(".") }}
}

func (o *DVCOptions) bind(cmd *cobra.Command, json bool) {
	cmd.Flags().IntVarP(&o.Jobs, "jobs", "j", 0, "parallel jobs (default: as DVC, from the CPU count)")
	if json {
		cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	}
}

func (o *DVCOptions) check(cmd *cobra.Command) error {
	o.Context = cmd.Context()
	if o.Jobs < 0 {
		return cmdutil.FlagErrorf("--jobs must be positive, got %d", o.Jobs)
	}
	return nil
}

// NewCmdHash returns `housectl data hash`.
func NewCmdHash(f *cmdutil.Factory, runF func(*DVCOptions, []string) error) *cobra.Command {
	opts := newDVCOptions(f)
	cmd := &cobra.Command{
		Use:   "hash <path>... [--json]",
		Short: "Print DVC 3's hash of files and directories",
		Long: `Print the id DVC 3 gives each path: the md5 of a file's raw bytes, or for a
directory the md5 of its JSON manifest followed by .dir. Inside a DVC
repository .dvcignore is honoured. Files are hashed in parallel; nothing is
cached or written.`,
		Example: `  housectl data hash data/california.csv
  housectl data hash data/raw --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts, args)
			}
			return runHash(opts, args)
		},
	}
	opts.bind(cmd, true)
	return cmd
}

type hashResult struct {
	Path   string `json:"path"`
	MD5    dvc.ID `json:"md5"`
	Size   int64  `json:"size"`
	NFiles *int   `json:"nfiles,omitempty"`
}

func runHash(opts *DVCOptions, args []string) error {
	var h *dvc.Hasher
	if r, err := opts.Repo(); err == nil {
		h = &dvc.Hasher{Root: r.Root, Ignore: r.Ignore, Jobs: opts.Jobs}
	} else {
		h = &dvc.Hasher{Root: ".", Jobs: opts.Jobs}
	}
	var out []hashResult
	for _, p := range args {
		res, err := hashPath(opts.Context, h, p)
		if err != nil {
			return err
		}
		out = append(out, res)
	}
	if opts.JSON {
		return ui.WriteJSON(opts.IO.Out, out)
	}
	for _, r := range out {
		fmt.Fprintf(opts.IO.Out, "%s  %s\n", r.MD5, r.Path)
	}
	return nil
}

func hashPath(ctx context.Context, h *dvc.Hasher, p string) (hashResult, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return hashResult{}, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return hashResult{}, err
	}
	if !fi.IsDir() {
		fh, err := h.File(abs)
		return hashResult{Path: p, MD5: fh.ID, Size: fh.Size}, err
	}
	t, err := h.Dir(ctx, abs)
	if err != nil {
		return hashResult{}, err
	}
	n := t.NFiles
	return hashResult{Path: p, MD5: t.ID, Size: t.Size, NFiles: &n}, nil
}
