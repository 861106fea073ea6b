// Package cmdutil holds what every housectl command shares: the Factory of
// dependencies, flag-to-config binding, and the error types that the root
// command maps to exit codes.
package cmdutil

import (
	"context"
	"math"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/housectl/housectl/pkg/bucket"
	"github.com/housectl/housectl/pkg/buildinfo"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/input"
	"github.com/housectl/housectl/pkg/monitor"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/ui"
)

// configKeyAnnotation marks a flag that sets a configuration key.
const configKeyAnnotation = "housectl_config_key"

// Factory carries the dependencies commands need. Commands take what they
// use into their Options struct at construction and call the functions
// lazily, so that `housectl version` loads no configuration.
type Factory struct {
	IOStreams *ui.IOStreams
	// LookupEnv reads the environment (tests pass their own).
	LookupEnv func(string) (string, bool)
	// Environ lists the environment, so that an unknown HOUSECTL_*
	// variable is reported; nil: not listed.
	Environ func() []string
	// Now is the clock.
	Now func() time.Time
	// HTTPClient is used for downloads.
	HTTPClient func() *http.Client
	// ConfigPath is the value of the global --config flag.
	ConfigPath string
}

// New returns the production Factory.
func New() *Factory {
	return &Factory{
		IOStreams: ui.System(),
		LookupEnv: os.LookupEnv,
		Environ:   os.Environ,
		Now:       time.Now,
		HTTPClient: func() *http.Client {
			return &http.Client{Transport: http.DefaultTransport}
		},
	}
}

// UserAgent is what housectl sends to servers.
func UserAgent() string { return "housectl/" + buildinfo.Get().Version }

// Config loads the effective configuration for cmd: --config (or
// HOUSECTL_CONFIG, else configs/housectl.yaml), the environment, and the
// flags of cmd bound to keys with BindConfigFlag.
func (f *Factory) Config(cmd *cobra.Command) (*config.Loaded, error) {
	path := f.ConfigPath
	if path == "" {
		if v, ok := f.LookupEnv("HOUSECTL_CONFIG"); ok {
			path = v
		}
	}
	flags := map[string]*pflag.Flag{}
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if keys := fl.Annotations[configKeyAnnotation]; len(keys) == 1 {
			flags[keys[0]] = fl
		}
	})
	return config.Load(config.LoadOptions{Path: path, LookupEnv: f.LookupEnv, Environ: f.Environ, Flags: flags})
}

// BindConfigFlag marks the flag named name as setting the configuration key.
// A flag the user did not set leaves the key to env, file and defaults.
func BindConfigFlag(cmd *cobra.Command, name, key string) {
	fl := cmd.Flags().Lookup(name)
	if fl == nil {
		panic("cmdutil: no flag --" + name)
	}
	if fl.Annotations == nil {
		fl.Annotations = map[string][]string{}
	}
	fl.Annotations[configKeyAnnotation] = []string{key}
}

// CurrentUser names who runs the command, for run lineage and the
// registry's history (MLflow's mlflow.user).
func CurrentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// Stores opens the run store and the registry of the loaded
// configuration, the one way commands make them: experiments.dir, or the
// bucket of tracking.uri with its local copy under tracking.cache_dir. It
// makes no request: a bucket's runs are copied down when a command first
// lists them, and its registry is read in place.
func Stores(ctx context.Context, f *Factory, l *config.Loaded) (*tracking.Store, *registry.Registry, error) {
	c := &l.Config
	uri := c.Store()
	store := &tracking.Store{Dir: uri, Now: f.Now}
	if bucket.IsURL(uri) {
		b, err := bucket.Open(ctx, uri, bucket.Options{EndpointURL: c.Tracking.S3EndpointURL})
		if err != nil {
			return nil, nil, err
		}
		cache := c.Tracking.CacheDir
		if cache == "" {
			cache = filepath.Join(c.Experiments.Dir, ".cache")
		}
		store.Dir = filepath.Join(cache, "s3", b.Bucket, filepath.FromSlash(b.Prefix))
		store.Remote = &tracking.Remote{B: b, Cache: cache}
	}
	return store, registry.Over(store, registry.Options{Now: f.Now, User: CurrentUser()}), nil
}

// Registry is the model registry of the loaded configuration (Stores).
func Registry(ctx context.Context, f *Factory, l *config.Loaded) (*registry.Registry, error) {
	_, g, err := Stores(ctx, f, l)
	return g, err
}

// Bounds are the configuration schema's per-feature [min, max], the
// ranges that input validation adds to each model's training range.
func Bounds(s config.Schema) input.Bounds {
	bounds := input.Bounds{}
	for _, c := range s.Features() {
		if c.Min != nil || c.Max != nil {
			b := [2]float64{math.Inf(-1), math.Inf(1)}
			if c.Min != nil {
				b[0] = *c.Min
			}
			if c.Max != nil {
				b[1] = *c.Max
			}
			bounds[c.Name] = b
		}
	}
	return bounds
}

// Thresholds are the drift thresholds of the monitor section.
func Thresholds(m config.Monitor) monitor.Thresholds {
	return monitor.Thresholds{PSIWarn: m.PSIWarn, PSIAlert: m.PSIAlert, KSWarn: m.KSWarn, KSAlert: m.KSAlert, MinRows: m.MinRows}
}
