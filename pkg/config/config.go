// Package config defines housectl's one typed configuration, its defaults,
// how it is loaded (flags > HOUSECTL_* environment > file > defaults) and
// how it is validated. Call sites read the Config struct, never viper.
//
// A key is the dotted path of a field's `mapstructure` tag, e.g. data.url.
// Its environment variable is HOUSECTL_ followed by the key in upper case
// with dots and dashes as underscores: HOUSECTL_DATA_URL.
package config

import (
	"time"
)

// FileVersion is the only `version:` this build reads.
const FileVersion = 1

// DefaultPath is where the config file is looked for when --config is not given.
const DefaultPath = "configs/housectl.yaml"

// Config is the whole configuration. Relative paths in it are resolved
// against the working directory, the project root.
type Config struct {
	Version     int         `mapstructure:"version"`
	Data        Data        `mapstructure:"data"`
	Schema      Schema      `mapstructure:"schema"`
	Train       Train       `mapstructure:"train"`
	Experiments Experiments `mapstructure:"experiments"`
	Tracking    Tracking    `mapstructure:"tracking"`
	Registry    Registry    `mapstructure:"registry"`
	Serve       Serve       `mapstructure:"serve"`
	Predictions Predictions `mapstructure:"predictions"`
	Pipeline    Pipeline    `mapstructure:"pipeline"`
	Monitor     Monitor     `mapstructure:"monitor"`
	UI          UI          `mapstructure:"ui"`
}

// UI configures `housectl ui`.
type UI struct {
	// Addr is where it listens: loopback by default. Any other address
	// needs API keys (serve's: serve.api_keys_env, serve.api_keys_file).
	Addr string `mapstructure:"addr"`
	// ReadOnly turns off every write: promotions from the pages and the
	// MLflow API's writes.
	ReadOnly bool `mapstructure:"read_only"`
	// Refresh is how often it rereads the runs others wrote.
	Refresh time.Duration `mapstructure:"refresh"`
}

// Monitor configures drift checks (`housectl monitor`, and the server's
// background drift metrics).
type Monitor struct {
	// Window is how far back `monitor drift` looks by default.
	Window time.Duration `mapstructure:"window"`
	// PSI and KS thresholds: at or above warn is a warning, at or above
	// alert an alert (exit 6 from `monitor drift`).
	PSIWarn  float64 `mapstructure:"psi_warn"`
	PSIAlert float64 `mapstructure:"psi_alert"`
	KSWarn   float64 `mapstructure:"ks_warn"`
	KSAlert  float64 `mapstructure:"ks_alert"`
	// MinRows is the fewest logged rows a statistic is computed on.
	MinRows int `mapstructure:"min_rows"`
	// Interval is how often the server recomputes drift over its last
	// WindowRows predictions (0: never).
	Interval   time.Duration `mapstructure:"interval"`
	WindowRows int           `mapstructure:"window_rows"`
	// Confidence and MinEffect are `monitor compare`'s: the level of its
	// intervals and test, and the smallest relative change of the mean
	// squared error that counts.
	Confidence float64 `mapstructure:"confidence"`
	MinEffect  float64 `mapstructure:"min_effect"`
	// LiveWindow is how many of the latest predictions with feedback the
	// server's live RMSE and MAE gauges cover; RMSERegression is the
	// fraction by which the live RMSE may exceed the version's test RMSE
	// before the alert (deploy/prometheus/alerts.yml) fires.
	LiveWindow     int     `mapstructure:"live_window"`
	RMSERegression float64 `mapstructure:"rmse_regression"`
}

// Pipeline configures `housectl pipeline`.
type Pipeline struct {
	// Lock is the lock file recording what each stage ran with.
	Lock string `mapstructure:"lock"`
	// Stages run in this order; any subsequence of fetch, validate, train,
	// evaluate, register, promote.
	Stages []string `mapstructure:"stages"`
	// Model is the registered model the register stage adds a version to.
	Model string `mapstructure:"model"`
	// Alias is what the promote stage moves, if the new version is better
	// than the holder (IfBetter) or always.
	Alias    string `mapstructure:"alias"`
	IfBetter bool   `mapstructure:"if_better"`
	// Challenger is the alias `pipeline run --if-drift` moves to the
	// version it retrains, ungated: a server's split or shadow serves it
	// until `monitor compare --promote` decides.
	Challenger string `mapstructure:"challenger"`
}

