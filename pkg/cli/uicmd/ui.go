// Package uicmd implements `housectl ui`.
package uicmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/promote"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/store"
	logs "github.com/housectl/housectl/pkg/store/all"
	"github.com/housectl/housectl/pkg/ui"
	"github.com/housectl/housectl/pkg/web"
)

// Options are the dependencies and flags of `housectl ui`.
type Options struct {
	IO        *ui.IOStreams
	Config    func() (*config.Loaded, error)
	LookupEnv func(string) (string, bool)
	Context   context.Context
	Factory   *cmdutil.Factory
}

// NewCmdUI returns `housectl ui`.
func NewCmdUI(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, LookupEnv: f.LookupEnv, Factory: f}
	cmd := &cobra.Command{
		Use:   "ui [--addr <host:port>] [--read-only]",
		Short: "The runs, the registry and monitoring in a browser, and MLflow's tracking API",
		Long: `Serve a web app over the same stores as the other commands (experiments.dir
or tracking.uri, the registry, the prediction log): the runs with MLflow's
filters, comparisons with charts, the registry with its alias history and
promotions, and monitoring. Everything it needs is in the binary; it works
offline.

It also serves MLflow's tracking REST API (/api/2.0/mlflow/...), so training
code instrumented with mlflow logs into housectl unchanged:

  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py

Those runs are "external" runs: listed, compared and gated like housectl's,
never served.

It listens on loopback by default (ui.addr). Any other address needs API keys
(serve.api_keys_env or serve.api_keys_file, the same as serve's): MLflow
clients send one with MLFLOW_TRACKING_TOKEN, a browser signs in once.
--read-only (ui.read_only) turns every write off.`,
		Example: `  housectl ui
  housectl ui --addr 127.0.0.1:8080 --read-only
  HOUSECTL_TRACKING_URI=s3://ml-team/housectl housectl ui`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().String("addr", "", "listen address (ui.addr; default 127.0.0.1:5000)")
	cmd.Flags().Bool("read-only", false, "turn off every write (ui.read_only)")
	cmdutil.BindConfigFlag(cmd, "addr", "ui.addr")
	cmdutil.BindConfigFlag(cmd, "read-only", "ui.read_only")
	return cmd
}

// loopback reports whether addr listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Run serves until the context ends.
func Run(opts *Options) error {
	start := time.Now()
	l, err := opts.Config()
	if err != nil {
		return err
	}
	cfg := &l.Config
	keys, err := cmdutil.APIKeys(cfg.Serve, opts.LookupEnv)
	if err != nil {
		return err
	}
	if !loopback(cfg.UI.Addr) && len(keys) == 0 {
		return cmdutil.FlagErrorf("ui.addr %s is not a loopback address: set API keys (serve.api_keys_env or serve.api_keys_file) to listen there, or use 127.0.0.1", cfg.UI.Addr)
	}
	ctx := opts.Context
	st, reg, err := cmdutil.Stores(ctx, opts.Factory, l)
	if err != nil {
		return err
	}
	var db *store.DB
	if cfg.Predictions.DSN != "" || fileExists(cfg.Predictions.Path) {
		if db, err = logs.Open(ctx, cfg.Predictions.DSN, cfg.Predictions.Path); err != nil {
			return err
		}
		defer db.Close()
	}
	logger := slog.New(slog.NewJSONHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o := web.Options{Store: st, Registry: reg, ReadOnly: cfg.UI.ReadOnly, RefreshEvery: cfg.UI.Refresh, APIKeys: keys, Logger: logger,
		Thresholds: cmdutil.Thresholds(cfg.Monitor), Metric: cfg.Train.Metric,
		Promote: func(ctx context.Context, name, alias string, n int, ifBetter bool, reason string) (registry.Event, error) {
			return promote.Promote(ctx, reg, name, alias, n, promote.Options{IfBetter: ifBetter, Metric: cfg.Train.Metric, Schema: cfg.Schema, Reason: reason})
		}}
	if db != nil {
		o.Log = db
	}
	srv, err := web.New(o)
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.UI.Addr)
	if err != nil {
		return fmt.Errorf("ui.addr %s: %w", cfg.UI.Addr, err)
	}
	mode := "read-write"
	if cfg.UI.ReadOnly {
		mode = "read-only"
	}
	auth := "no API keys"
	if len(keys) > 0 {
		auth = fmt.Sprintf("%d API key(s) required", len(keys))
	}
	fmt.Fprintf(opts.IO.ErrOut, "housectl ui on http://%s (%s, %s; runs in %s) — ready in %s\n", ln.Addr(), mode, auth, st.URL(), time.Since(start).Round(time.Millisecond))
	err = srv.Run(ctx, ln)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
