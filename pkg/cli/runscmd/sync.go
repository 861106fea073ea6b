package runscmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/bucket"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/ui"
)

// SyncOptions are the flags of `housectl runs push` and `runs pull`.
type SyncOptions struct {
	IO   *ui.IOStreams
	URL  string
	Jobs int
	JSON bool
}

// NewCmdPush returns `housectl runs push`.
func NewCmdPush(f *cmdutil.Factory) *cobra.Command { return newSyncCmd(f, true) }

// NewCmdPull returns `housectl runs pull`.
func NewCmdPull(f *cmdutil.Factory) *cobra.Command { return newSyncCmd(f, false) }

func newSyncCmd(f *cmdutil.Factory, push bool) *cobra.Command {
	opts := &SyncOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "push <s3://bucket/prefix> [--json]",
		Short: "Copy the finished runs and the registry to object storage",
		Long: `Copy every finished run (run.json, its artifacts and history) and the
registry (versions and aliases) of the experiments directory to an S3
bucket, under the same paths: a team that started local moves its state to
shared storage. Each file is created once, artifacts before their run.json
and versions before the aliases, so a reader never sees a run or a model
before its parts. A file the bucket already holds equal is left; one it
holds different is a conflict, reported and left as it is (exit 1).
RUNNING runs are skipped. Credentials and endpoint come the AWS way
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_PROFILE).`,
		Example: `  housectl runs push s3://ml-team/housectl
  housectl runs pull s3://ml-team/housectl`,
		Args: cmdutil.ExactArgs(1, "the bucket's URL, s3://BUCKET/PREFIX"),
	}
	if !push {
		cmd.Use = "pull <s3://bucket/prefix> [--json]"
		cmd.Short = "Copy runs and the registry from object storage into the experiments directory"
		cmd.Long = `The reverse of runs push: copy the runs and the registry of an S3 bucket into
the experiments directory, under the same paths, each download checked
against the bucket's MD5. A file the directory already holds equal is left;
one it holds different is a conflict, reported and left as it is (exit 1).`
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		opts.URL = args[0]
		if !bucket.IsURL(opts.URL) {
			return cmdutil.FlagErrorf("%q is not an S3 URL: write s3://BUCKET/PREFIX", opts.URL)
		}
		l, err := f.Config(cmd)
		if err != nil {
			return err
		}
		// The local runs, even when tracking.uri names a bucket: this is
		// how they get there.
		dir := l.Config.Store()
		if bucket.IsURL(dir) {
			dir = l.Config.Experiments.Dir
		}
		b, err := bucket.Open(cmd.Context(), opts.URL, bucket.Options{Jobs: opts.Jobs, EndpointURL: l.Config.Tracking.S3EndpointURL})
		if err != nil {
			return err
		}
		jobs := max(opts.Jobs, 8)
		var res *tracking.SyncResult
		if push {
			res, err = tracking.PushTree(cmd.Context(), dir, b, jobs)
		} else {
			res, err = tracking.PullTree(cmd.Context(), b, dir, jobs)
		}
		if err != nil {
			return err
		}
		if opts.JSON {
			if err := ui.WriteJSON(opts.IO.Out, res); err != nil {
				return err
			}
		} else {
			verb := "pushed to"
			if !push {
				verb = "pulled from"
			}
			fmt.Fprintf(opts.IO.Out, "%d file(s) %s %s, %d already there", res.Copied, verb, res.URL, res.Same)
			if len(res.Skipped) > 0 {
				fmt.Fprintf(opts.IO.Out, "; %d RUNNING run(s) skipped", len(res.Skipped))
			}
			fmt.Fprintln(opts.IO.Out)
		}
		if len(res.Conflicts) > 0 {
			return fmt.Errorf("%d file(s) differ between %s and %s, left as they are: %s", len(res.Conflicts), dir, res.URL, strings.Join(res.Conflicts, ", "))
		}
		return nil
	}
	cmd.Flags().IntVarP(&opts.Jobs, "jobs", "j", 0, "files copied at once (default 8)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}
