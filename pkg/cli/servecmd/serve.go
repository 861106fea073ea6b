// Package servecmd implements `housectl serve`.
package servecmd

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	logs "github.com/housectl/housectl/pkg/store/all"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/buildinfo"
	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
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
	// Models are the --model flags: the served models, replacing
	// serve.model and serve.models.
	Models []string
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
	cmd.Flags().StringArrayVar(&opts.Models, "model", nil, "models:/ URI to serve; repeat it to serve several, the first the default (default: serve.models, else serve.model)")
	cmd.Flags().String("addr", "", "listen address host:port (default: serve.addr)")
	cmdutil.BindConfigFlag(cmd, "addr", "serve.addr")
	cmd.AddCommand(newCmdSplit(f))
	return cmd
}

// Run serves until the context ends (SIGINT/SIGTERM).
func Run(opts *Options) error {
	l, err := opts.Config()
	if err != nil {
		return err
	}
	cfg := l.Config
	sc := cfg.Serve
	uris, err := modelURIs(sc, opts.Models)
	if err != nil {
		return err
	}
	uri := uris[0]
	keys, err := cmdutil.APIKeys(sc, opts.LookupEnv)
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
	reload := make(chan os.Signal, 1)
	p := cfg.Predictions
	models := servedModels(sc, uris, reg)
	so := serve.Options{
		Models: models, UnitHeader: sc.UnitHeader, ShadowQueue: sc.ShadowQueue,
		LiveWindow: cfg.Monitor.LiveWindow, RMSERegression: cfg.Monitor.RMSERegression,
		UnseenLabelsMissing: sc.UnseenLabels == "missing",
		URI:                 uri.String(), Logger: logger, Registry: prometheus.NewRegistry(),
		LogOptions: store.WriterOptions{QueueSize: p.QueueSize, BatchSize: p.BatchSize, FlushInterval: p.FlushInterval, Overflow: p.Overflow},
		BodyLimit:  sc.BodyLimit, MaxBatchRows: sc.MaxBatchRows, RangeTolerance: sc.RangeTolerance, Bounds: bounds,
		APIKeys: keys, RateLimit: sc.RateLimit, RateBurst: sc.RateBurst, TrustedProxies: proxies,
		MetricsKeys: scrapeKeys, MetricsPublic: sc.MetricsAuth == config.MetricsAuthPublic,
		AuthFailureRate: sc.AuthFailureRate, AuthFailureBurst: sc.AuthFailureBurst,
		BodyBudget: sc.BodyBudget, BodyWait: sc.ReadTimeout,
		Version:     buildinfo.Get().Version,
		DriftWindow: cfg.Monitor.WindowRows, DriftInterval: cfg.Monitor.Interval,
		DriftThresholds:   cmdutil.Thresholds(cfg.Monitor),
		ReadHeaderTimeout: sc.ReadHeaderTimeout, ReadTimeout: sc.ReadTimeout, WriteTimeout: sc.WriteTimeout,
		IdleTimeout: sc.IdleTimeout, ShutdownTimeout: sc.ShutdownTimeout,
		ReloadInterval: sc.ReloadInterval, Reload: reload,
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
	fmt.Fprintf(opts.IO.ErrOut, "serving %s (%s version %s, %s)%s on http://%s — %s; %d CPU(s); ready in %s\n",
		uri, m.Name, m.Version, m.Artifact.Header.Kind, alsoServed(models), ln.Addr(), auth, runtime.GOMAXPROCS(0), time.Since(start).Round(time.Millisecond))
	// SIGHUP re-reads the split's weights, then checks the models.
	go func() {
		for sig := range hup {
			if l, err := opts.Config(); err != nil {
				logger.Error("SIGHUP: the configuration is invalid; the split is unchanged", "error", err.Error())
			} else if len(l.Config.Serve.Split) > 0 {
				if err := srv.SetWeights("", l.Config.Serve.Split); err != nil {
					logger.Error("SIGHUP: serve.split refused; the split is unchanged", "error", err.Error())
				} else {
					logger.Info("split changed", "weights", fmt.Sprint(l.Config.Serve.Split))
				}
			}
			select {
			case reload <- sig:
			default:
			}
		}
	}()
	err = srv.Run(ctx, ln)
	if db != nil {
		n, _ := db.Count(context.Background(), store.Query{})
		logw.flush()
		fmt.Fprintf(opts.IO.ErrOut, "stopped: in-flight requests drained, prediction log flushed (%d rows in %s)\n", n, store.Where(cfg.Predictions.DSN, cfg.Predictions.Path))
	}
	return err
}

// modelURIs are the served models: the --model flags, else serve.models,
// else serve.model; the first is the default.
func modelURIs(sc config.Serve, flags []string) ([]registry.URI, error) {
	raw, key := flags, "--model"
	switch {
	case len(raw) > 0:
	case len(sc.Models) > 0:
		raw, key = sc.Models, "serve.models"
	default:
		raw, key = []string{sc.Model}, "serve.model"
	}
	var out []registry.URI
	for _, r := range raw {
		u, err := registry.ParseURI(r)
		if err != nil {
			return nil, cmdutil.FlagErrorf("%s: %w", key, err)
		}
		for _, o := range out {
			if o.Name == u.Name {
				return nil, cmdutil.FlagErrorf("%s: model %s is named twice: serve each model once (serve.split serves several aliases of the default)", key, u.Name)
			}
		}
		out = append(out, u)
	}
	for a := range sc.Split {
		if err := registry.ValidateAlias(a); err != nil {
			return nil, cmdutil.FlagErrorf("serve.split: %w", err)
		}
	}
	if sc.Shadow != "" {
		if err := registry.ValidateAlias(sc.Shadow); err != nil {
			return nil, cmdutil.FlagErrorf("serve.shadow: %w", err)
		}
	}
	return out, nil
}

// servedModels makes the server's models: the default with its split
// (aliases of its name, by weight) and its shadow, then the others.
func servedModels(sc config.Serve, uris []registry.URI, reg *registry.Registry) []serve.ModelOptions {
	variant := func(u registry.URI, name string, w float64) serve.VariantOptions {
		return serve.VariantOptions{Name: name, URI: u.String(), Source: &serve.RegistrySource{Registry: reg, URI: u}, Weight: w}
	}
	label := func(u registry.URI) string {
		switch {
		case u.Alias != "":
			return u.Alias
		case u.Latest:
			return "latest"
		}
		return "v" + strconv.Itoa(u.Version)
	}
	def := uris[0]
	first := serve.ModelOptions{Name: def.Name, UnitField: sc.UnitField}
	if len(sc.Split) > 0 {
		// The default's own alias first, then the others by name.
		aliases := slices.Sorted(maps.Keys(sc.Split))
		if i := slices.Index(aliases, def.Alias); i > 0 {
			aliases = append(append([]string{def.Alias}, aliases[:i]...), aliases[i+1:]...)
		}
		for _, a := range aliases {
			first.Variants = append(first.Variants, variant(registry.URI{Name: def.Name, Alias: a}, a, sc.Split[a]))
		}
	} else {
		name := ""
		if sc.Shadow != "" {
			name = label(def)
		}
		first.Variants = []serve.VariantOptions{variant(def, name, 1)}
	}
	if sc.Shadow != "" {
		v := variant(registry.URI{Name: def.Name, Alias: sc.Shadow}, sc.Shadow, 0)
		first.Shadow = &v
	}
	out := []serve.ModelOptions{first}
	for _, u := range uris[1:] {
		out = append(out, serve.ModelOptions{Name: u.Name, Variants: []serve.VariantOptions{variant(u, "", 1)}})
	}
	return out
}

// alsoServed says what else the server serves, for its start-up line.
func alsoServed(models []serve.ModelOptions) string {
	var parts []string
	if d := models[0]; len(d.Variants) > 1 {
		var ws []string
		for _, v := range d.Variants {
			ws = append(ws, fmt.Sprintf("%s %g", v.Name, v.Weight))
		}
		parts = append(parts, "split "+strings.Join(ws, "/"))
	}
	if s := models[0].Shadow; s != nil {
		parts = append(parts, "shadow "+s.Name)
	}
	for _, m := range models[1:] {
		parts = append(parts, "and "+m.Variants[0].URI)
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}
