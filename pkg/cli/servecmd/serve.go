// Package servecmd implements `housectl serve`.
package servecmd

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	logs "github.com/housectl/housectl/pkg/store/all"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/buildinfo"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/monitor"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/serve"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the dependencies and flags of `housectl serve`.
type Options struct {
	IO        *ui.IOStreams
	Config    func() (*config.Loaded, error)
	LookupEnv func(string) (string, bool)
	Context   context.Context
	// Registry opens the registry (cmdutil.Registry).
	Registry func(*config.Loaded) (*registry.Registry, error)
}

// NewCmdServe returns `housectl serve`.
func NewCmdServe(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, LookupEnv: f.LookupEnv}
	cmd := &cobra.Command{
		Use:   "serve [--model models:/<name>@<alias>] [--addr <host:port>]",
		Short: "Serve predictions over HTTP: validated, metered, logged",
		Long: `Serve the model that serve.model names (a registered version or alias) on
serve.addr. Endpoints: POST /predict, /predict/batch, /invocations (MLflow
scoring protocol), /v2/models/{name}/infer (Open Inference Protocol); GET
/health, /ready, /model, /metrics (Prometheus), /openapi.json, /docs, and the
OIP health and metadata routes.

Every prediction is logged to the SQLite prediction log (predictions.path) by
a background writer. When the served alias moves (housectl models promote),
the new version is loaded within serve.reload_interval (or at once on
SIGHUP), verified, and swapped in without failing a request; a version that
fails to load is refused and the current one keeps serving. SIGTERM or
SIGINT stops taking connections, drains in-flight requests and writes every
queued prediction before exiting 0.

API keys (serve.api_keys_env, serve.api_keys_file) are required on the
prediction and model routes when any is set; a key file that holds no key
is an error, not an open server. Access logs are JSON lines on standard
error and never contain keys.

serve.procs caps the CPUs the server runs Go code on at once (GOMAXPROCS; 0,
the default, is every CPU it may use). On a host whose cores other busy
processes share, 1 keeps the slowest requests faster.

serve.gc_percent is the server's garbage-collection target (GOGC), 400 by
default: collections ~4x rarer than Go's 100, for ~14 MB more memory and a
lower p99. The GOGC environment variable, when set, wins.`,
		Example: `  housectl serve
  housectl serve --model models:/california/3 --addr 0.0.0.0:8080
  HOUSECTL_API_KEYS=k1,k2 housectl serve
  HOUSECTL_SERVE_PROCS=1 housectl serve    # one CPU at a time`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
			opts.Context = cmd.Context()
			opts.Registry = func(l *config.Loaded) (*registry.Registry, error) { return cmdutil.Registry(cmd.Context(), f, l) }
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().String("model", "", "models:/ URI to serve (default: serve.model)")
	cmd.Flags().String("addr", "", "listen address host:port (default: serve.addr)")
	cmdutil.BindConfigFlag(cmd, "model", "serve.model")
	cmdutil.BindConfigFlag(cmd, "addr", "serve.addr")
	return cmd
}

// apiKeys reads the keys from the environment variable and the file.
func apiKeys(c config.Serve, lookup func(string) (string, bool)) ([]string, error) {
	var keys []string
	if c.APIKeysEnv != "" {
		if v, ok := lookup(c.APIKeysEnv); ok {
			for _, k := range strings.Split(v, ",") {
				if k = strings.TrimSpace(k); k != "" {
					keys = append(keys, k)
				}
			}
		}
	}
	if c.APIKeysFile != "" {
		f, err := os.Open(c.APIKeysFile)
		if err != nil {
			return nil, fmt.Errorf("serve.api_keys_file: %w", err)
		}
		defer f.Close()
		n := len(keys)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k := strings.TrimSpace(sc.Text()); k != "" && !strings.HasPrefix(k, "#") {
				keys = append(keys, k)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("serve.api_keys_file: %w", err)
		}
		// A key file that was named but holds no key would otherwise
		// leave the server open to anyone.
		if len(keys) == n {
			return nil, fmt.Errorf("serve.api_keys_file: %s holds no API key: put one key per line (# starts a comment), or set serve.api_keys_file to \"\" to serve without authentication", c.APIKeysFile)
		}
	}
	return keys, nil
}