// PipelineStages are the stages `housectl pipeline` knows, in order.
var PipelineStages = []string{"fetch", "validate", "train", "evaluate", "register", "promote"}

// Serve configures `housectl serve`.
type Serve struct {
	// Addr is the listen address, host:port (port 0: any free port).
	Addr string `mapstructure:"addr"`
	// Model is the models:/ URI served; an alias is followed as it moves.
	Model string `mapstructure:"model"`
	// Models, when set, are the models:/ URIs served at once, each under
	// its registered name; the first is the default (it replaces Model).
	Models []string `mapstructure:"models"`
	// Split routes the default model's traffic between its aliases by
	// weight, e.g. {production: 90, challenger: 10}; empty: no split.
	Split map[string]float64 `mapstructure:"split"`
	// Shadow is an alias of the default model that predicts every request
	// as well, off the response path, logged as shadow rows; "": none.
	Shadow string `mapstructure:"shadow"`
	// UnitHeader and UnitField carry the unit a split is sticky by: a
	// request header, or a field of a /predict body ("": none).
	UnitHeader string `mapstructure:"unit_header"`
	UnitField  string `mapstructure:"unit_field"`
	// ShadowQueue bounds the requests waiting for the shadow; past it
	// they are dropped and counted.
	ShadowQueue int `mapstructure:"shadow_queue"`
	// UnseenLabels is what a category label the model was not trained on
	// is: refuse (422, naming the known labels) or missing (predicted as a
	// missing value). predict follows it too.
	UnseenLabels string `mapstructure:"unseen_labels"`
	// Timeouts of net/http's server.
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	ReadTimeout       time.Duration `mapstructure:"read_timeout"`
	WriteTimeout      time.Duration `mapstructure:"write_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout"`
	// ShutdownTimeout bounds the drain of in-flight requests and the log.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// BodyLimit is the largest request body, in bytes.
	BodyLimit int64 `mapstructure:"body_limit"`
	// MaxBatchRows is the most rows one request may ask to predict.
	MaxBatchRows int `mapstructure:"max_batch_rows"`
	// RangeTolerance widens the training data's [min, max] of each feature
	// by this fraction of its width on each side; a value outside is a 422.
	// Negative turns the training-range check off (the schema's ranges
	// still apply).
	RangeTolerance float64 `mapstructure:"range_tolerance"`
	// APIKeysEnv names an environment variable holding comma-separated API
	// keys; APIKeysFile a file with one key per line. No key: no auth.
	APIKeysEnv  string `mapstructure:"api_keys_env"`
	APIKeysFile string `mapstructure:"api_keys_file"`
	// RateLimit is requests per second per API key (or client IP without
	// auth), with bursts of RateBurst; 0 turns it off.
	RateLimit float64 `mapstructure:"rate_limit"`
	RateBurst int     `mapstructure:"rate_burst"`
	// ReloadInterval is how often the served alias is checked for a move
	// (SIGHUP checks at once); 0 checks only on SIGHUP.
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
	// TrustedProxies are the addresses or CIDR prefixes of the proxies in
	// front of the server. A request from one of them is the client's
	// that X-Forwarded-For names last, after the trusted hops (nginx's
	// real_ip with real_ip_recursive); from anywhere else the header is
	// ignored. Empty: the peer is the client.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	// TrustProxy is the former switch that trusted X-Forwarded-For's first
	// hop, which clients write; set to true it is an error that points at
	// TrustedProxies.
	TrustProxy bool `mapstructure:"trust_proxy"`
	// AuthFailureRate and AuthFailureBurst bound failed authentications
	// per client address (requests per second, token bucket): over them,
	// a client is answered 429 without its key being checked. 0: off.
	AuthFailureRate  float64 `mapstructure:"auth_failure_rate"`
	AuthFailureBurst int     `mapstructure:"auth_failure_burst"`
	// MetricsAuth says who may read /metrics when API keys are set:
	// "keys" (an API key, or the scrape key) or "public".
	MetricsAuth string `mapstructure:"metrics_auth"`
	// MetricsKeyEnv names an environment variable holding a key that
	// opens /metrics and nothing else (for Prometheus).
	MetricsKeyEnv string `mapstructure:"metrics_key_env"`
	// MemoryLimit is the server's soft memory limit in bytes (Go's
	// GOMEMLIMIT): near it, garbage is collected more often. 0: none; the
	// GOMEMLIMIT environment variable, when set, wins.
	MemoryLimit int64 `mapstructure:"memory_limit"`
	// BodyBudget bounds the bytes of large request bodies (over 64 KiB)
	// being read and decoded at once, across all requests; a request that
	// cannot get its share within its read timeout is answered 503.
	BodyBudget int64 `mapstructure:"body_budget"`
	// Procs is how many CPUs the server runs Go code on at once
	// (GOMAXPROCS); 0 leaves Go's default, every CPU the process may use
	// (or the GOMAXPROCS environment variable).
	Procs int `mapstructure:"procs"`
	// GCPercent is the server's garbage-collection target (GOGC): the
	// heap may grow this many per cent over the live data before a
	// collection. 0 leaves Go's default (100); the GOGC environment
	// variable, when set, wins.
	GCPercent int `mapstructure:"gc_percent"`
}

