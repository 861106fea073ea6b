package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// FieldError is one invalid value.
type FieldError struct {
	Key string
	Msg string
}

// Compiled on first use, so that start-up does not pay for them.
var (
	hexSHA256   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })
	namePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`) })
)

// Validate checks values that are well typed but not usable. It returns
// every problem, not only the first.
func Validate(c Config) []FieldError {
	var errs []FieldError
	add := func(key, format string, args ...any) {
		errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Version != FileVersion {
		add("version", "this housectl reads config version %d, not %d", FileVersion, c.Version)
	}

	d := c.Data
	if u, err := url.Parse(d.URL); err != nil || d.URL == "" {
		add("data.url", "%q is not a URL: give an http://, https:// or file:// address", d.URL)
	} else if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file" {
		add("data.url", "scheme %q is not supported: use http, https or file", u.Scheme)
	} else if u.Scheme == "file" && u.Path == "" {
		add("data.url", "a file URL needs an absolute path, such as file:///data/cal_housing.tgz")
	}
	if !hexSHA256().MatchString(d.SHA256) {
		add("data.sha256", "want 64 lower-case hex digits, got %q", d.SHA256)
	}
	for _, p := range []struct{ key, val string }{
		{"data.archive", d.Archive}, {"data.raw_dir", d.RawDir}, {"data.path", d.Path},
		{"experiments.dir", c.Experiments.Dir},
	} {
		if strings.TrimSpace(p.val) == "" {
			add(p.key, "must not be empty")
		}
	}
	if d.Timeout <= 0 {
		add("data.timeout", "must be positive, got %s", d.Timeout)
	}
	if d.Retries < 0 || d.Retries > 20 {
		add("data.retries", "must be between 0 and 20, got %d", d.Retries)
	}
	if d.RetryBackoff < 0 || d.RetryBackoff > time.Minute {
		add("data.retry_backoff", "must be between 0s and 1m, got %s", d.RetryBackoff)
	}
	if d.MaxMemberBytes <= 0 {
		add("data.max_member_bytes", "must be positive, got %d", d.MaxMemberBytes)
	}

	errs = append(errs, validateStores(c)...)
	errs = append(errs, validateSchema(c.Schema)...)
	errs = append(errs, validateTrain(c.Train)...)
	errs = append(errs, validateServe(c.Serve, c.Predictions)...)
	errs = append(errs, validatePipeline(c.Pipeline)...)
	m := c.Monitor
	if !(m.Confidence > 0.5 && m.Confidence < 1) {
		errs = append(errs, FieldError{Key: "monitor.confidence", Msg: fmt.Sprintf("must be between 0.5 and 1 (e.g. 0.95), got %v", m.Confidence)})
	}
	if !(m.MinEffect >= 0 && m.MinEffect < 1) {
		errs = append(errs, FieldError{Key: "monitor.min_effect", Msg: fmt.Sprintf("must be 0 or more and under 1 (0.01: 1%% of the mean squared error), got %v", m.MinEffect)})
	}
	if m.LiveWindow < 1 {
		errs = append(errs, FieldError{Key: "monitor.live_window", Msg: fmt.Sprintf("must be 1 or more, got %d", m.LiveWindow)})
	}
	if !(m.RMSERegression > 0) {
		errs = append(errs, FieldError{Key: "monitor.rmse_regression", Msg: fmt.Sprintf("must be positive (0.2: 20%% over the test RMSE), got %v", m.RMSERegression)})
	}
	if m.Window <= 0 {
		errs = append(errs, FieldError{Key: "monitor.window", Msg: fmt.Sprintf("must be positive, got %s", m.Window)})
	}
	if !(m.PSIWarn > 0 && m.PSIWarn <= m.PSIAlert) || !(m.KSWarn > 0 && m.KSWarn <= m.KSAlert && m.KSAlert <= 1) {
		errs = append(errs, FieldError{Key: "monitor.psi_warn", Msg: fmt.Sprintf("need 0 < psi_warn <= psi_alert and 0 < ks_warn <= ks_alert <= 1, got %v, %v, %v, %v", m.PSIWarn, m.PSIAlert, m.KSWarn, m.KSAlert)})
	}
	if m.MinRows < 1 || m.WindowRows < m.MinRows || m.Interval < 0 {
		errs = append(errs, FieldError{Key: "monitor.min_rows", Msg: fmt.Sprintf("need 1 <= min_rows <= window_rows and interval >= 0, got %d, %d, %s", m.MinRows, m.WindowRows, m.Interval)})
	}
	return errs
}

func validateServe(s Serve, p Predictions) []FieldError {
	var errs []FieldError
	add := func(key, format string, args ...any) {
		errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if _, port, err := net.SplitHostPort(s.Addr); err != nil || port == "" {
		add("serve.addr", "%q is not host:port (e.g. 127.0.0.1:8080, :8080; port 0 picks a free one)", s.Addr)
	}
	if !strings.HasPrefix(s.Model, "models:/") {
		add("serve.model", "%q is not a models:/ URI: use models:/NAME@ALIAS or models:/NAME/VERSION", s.Model)
	}
	for i, m := range s.Models {
		if !strings.HasPrefix(m, "models:/") {
			add(fmt.Sprintf("serve.models[%d]", i), "%q is not a models:/ URI: use models:/NAME@ALIAS or models:/NAME/VERSION", m)
		}
	}
	total := 0.0
	for alias, w := range s.Split {
		if w < 0 || w != w {
			add("serve.split", "the weight of %s is %v: give a number of 0 or more", alias, w)
		}
		total += w
	}
	if len(s.Split) == 1 {
		add("serve.split", "a split needs two aliases or more, e.g. {production: 90, challenger: 10}; to serve one alias, set serve.model")
	} else if len(s.Split) > 1 && !(total > 0) {
		add("serve.split", "every weight is 0: give at least one alias a share")
	}
	if s.ShadowQueue < 1 {
		add("serve.shadow_queue", "must be 1 or more, got %d", s.ShadowQueue)
	}
	if s.UnseenLabels != "refuse" && s.UnseenLabels != "missing" {
		add("serve.unseen_labels", "want refuse or missing, got %q", s.UnseenLabels)
	}
	if s.UnitHeader == "" {
		add("serve.unit_header", "must name a header (the default is X-Housectl-Unit)")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"serve.read_header_timeout", s.ReadHeaderTimeout}, {"serve.read_timeout", s.ReadTimeout}, {"serve.write_timeout", s.WriteTimeout},
		{"serve.idle_timeout", s.IdleTimeout}, {"serve.shutdown_timeout", s.ShutdownTimeout}, {"predictions.flush_interval", p.FlushInterval}} {
		if d.v <= 0 {
			add(d.key, "must be positive, got %s", d.v)
		}
	}
	if s.BodyLimit < 1024 {
		add("serve.body_limit", "must be at least 1024 bytes, got %d", s.BodyLimit)
	}
	if s.MaxBatchRows < 1 {
		add("serve.max_batch_rows", "must be at least 1, got %d", s.MaxBatchRows)
	}
	if s.RateLimit < 0 {
		add("serve.rate_limit", "must be 0 (off) or positive, got %v", s.RateLimit)
	}
	if s.RateBurst < 1 {
		add("serve.rate_burst", "must be at least 1, got %d", s.RateBurst)
	}
	if s.ReloadInterval < 0 {
		add("serve.reload_interval", "must be 0 (SIGHUP only) or positive, got %s", s.ReloadInterval)
	}
	if s.Procs < 0 {
		add("serve.procs", "must be 0 (every CPU) or a number of CPUs, got %d", s.Procs)
	}
	if s.GCPercent < 0 {
		add("serve.gc_percent", "must be 0 (Go's default) or a percentage such as 400, got %d", s.GCPercent)
	}
	if s.TrustProxy {
		add("serve.trust_proxy", "is replaced by serve.trusted_proxies: list the addresses or CIDRs of your proxies (e.g. [10.0.0.0/8]); X-Forwarded-For is then read only from them, last hop first, so clients cannot choose their address")
	}
	for _, tp := range s.TrustedProxies {
		if _, err := ParseProxy(tp); err != nil {
			add("serve.trusted_proxies", "%q is not an IP address or CIDR prefix (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)", tp)
		}
	}
	if s.AuthFailureRate < 0 {
		add("serve.auth_failure_rate", "must be 0 (off) or positive, got %v", s.AuthFailureRate)
	}
	if s.AuthFailureBurst < 1 {
		add("serve.auth_failure_burst", "must be at least 1, got %d", s.AuthFailureBurst)
	}
	if s.MetricsAuth != MetricsAuthKeys && s.MetricsAuth != MetricsAuthPublic {
		add("serve.metrics_auth", "must be %q (an API key or the scrape key opens /metrics) or %q, got %q", MetricsAuthKeys, MetricsAuthPublic, s.MetricsAuth)
	}
	if s.MemoryLimit < 0 || s.MemoryLimit > 0 && s.MemoryLimit < 32<<20 {
		add("serve.memory_limit", "must be 0 (none) or at least 33554432 bytes (32 MiB), got %d", s.MemoryLimit)
	}
	if s.BodyBudget < s.BodyLimit {
		add("serve.body_budget", "must be at least serve.body_limit (%d bytes), got %d", s.BodyLimit, s.BodyBudget)
	}
	if strings.TrimSpace(p.Path) == "" {
		add("predictions.path", "must not be empty")
	}
	if p.QueueSize < 1 {
		add("predictions.queue_size", "must be at least 1, got %d", p.QueueSize)
	}
	if p.BatchSize < 1 {
		add("predictions.batch_size", "must be at least 1, got %d", p.BatchSize)
	}
	if p.Overflow != "block" && p.Overflow != "drop" {
		add("predictions.overflow", "want block or drop, got %q", p.Overflow)
	}
	return errs
}

func validateTrain(t Train) []FieldError {
	var errs []FieldError
	add := func(key, format string, args ...any) {
		errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if !namePattern().MatchString(t.Experiment) {
		add("train.experiment", "%q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", t.Experiment)
	}
	if t.Seed < 0 {
		add("train.seed", "must be 0 or positive, got %d", t.Seed)
	}
	if !(t.TestFraction > 0 && t.TestFraction < 1) {
		add("train.test_fraction", "must be between 0 and 1 (exclusive), got %v", t.TestFraction)
	}
	if t.CVFolds < 0 || t.CVFolds == 1 || t.CVFolds > 100 {
		add("train.cv_folds", "must be 0 (no cross-validation) or 2 to 100, got %d", t.CVFolds)
	}
	switch t.Metric {
	case "rmse", "mae", "r2", "mape":
	default:
		add("train.metric", "want rmse, mae, r2 or mape, got %q", t.Metric)
	}
	if len(t.Candidates) == 0 {
		add("train.candidates", "name at least one model: linear, random_forest, gradient_boosting")
	}
	seen := map[string]bool{}
	for i, c := range t.Candidates {
		if seen[c] {
			add(fmt.Sprintf("train.candidates[%d]", i), "%q is listed twice", c)
		}
		seen[c] = true
	}
	if t.Workers < 0 {
		add("train.workers", "must be 0 (every CPU) or positive, got %d", t.Workers)
	}
	return errs
}

func validateSchema(s Schema) []FieldError {
	var errs []FieldError
	add := func(key, format string, args ...any) {
		errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	switch s.Duplicates {
	case DuplicatesError, DuplicatesWarn, DuplicatesAllow:
	default:
		add("schema.duplicates", "want error, warn or allow, got %q", s.Duplicates)
	}
	if len(s.Columns) == 0 {
		add("schema.columns", "list at least the target and one feature")
	}
	seen := map[string]bool{}
	for i, c := range s.Columns {
		k := fmt.Sprintf("schema.columns[%d]", i)
		switch {
		case strings.TrimSpace(c.Name) == "":
			add(k+".name", "must not be empty")
		case seen[c.Name]:
			add(k+".name", "column %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		switch c.Type {
		case TypeNumber:
			if len(c.Values) > 0 {
				add(k+".values", "only a category column has values; column %q is a number", c.Name)
			}
		case TypeCategory:
			if len(c.Values) == 0 {
				add(k+".values", "a category column needs the list of its allowed values")
			}
			if c.Min != nil || c.Max != nil {
				add(k, "a category column has no min or max")
			}
		default:
			add(k+".type", "want number or category, got %q", c.Type)
		}
		if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
			add(k, "min %g is greater than max %g", *c.Min, *c.Max)
		}
	}
	if s.Target == "" {
		add("schema.target", "name the column to predict")
	} else if t, ok := s.Column(s.Target); !ok {
		add("schema.target", "%q is not one of schema.columns", s.Target)
	} else if t.Type != TypeNumber {
		add("schema.target", "%q must be a number column to regress on", s.Target)
	} else if t.Ignore {
		add("schema.target", "%q is marked ignore: the target is read; drop ignore: true from it", s.Target)
	}
	if len(s.Features()) == 0 && len(s.Columns) > 0 {
		add("schema.columns", "no feature columns besides the target")
	}
	return errs
}

func validatePipeline(p Pipeline) []FieldError {
	var errs []FieldError
	add := func(key, format string, args ...any) {
		errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(p.Lock) == "" {
		add("pipeline.lock", "must not be empty")
	}
	last := -1
	for i, st := range p.Stages {
		at := slices.Index(PipelineStages, st)
		switch {
		case at < 0:
			add(fmt.Sprintf("pipeline.stages[%d]", i), "unknown stage %q: use %s", st, strings.Join(PipelineStages, ", "))
		case at <= last:
			add(fmt.Sprintf("pipeline.stages[%d]", i), "%q is out of order or repeated: stages run as %s", st, strings.Join(PipelineStages, " → "))
		default:
			last = at
		}
	}
	if !namePattern().MatchString(p.Model) {
		add("pipeline.model", "%q: use letters, digits, '.', '_' or '-', starting with a letter or digit", p.Model)
	}
	if p.Alias == "" || strings.EqualFold(p.Alias, "latest") {
		add("pipeline.alias", "%q cannot be an alias: use e.g. production", p.Alias)
	}
	return errs
}

// ParseProxy reads a trusted proxy: an IP address (a one-address prefix)
// or a CIDR prefix.
func ParseProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// validateStores checks tracking.uri and registry.uri.
func validateStores(c Config) []FieldError {
	var errs []FieldError
	check := func(key, uri string) {
		if uri == "" {
			return
		}
		u, err := url.Parse(uri)
		switch {
		case err != nil:
			errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf("%q is not a URI: give s3://BUCKET/PREFIX or a directory", uri)})
		case u.Scheme == "s3":
			if u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf("%q is not an S3 URI: write s3://BUCKET or s3://BUCKET/PREFIX", uri)})
			}
		case u.Scheme == "file":
			if u.Path == "" || u.Host != "" && u.Host != "localhost" {
				errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf("%q: a file URI needs an absolute local path, such as file:///srv/experiments", uri)})
			}
		case len(u.Scheme) > 1: // a drive letter is not a scheme
			errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf("scheme %q is not a store housectl keeps runs in: use s3://BUCKET/PREFIX or a directory", u.Scheme)})
		}
	}
	check("tracking.uri", c.Tracking.URI)
	check("registry.uri", c.Registry.URI)
	if r := c.Registry.URI; r != "" && len(errs) == 0 && storeURI(r, c.Experiments.Dir) != c.Store() {
		errs = append(errs, FieldError{Key: "registry.uri", Msg: fmt.Sprintf("%q is not the tracking store (%s): a registered version points at its run, so the registry lives with the runs; leave registry.uri empty or set it to tracking.uri", r, c.Store())})
	}
	return errs
}

// Store is where runs and the registry live: the s3:// URI (without a
// trailing slash), or the local directory (a file: URI's path, the
// tracking URI as a path, or experiments.dir when it is empty).
func (c *Config) Store() string { return storeURI(c.Tracking.URI, c.Experiments.Dir) }

func storeURI(tracking, dir string) string {
	switch {
	case tracking == "":
		return dir
	case strings.HasPrefix(tracking, "s3://"):
		return strings.TrimRight(tracking, "/")
	case strings.HasPrefix(tracking, "file:"):
		if u, err := url.Parse(tracking); err == nil {
			return u.Path
		}
	}
	return tracking
}
