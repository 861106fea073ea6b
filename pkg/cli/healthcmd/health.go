// Package healthcmd implements `housectl health`, the probe a container's
// HEALTHCHECK runs (no curl in the image).
package healthcmd

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the flags of `housectl health`.
type Options struct {
	IO      *ui.IOStreams
	Config  func() (*config.Loaded, error)
	Context context.Context
	URL     string
	Timeout time.Duration
	Client  func() *http.Client
}

// NewCmdHealth returns `housectl health`.
func NewCmdHealth(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.HTTPClient}
	cmd := &cobra.Command{
		Use:   "health [--url <url>] [--timeout <duration>]",
		Short: "Probe a running housectl serve: exit 0 when it is ready",
		Long: `GET the server's /ready (default: http://<serve.addr>/ready) and exit 0 on a
200, 1 otherwise, printing why. Meant for Docker's HEALTHCHECK and other
probes where no curl is at hand.`,
		Example: `  housectl health
  housectl health --url http://127.0.0.1:8080/health --timeout 2s`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			opts.Context = cmd.Context()
			if opts.Timeout <= 0 {
				return cmdutil.FlagErrorf("--timeout must be positive, got %s", opts.Timeout)
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().StringVar(&opts.URL, "url", "", "URL to probe (default: http://<serve.addr>/ready)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}

// Run probes the server.
func Run(opts *Options) error {
	url := opts.URL
	if url == "" {
		l, err := opts.Config()
		if err != nil {
			return err
		}
		addr := l.Config.Serve.Addr
		if strings.HasPrefix(addr, ":") || strings.HasPrefix(addr, "0.0.0.0:") {
			addr = "127.0.0.1" + addr[strings.LastIndexByte(addr, ':'):]
		}
		url = "http://" + addr + "/ready"
	}
	ctx, cancel := context.WithTimeout(opts.Context, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return cmdutil.FlagErrorf("--url: %w", err)
	}
	resp, err := opts.Client().Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(opts.IO.Out, "healthy: %s\n", strings.TrimSpace(string(body)))
	return nil
}