// Who may read /metrics when the server has API keys.
const (
	MetricsAuthKeys   = "keys"
	MetricsAuthPublic = "public"
)

// Predictions configures the prediction log.
type Predictions struct {
	// Path is the SQLite database file.
	Path string `mapstructure:"path"`
	// DSN, when set, puts the log in PostgreSQL instead
	// (postgres://user:password@host:5432/db?sslmode=disable): several
	// servers can then share one log.
	DSN string `mapstructure:"dsn"`
	// Enabled turns logging on.
	Enabled bool `mapstructure:"enabled"`
	// QueueSize bounds the records waiting to be written.
	QueueSize int `mapstructure:"queue_size"`
	// BatchSize is the most records per transaction.
	BatchSize int `mapstructure:"batch_size"`
	// FlushInterval is the longest a record waits in a partial batch.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Overflow is what a full queue does: block (the request waits) or
	// drop (the record is counted and dropped).
	Overflow string `mapstructure:"overflow"`
}

// Train configures `housectl train`.
type Train struct {
	// Experiment groups the runs under experiments.dir.
	Experiment string `mapstructure:"experiment"`
	// Seed drives the split, the folds and every model's randomness.
	Seed int64 `mapstructure:"seed"`
	// TestFraction of the rows is held out for the final evaluation.
	TestFraction float64 `mapstructure:"test_fraction"`
	// CVFolds is the number of cross-validation folds on the training part;
	// 0 skips cross-validation.
	CVFolds int `mapstructure:"cv_folds"`
	// Metric selects the best candidate: rmse, mae, r2 or mape.
	Metric string `mapstructure:"metric"`
	// Candidates are the models to fit.
	Candidates []string `mapstructure:"candidates"`
	// Workers bounds parallelism; 0 uses every CPU. Results do not depend on it.
	Workers int `mapstructure:"workers"`
	// Params overrides model parameters: kind -> name -> value.
	Params map[string]map[string]any `mapstructure:"params"`
}