// Run serves until the context ends (SIGINT/SIGTERM).
func Run(opts *Options) error {
	l, err := opts.Config()
	if err != nil {
		return err
	}
	cfg := l.Config
	sc := cfg.Serve
	uri, err := registry.ParseURI(sc.Model)
	if err != nil {
		return cmdutil.FlagErrorf("serve.model: %w", err)
	}
	keys, err := apiKeys(sc, opts.LookupEnv)
	if err != nil {
		return err
	}
	if sc.Procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(sc.Procs))
	}
	if _, set := opts.LookupEnv("GOGC"); sc.GCPercent > 0 && !set {
		defer debug.SetGCPercent(debug.SetGCPercent(sc.GCPercent))
	}
	if _, set := opts.LookupEnv("GOMEMLIMIT"); sc.MemoryLimit > 0 && !set {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(sc.MemoryLimit))
	}
	var proxies []netip.Prefix
	for _, p := range sc.TrustedProxies {
		pr, err := config.ParseProxy(p)
		if err != nil {
			return cmdutil.FlagErrorf("serve.trusted_proxies: %q: %w", p, err)
		}
		proxies = append(proxies, pr)
	}
	var scrapeKeys []string
	if sc.MetricsKeyEnv != "" {
		if v, ok := opts.LookupEnv(sc.MetricsKeyEnv); ok && strings.TrimSpace(v) != "" {
			scrapeKeys = []string{strings.TrimSpace(v)}
		}
	}
	// Access and error logs: JSON lines on stderr, written in batches.
	logw := newLogBuffer(opts.IO.ErrOut, 100*time.Millisecond)
	defer logw.Close()
	logger := slog.New(slog.NewJSONHandler(logw, nil))
	ctx := opts.Context

	var db *store.DB
	if cfg.Predictions.Enabled {
		if db, err = logs.Open(ctx, cfg.Predictions.DSN, cfg.Predictions.Path); err != nil {
			return err
		}
		defer db.Close()
	}
	reg, err := opts.Registry(l)
	if err != nil {
		return err
	}
	bounds := cmdutil.Bounds(cfg.Schema)
	// Reloads on SIGHUP, besides the timer.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	p := cfg.Predictions
	so := serve.Options{
		Source: &serve.RegistrySource{Registry: reg, URI: uri},
		URI:    uri.String(), Logger: logger, Registry: prometheus.NewRegistry(),
		LogOptions: store.WriterOptions{QueueSize: p.QueueSize, BatchSize: p.BatchSize, FlushInterval: p.FlushInterval, Overflow: p.Overflow},
		BodyLimit:  sc.BodyLimit, MaxBatchRows: sc.MaxBatchRows, RangeTolerance: sc.RangeTolerance, Bounds: bounds,
		APIKeys: keys, RateLimit: sc.RateLimit, RateBurst: sc.RateBurst, TrustedProxies: proxies,
		MetricsKeys: scrapeKeys, MetricsPublic: sc.MetricsAuth == config.MetricsAuthPublic,
		AuthFailureRate: sc.AuthFailureRate, AuthFailureBurst: sc.AuthFailureBurst,
		BodyBudget: sc.BodyBudget, BodyWait: sc.ReadTimeout,
		Version:     buildinfo.Get().Version,
		DriftWindow: cfg.Monitor.WindowRows, DriftInterval: cfg.Monitor.Interval,
		DriftThresholds: monitor.Thresholds{PSIWarn: cfg.Monitor.PSIWarn, PSIAlert: cfg.Monitor.PSIAlert,
			KSWarn: cfg.Monitor.KSWarn, KSAlert: cfg.Monitor.KSAlert, MinRows: cfg.Monitor.MinRows},
		ReadHeaderTimeout: sc.ReadHeaderTimeout, ReadTimeout: sc.ReadTimeout, WriteTimeout: sc.WriteTimeout,
		IdleTimeout: sc.IdleTimeout, ShutdownTimeout: sc.ShutdownTimeout,
		ReloadInterval: sc.ReloadInterval, Reload: hup,
	}
	if db != nil {
		so.Log = db
	}
	start := time.Now()
	srv, err := serve.New(so)
	if err != nil {
		return fmt.Errorf("cannot serve %s: %w", uri, err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", sc.Addr)
	if err != nil {
		return fmt.Errorf("serve.addr %s: %w", sc.Addr, err)
	}
	m := srv.Current()
	auth := "no API keys: open"
	if len(keys) > 0 {
		auth = fmt.Sprintf("%d API key(s) required", len(keys))
		if sc.MetricsAuth == config.MetricsAuthPublic {
			auth += ", /metrics public"
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "serving %s (%s version %s, %s) on http://%s — %s; %d CPU(s); ready in %s\n",
		uri, m.Name, m.Version, m.Artifact.Header.Kind, ln.Addr(), auth, runtime.GOMAXPROCS(0), time.Since(start).Round(time.Millisecond))
	err = srv.Run(ctx, ln)
	if db != nil {
		n, _ := db.Count(context.Background(), store.Query{})
		logw.flush()
		fmt.Fprintf(opts.IO.ErrOut, "stopped: in-flight requests drained, prediction log flushed (%d rows in %s)\n", n, store.Where(cfg.Predictions.DSN, cfg.Predictions.Path))
	}
	return err
}
