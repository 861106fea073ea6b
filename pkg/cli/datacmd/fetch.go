package datacmd

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/data"
	"github.com/housectl/housectl/pkg/dvc"
	"github.com/housectl/housectl/pkg/ui"
)

// FetchOptions are the dependencies and flags of `housectl data fetch`.
type FetchOptions struct {
	IO         *ui.IOStreams
	Config     func() (*config.Loaded, error)
	HTTPClient func() *http.Client
	Context    context.Context
	JSON       bool
}

// NewCmdFetch returns `housectl data fetch`.
func NewCmdFetch(f *cmdutil.Factory, runF func(*FetchOptions) error) *cobra.Command {
	opts := &FetchOptions{IO: f.IOStreams, HTTPClient: f.HTTPClient}
	cmd := &cobra.Command{
		Use:   "fetch [--url <url>] [--json]",
		Short: "Download, verify and extract cal_housing.tgz and derive data/california.csv",
		Long: `Download the California Housing archive, verify its SHA-256 before use,
extract it safely and derive scikit-learn's frame into data.path:

  MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude,
  Longitude and the target MedHouseVal; 20,640 rows, values equal to
  sklearn.datasets.fetch_california_housing's to full float64 precision.

The source is data.url: http, https (redirects are followed) or file:// for an
offline mirror; --url or HOUSECTL_DATA_URL override it. Transient failures
(network errors, HTTP 5xx/429, a truncated body) are retried with exponential
backoff. A checksum mismatch exits with code 3 and keeps nothing. A second run
with everything in place downloads nothing and says it is up to date.`,
		Example: `  housectl data fetch
  housectl data fetch --url file:///srv/mirror/cal_housing.tgz
  HOUSECTL_DATA_URL=file://$PWD/../shared/datasets/cal_housing.tgz housectl data fetch --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return RunFetch(opts)
		},
	}
	fl := cmd.Flags()
	fl.String("url", "", "download from this http, https or file URL (data.url)")
	fl.String("sha256", "", "expected SHA-256 of the archive (data.sha256)")
	fl.Duration("timeout", 0, "time limit for one download attempt (data.timeout)")
	fl.Int("retries", 0, "retries after a transient failure (data.retries)")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	cmdutil.BindConfigFlag(cmd, "url", "data.url")
	cmdutil.BindConfigFlag(cmd, "sha256", "data.sha256")
	cmdutil.BindConfigFlag(cmd, "timeout", "data.timeout")
	cmdutil.BindConfigFlag(cmd, "retries", "data.retries")
	return cmd
}

// RunFetch fetches the data.
func RunFetch(opts *FetchOptions) error {
	l, err := opts.Config()
	if err != nil {
		return err
	}
	c := l.Config.Data
	start := time.Now()
	res, err := data.Fetch(opts.Context, data.FetchOptions{
		URL:            c.URL,
		SHA256:         c.SHA256,
		Archive:        c.Archive,
		RawDir:         c.RawDir,
		Path:           c.Path,
		Timeout:        c.Timeout,
		Retries:        c.Retries,
		RetryBackoff:   c.RetryBackoff,
		MaxMemberBytes: c.MaxMemberBytes,
		Client:         opts.HTTPClient(),
		UserAgent:      cmdutil.UserAgent(),
		NewProgress: func(total int64, desc string) data.Progress {
			return opts.IO.NewByteProgress(total, desc)
		},
		Notify: func(msg string) { fmt.Fprintln(opts.IO.ErrOut, msg) },
		Seed:   uint64(start.UnixNano()),
	})
	if err != nil {
		return err
	}
	tracked, err := data.Track(opts.Context, c.Path, func(msg string) { fmt.Fprintln(opts.IO.ErrOut, msg) })
	if err != nil {
		return err
	}
	if opts.JSON {
		return ui.WriteJSON(opts.IO.Out, struct {
			*data.FetchResult
			Tracked *dvc.AddResult `json:"tracked,omitempty"`
		}{res, tracked})
	}
	st := opts.IO.Styles()
	if res.UpToDate {
		fmt.Fprintf(opts.IO.Out, "%s %s (%d rows) is up to date\n", st.Success.Render("✓"), res.Path, res.Rows)
		return nil
	}
	for _, w := range res.Written {
		fmt.Fprintf(opts.IO.Out, "%s %s\n", st.Success.Render("wrote"), w)
	}
	if tracked != nil && tracked.Changed {
		fmt.Fprintf(opts.IO.Out, "%s %s (md5 %s) in %s\n", st.Success.Render("tracked"), tracked.Path, tracked.MD5, tracked.DvcFile)
	}
	fmt.Fprintf(opts.IO.Out, "%s %s: %d rows, %d columns, from sha256-verified %s (%s)\n",
		st.Success.Render("✓"), res.Path, res.Rows, len(data.CaliforniaColumns), res.Archive, time.Since(start).Round(time.Millisecond))
	return nil
}