// Data says where the raw data comes from and where its files go.
type Data struct {
	// URL of cal_housing.tgz: http, https or file.
	URL string `mapstructure:"url"`
	// SHA256 the downloaded archive must have, lower-case hex.
	SHA256 string `mapstructure:"sha256"`
	// Archive is where the verified archive is kept.
	Archive string `mapstructure:"archive"`
	// RawDir receives the extracted archive members.
	RawDir string `mapstructure:"raw_dir"`
	// Path is the derived CSV that training reads.
	Path string `mapstructure:"path"`
	// Timeout bounds one download attempt, connection to last byte.
	Timeout time.Duration `mapstructure:"timeout"`
	// Retries is how many times a transient failure is retried.
	Retries int `mapstructure:"retries"`
	// RetryBackoff is the first wait between attempts; it doubles each retry.
	RetryBackoff time.Duration `mapstructure:"retry_backoff"`
	// MaxMemberBytes is the largest archive member extracted.
	MaxMemberBytes int64 `mapstructure:"max_member_bytes"`
}

// Schema describes the CSV columns: which are features, which is the
// target, their types and allowed ranges.
type Schema struct {
	// Target is the name of the column to predict; it must be a number column.
	Target string `mapstructure:"target"`
	// Columns lists every column the CSV must have, in any order.
	Columns []Column `mapstructure:"columns"`
	// Duplicates is what validation does with identical rows: error, warn or allow.
	Duplicates string `mapstructure:"duplicates"`
}

// Column types.
const (
	TypeNumber   = "number"
	TypeCategory = "category"
)

// Duplicate-row policies.
const (
	DuplicatesError = "error"
	DuplicatesWarn  = "warn"
	DuplicatesAllow = "allow"
)

// Column is one CSV column.
type Column struct {
	Name string `mapstructure:"name"`
	// Type is number (float64) or category (one of Values).
	Type string `mapstructure:"type"`
	// Min and Max bound a number column, inclusive; nil means unbounded.
	Min *float64 `mapstructure:"min"`
	Max *float64 `mapstructure:"max"`
	// Values are the allowed labels of a category column.
	Values []string `mapstructure:"values"`
	// Nullable lets a cell be empty; otherwise an empty cell is a problem.
	Nullable bool `mapstructure:"nullable"`
	// Ignore marks a column the file has but no model uses (an id, a
	// free-text note): it must be in the header, and its cells are not read.
	Ignore bool `mapstructure:"ignore"`
}

// Features returns the schema's columns other than the target and the
// ignored ones, in order.
func (s Schema) Features() []Column {
	out := make([]Column, 0, len(s.Columns))
	for _, c := range s.Columns {
		if c.Name != s.Target && !c.Ignore {
			out = append(out, c)
		}
	}
	return out
}

// Column returns the column named name.
func (s Schema) Column(name string) (Column, bool) {
	for _, c := range s.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Experiments says where runs and the model registry live.
type Experiments struct {
	// Dir holds one directory per experiment, and the registry.
	Dir string `mapstructure:"dir"`
}

// Tracking says where runs are kept when they are shared: MLflow's
// tracking URI.
type Tracking struct {
	// URI is "" for experiments.dir, a local directory, or
	// s3://BUCKET/PREFIX to keep runs and the registry in object storage.
	URI string `mapstructure:"uri"`
	// CacheDir holds the local copy of a bucket's runs and the
	// content-addressed cache of its artifacts ("": experiments.dir/.cache).
	CacheDir string `mapstructure:"cache_dir"`
	// S3EndpointURL is the S3 endpoint of an s3:// URI (MLflow's
	// MLFLOW_S3_ENDPOINT_URL; "": AWS_ENDPOINT_URL, else AWS).
	S3EndpointURL string `mapstructure:"s3_endpoint_url"`
}

// Registry says where the model registry is kept: MLflow's registry URI.
type Registry struct {
	// URI is "" for the tracking URI's store; when set it must name the
	// same store, because versions point at their runs.
	URI string `mapstructure:"uri"`
}

// CaliforniaSHA256 is the SHA-256 of the StatLib cal_housing.tgz that
// scikit-learn's fetch_california_housing pins.
const CaliforniaSHA256 = "aaa5c9a6afe2225cc2aed2723682ae403280c4a3695a2ddda4ffb5d8215ea681"

// CaliforniaURL is the canonical download location of cal_housing.tgz.
const CaliforniaURL = "https://ndownloader.figshare.com/files/5976036"

func f(v float64) *float64 { return &v }

// Defaults returns the configuration used for every key that no flag,
// environment variable or file sets. configs/housectl.yaml documents the
// same values; a test keeps the two equal.
func Defaults() Config {
	return Config{
		Version: FileVersion,
		Data: Data{
			URL:            CaliforniaURL,
			SHA256:         CaliforniaSHA256,
			Archive:        "data/cal_housing.tgz",
			RawDir:         "data/raw",
			Path:           "data/california.csv",
			Timeout:        2 * time.Minute,
			Retries:        4,
			RetryBackoff:   time.Second,
			MaxMemberBytes: 64 << 20,
		},
		Schema: Schema{
			Target:     "MedHouseVal",
			Duplicates: DuplicatesWarn,
			Columns: []Column{
				{Name: "MedInc", Type: TypeNumber, Min: f(0), Max: f(20)},
				{Name: "HouseAge", Type: TypeNumber, Min: f(0), Max: f(100)},
				{Name: "AveRooms", Type: TypeNumber, Min: f(0), Max: f(1000)},
				{Name: "AveBedrms", Type: TypeNumber, Min: f(0), Max: f(1000)},
				{Name: "Population", Type: TypeNumber, Min: f(0), Max: f(100000)},
				{Name: "AveOccup", Type: TypeNumber, Min: f(0), Max: f(10000)},
				{Name: "Latitude", Type: TypeNumber, Min: f(32), Max: f(42.5)},
				{Name: "Longitude", Type: TypeNumber, Min: f(-124.5), Max: f(-114)},
				{Name: "MedHouseVal", Type: TypeNumber, Min: f(0), Max: f(10)},
			},
		},
		Train: Train{
			Experiment:   "california",
			Seed:         42,
			TestFraction: 0.2,
			CVFolds:      5,
			Metric:       "rmse",
			Candidates:   []string{"linear", "random_forest", "gradient_boosting"},
			Params:       map[string]map[string]any{},
		},
		Experiments: Experiments{Dir: "experiments"},
		Serve: Serve{
			Addr: "127.0.0.1:8080", Model: "models:/california@production",
			Models: []string{}, Split: map[string]float64{}, UnitHeader: "X-Housectl-Unit", ShadowQueue: 1000, UnseenLabels: "refuse",
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: 2 * time.Minute, ShutdownTimeout: 20 * time.Second,
			BodyLimit: 4 << 20, MaxBatchRows: 10000, RangeTolerance: 0.25,
			APIKeysEnv: "HOUSECTL_API_KEYS", RateLimit: 0, RateBurst: 100, ReloadInterval: 2 * time.Second,
			GCPercent: 400, TrustedProxies: []string{}, AuthFailureRate: 1, AuthFailureBurst: 10,
			MetricsAuth: MetricsAuthKeys, MetricsKeyEnv: "HOUSECTL_METRICS_KEY",
			MemoryLimit: 128 << 20, BodyBudget: 64 << 20,
		},
		UI: UI{Addr: "127.0.0.1:5000", Refresh: 2 * time.Second},
		Monitor: Monitor{
			Window: 24 * time.Hour, PSIWarn: 0.1, PSIAlert: 0.25, KSWarn: 0.1, KSAlert: 0.2, MinRows: 200,
			Interval: 30 * time.Second, WindowRows: 10000, Confidence: 0.95, MinEffect: 0.01,
			LiveWindow: 1000, RMSERegression: 0.2,
		},
		Pipeline: Pipeline{
			Lock: "housectl.lock", Stages: append([]string(nil), PipelineStages...),
			Model: "california", Alias: "production", IfBetter: true, Challenger: "challenger",
		},
		Predictions: Predictions{
			Path: "experiments/predictions.db", Enabled: true, QueueSize: 10000, BatchSize: 512,
			FlushInterval: 200 * time.Millisecond, Overflow: "block",
		},
	}
}
