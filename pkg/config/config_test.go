package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/housectl/housectl/configs"
	"github.com/housectl/housectl/pkg/config"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func noEnv(string) (string, bool) { return "", false }

func loadString(t *testing.T, yaml string, opts config.LoadOptions) (*config.Loaded, error) {
	t.Helper()
	if opts.LookupEnv == nil {
		opts.LookupEnv = noEnv
	}
	return config.LoadReader(strings.NewReader(yaml), "test.yaml", opts)
}

func TestShippedFileEqualsDefaults(t *testing.T) {
	l, err := config.LoadReader(strings.NewReader(string(configs.Default)), "configs/housectl.yaml", config.LoadOptions{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	got, want := l.Config, config.Defaults()
	if !equalConfig(got, want) {
		t.Errorf("configs/housectl.yaml and Defaults() differ:\nfile:     %+v\ndefaults: %+v", got, want)
	}
	for _, s := range l.Settings() {
		if s.Source.Kind != config.SourceFile {
			t.Errorf("%s comes from %v, want the file: every key is documented in the shipped file", s.Key, s.Source)
		}
	}
}

func TestShippedGeronConfigLoads(t *testing.T) {
	l, err := config.Load(config.LoadOptions{Path: "../../configs/handson-housing.yaml", LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Config.Schema.Target; got != "median_house_value" {
		t.Errorf("target = %q", got)
	}
	if c, _ := l.Config.Schema.Column("ocean_proximity"); c.Type != config.TypeCategory || len(c.Values) != 5 {
		t.Errorf("ocean_proximity = %+v", c)
	}
	if c, _ := l.Config.Schema.Column("total_rooms"); c.Type != config.TypeNumber || c.Max != nil {
		t.Errorf("total_rooms = %+v, want a number column without max", c)
	}
	if l.Config.Data.Retries != config.Defaults().Data.Retries {
		t.Errorf("keys absent from the file must keep their defaults")
	}
}

func equalConfig(a, b config.Config) bool {
	// Compare through the flattened settings: pointers differ, values must not.
	la := (&config.Loaded{Config: a}).Settings()
	lb := (&config.Loaded{Config: b}).Settings()
	if len(la) != len(lb) {
		return false
	}
	for i := range la {
		if la[i].Key != lb[i].Key || !reflect.DeepEqual(la[i].Value, lb[i].Value) {
			return false
		}
	}
	return true
}

func TestPrecedence(t *testing.T) {
	file := "version: 1\ndata:\n  retries: 7\n  timeout: 30s\n"
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	retries := fs.Int("retries", 4, "")
	timeout := fs.Duration("timeout", time.Minute, "")
	flags := map[string]*pflag.Flag{"data.retries": fs.Lookup("retries"), "data.timeout": fs.Lookup("timeout")}
	_ = retries
	_ = timeout

	tests := []struct {
		name      string
		file      string
		env       map[string]string
		args      []string
		wantRetry int
		wantSrc   config.Source
	}{
		{"default", "version: 1\n", nil, nil, 4, config.Source{Kind: config.SourceDefault}},
		{"file over default", file, nil, nil, 7, config.Source{Kind: config.SourceFile, Name: "test.yaml"}},
		{"env over file", file, map[string]string{"HOUSECTL_DATA_RETRIES": "9"}, nil, 9, config.Source{Kind: config.SourceEnv, Name: "HOUSECTL_DATA_RETRIES"}},
		{"flag over env", file, map[string]string{"HOUSECTL_DATA_RETRIES": "9"}, []string{"--retries=2"}, 2, config.Source{Kind: config.SourceFlag, Name: "--retries"}},
		{"unset flag keeps env", file, map[string]string{"HOUSECTL_DATA_RETRIES": "9"}, []string{"--timeout=5s"}, 9, config.Source{Kind: config.SourceEnv, Name: "HOUSECTL_DATA_RETRIES"}},
		{"empty env is unset", file, map[string]string{"HOUSECTL_DATA_RETRIES": ""}, nil, 7, config.Source{Kind: config.SourceFile, Name: "test.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs.VisitAll(func(f *pflag.Flag) { f.Changed = false; _ = f.Value.Set(f.DefValue) })
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			l, err := loadString(t, tt.file, config.LoadOptions{LookupEnv: env(tt.env), Flags: flags})
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Config.Data.Retries; got != tt.wantRetry {
				t.Errorf("data.retries = %d, want %d", got, tt.wantRetry)
			}
			if got := l.Source("data.retries"); got != tt.wantSrc {
				t.Errorf("source = %v, want %v", got, tt.wantSrc)
			}
		})
	}
}

func TestEnvSetsEveryScalarKind(t *testing.T) {
	l, err := loadString(t, "version: 1\n", config.LoadOptions{LookupEnv: env(map[string]string{
		"HOUSECTL_DATA_URL":              "file:///tmp/x.tgz",
		"HOUSECTL_DATA_TIMEOUT":          "3s",
		"HOUSECTL_DATA_MAX_MEMBER_BYTES": "1024",
		"HOUSECTL_SCHEMA_DUPLICATES":     "error",
	})})
	if err != nil {
		t.Fatal(err)
	}
	c := l.Config
	if c.Data.URL != "file:///tmp/x.tgz" || c.Data.Timeout != 3*time.Second || c.Data.MaxMemberBytes != 1024 || c.Schema.Duplicates != "error" {
		t.Errorf("env not applied: %+v", c)
	}
	// The list keeps its default: the environment cannot set it.
	if len(c.Schema.Columns) != 9 {
		t.Errorf("columns = %d, want the 9 defaults", len(c.Schema.Columns))
	}
}

func TestFileListReplacesDefaultList(t *testing.T) {
	l, err := loadString(t, `version: 1
schema:
  target: y
  columns:
    - {name: x}
    - {name: y, min: 0}
`, config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cols := l.Config.Schema.Columns
	if len(cols) != 2 || cols[0].Name != "x" || cols[0].Type != config.TypeNumber || cols[0].Min != nil || *cols[1].Min != 0 {
		t.Errorf("columns = %+v, want exactly the file's two", cols)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"unknown top key", "version: 1\nbogus: 1\n", nil, []string{"test.yaml", "line 2", `unknown key "bogus"`, "data, schema"}},
		{"unknown nested key", "version: 1\ndata:\n  urll: x\n", nil, []string{"line 3", `"data.urll"`, "known keys under data", "url"}},
		{"unknown key in list item", "version: 1\nschema:\n  columns:\n    - {name: a, mn: 0}\n", nil, []string{"line 4", "schema.columns[0].mn"}},
		{"wrong type int", "version: 1\ndata:\n  retries: many\n", nil, []string{"line 3", "data.retries", "want a whole number", `"many"`}},
		{"wrong type string", "version: 1\ndata:\n  url: 12\n", nil, []string{"data.url", "want a string", "quotes"}},
		{"wrong type bool", "version: 1\nschema:\n  columns:\n    - {name: a, nullable: yes please}\n", nil, []string{"schema.columns[0].nullable", "want true or false"}},
		{"bad duration", "version: 1\ndata:\n  timeout: 10\n", nil, []string{"data.timeout", "want a duration"}},
		{"mapping expected", "version: 1\ndata: 3\n", nil, []string{"data", "want a mapping"}},
		{"null value", "version: 1\ndata:\n  url:\n", nil, []string{"data.url", "has no value"}},
		{"duplicate key", "version: 1\nversion: 1\n", nil, []string{"line 2", "given twice"}},
		{"missing version", "data:\n  retries: 2\n", nil, []string{"missing key \"version\""}},
		{"wrong version", "version: 2\n", nil, []string{"version", "set by file test.yaml", "reads config version 1"}},
		{"bad yaml", "version: [1\n", nil, []string{"test.yaml", "not valid YAML"}},
		{"empty file", "", nil, []string{"empty"}},
		{"invalid value from file", "version: 1\ndata:\n  retries: -1\n", nil, []string{"data.retries", "file test.yaml", "between 0 and 20"}},
		{"invalid value from env", "version: 1\n", map[string]string{"HOUSECTL_DATA_URL": "ftp://x/y"}, []string{"data.url", "env HOUSECTL_DATA_URL", "ftp"}},
		{"unparsable env", "version: 1\n", map[string]string{"HOUSECTL_DATA_RETRIES": "lots"}, []string{"HOUSECTL_DATA_RETRIES", "data.retries", "whole number"}},
		{"negative procs", "version: 1\nserve:\n  procs: -2\n", nil, []string{"serve.procs", "file test.yaml", "got -2"}},
		{"negative gc percent", "version: 1\n", map[string]string{"HOUSECTL_SERVE_GC_PERCENT": "-1"}, []string{"serve.gc_percent", "env HOUSECTL_SERVE_GC_PERCENT", "got -1"}},
		{"batch size names its own key", "version: 1\n", map[string]string{"HOUSECTL_PREDICTIONS_BATCH_SIZE": "-1"}, []string{"predictions.batch_size", "env HOUSECTL_PREDICTIONS_BATCH_SIZE", "got -1"}},
		{"rate burst names its own key", "version: 1\nserve:\n  rate_burst: 0\n", nil, []string{"serve.rate_burst", "file test.yaml", "got 0"}},
		{"bad sha", "version: 1\ndata:\n  sha256: ABC\n", nil, []string{"data.sha256", "64 lower-case hex"}},
		{"target not a column", "version: 1\nschema:\n  target: nope\n", nil, []string{"schema.target", `"nope" is not one of`}},
		{"bad column type", "version: 1\nschema:\n  columns:\n    - {name: MedHouseVal, type: text}\n    - {name: a}\n", nil, []string{"schema.columns[0].type", "number or category"}},
		{"duplicate column", "version: 1\nschema:\n  target: a\n  columns:\n    - {name: a}\n    - {name: a}\n", nil, []string{"listed twice"}},
		{"min over max", "version: 1\nschema:\n  target: a\n  columns:\n    - {name: a}\n    - {name: b, min: 3, max: 1}\n", nil, []string{"schema.columns[1]", "min 3 is greater than max 1"}},
		{"tracking uri scheme", "version: 1\ntracking:\n  uri: http://mlflow:5000\n", nil, []string{"tracking.uri", `scheme "http"`, "s3://BUCKET/PREFIX"}},
		{"tracking uri no bucket", "version: 1\n", map[string]string{"HOUSECTL_TRACKING_URI": "s3:///p"}, []string{"tracking.uri", "env HOUSECTL_TRACKING_URI", "not an S3 URI"}},
		{"registry elsewhere", "version: 1\ntracking:\n  uri: s3://team/ml\nregistry:\n  uri: s3://other/ml\n", nil, []string{"registry.uri", "not the tracking store (s3://team/ml)", "leave registry.uri empty"}},
		{"category without values", "version: 1\nschema:\n  target: a\n  columns:\n    - {name: a}\n    - {name: b, type: category}\n", nil, []string{"schema.columns[1].values"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadString(t, tt.file, config.LoadOptions{LookupEnv: env(tt.env)})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadFindsDefaultPathOrNone(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	l, err := config.Load(config.LoadOptions{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if l.File != "" || l.Source("data.url").Kind != config.SourceDefault {
		t.Errorf("without a file every key is a default, got file %q", l.File)
	}
	if err := os.MkdirAll("configs", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.FromSlash(config.DefaultPath), []byte("version: 1\ndata:\n  retries: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err = config.Load(config.LoadOptions{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if l.File != config.DefaultPath || l.Config.Data.Retries != 1 {
		t.Errorf("default path not read: file %q retries %d", l.File, l.Config.Data.Retries)
	}
	_, err = config.Load(config.LoadOptions{Path: "missing.yaml", LookupEnv: noEnv})
	if err == nil || !strings.Contains(err.Error(), "missing.yaml does not exist") || !strings.Contains(err.Error(), "housectl init") {
		t.Errorf("explicit missing file: %v", err)
	}
}

func TestEnvVarName(t *testing.T) {
	if got := config.EnvVar("data.retry_backoff"); got != "HOUSECTL_DATA_RETRY_BACKOFF" {
		t.Errorf("EnvVar = %q", got)
	}
}

func TestSettingsListExpansion(t *testing.T) {
	l, err := loadString(t, "version: 1\n", config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range l.Settings() {
		if s.Key == "schema.columns[6].min" {
			found = true
			if s.Value != 32.0 || s.Source.Kind != config.SourceDefault {
				t.Errorf("%+v", s)
			}
		}
		if s.Key == "data.timeout" && s.Value != "2m0s" {
			t.Errorf("duration shown as %v", s.Value)
		}
	}
	if !found {
		t.Error("schema.columns[6].min missing from Settings")
	}
}

// TestREADMEDocumentsEveryKey keeps the README's configuration table in
// step with the Config struct.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range config.Keys() {
		if !strings.Contains(string(readme), "| `"+k+"` |") {
			t.Errorf("README.md's configuration table lacks %s", k)
		}
	}
}

func TestTrainSection(t *testing.T) {
	l, err := loadString(t, `version: 1
train:
  candidates: [gradient_boosting]
  params:
    gradient_boosting: {learning_rate: 0.05, max_iter: 800}
`, config.LoadOptions{LookupEnv: env(map[string]string{"HOUSECTL_TRAIN_SEED": "7"})})
	if err != nil {
		t.Fatal(err)
	}
	tr := l.Config.Train
	if tr.Seed != 7 || len(tr.Candidates) != 1 || tr.Params["gradient_boosting"]["max_iter"] != 800 || tr.CVFolds != 5 {
		t.Errorf("train = %+v", tr)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"version: 1\ntrain:\n  metric: accuracy\n", "train.metric"},
		{"version: 1\ntrain:\n  cv_folds: 1\n", "train.cv_folds"},
		{"version: 1\ntrain:\n  test_fraction: 1.5\n", "train.test_fraction"},
		{"version: 1\ntrain:\n  candidates: [linear, linear]\n", "listed twice"},
		{"version: 1\ntrain:\n  experiment: 'a b'\n", "train.experiment"},
		{"version: 1\ntrain:\n  params: [1]\n", "want a mapping"},
	} {
		if _, err := loadString(t, bad.yaml, config.LoadOptions{}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v", bad.yaml, err)
		}
	}
}

func TestShippedTunedConfigLoads(t *testing.T) {
	l, err := config.Load(config.LoadOptions{Path: "../../configs/gbt-tuned.yaml", LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if p := l.Config.Train.Params["gradient_boosting"]; p["max_iter"] != 1500 || p["subsample"] != 0.8 {
		t.Errorf("params %v", p)
	}
	l, err = config.Load(config.LoadOptions{Path: "../../configs/handson-tuned.yaml", LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if p := l.Config.Train.Params["gradient_boosting"]; p["max_iter"] != 500 || len(l.Config.Schema.Columns) != 10 {
		t.Errorf("handson-tuned: params %v, %d columns", p, len(l.Config.Schema.Columns))
	}
}

// Duration keys take days and weeks, from the file and from the
// environment; a bad one names the forms it takes.
func TestDurationKeysTakeDays(t *testing.T) {
	l, err := loadString(t, "version: 1\nmonitor:\n  window: 2w\n", config.LoadOptions{})
	if err != nil || l.Config.Monitor.Window != 14*24*time.Hour {
		t.Fatalf("file: %v, %v", l, err)
	}
	l, err = loadString(t, "version: 1\n", config.LoadOptions{LookupEnv: env(map[string]string{"HOUSECTL_MONITOR_WINDOW": "1d12h"})})
	if err != nil || l.Config.Monitor.Window != 36*time.Hour {
		t.Fatalf("env: %v, %v", l, err)
	}
	for _, src := range []config.LoadOptions{{}, {LookupEnv: env(map[string]string{"HOUSECTL_MONITOR_WINDOW": "7days"})}} {
		yaml := "version: 1\n"
		if src.LookupEnv == nil {
			yaml += "monitor:\n  window: 7days\n"
		}
		if _, err := loadString(t, yaml, src); err == nil || !strings.Contains(err.Error(), "monitor.window") || !strings.Contains(err.Error(), "7d") {
			t.Errorf("7days: %v", err)
		}
	}
}

// environ lists m as KEY=value.
func environ(m map[string]string) func() []string {
	return func() []string {
		var out []string
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		return out
	}
}

// An unknown HOUSECTL_* variable is an error naming it (with the key it
// was probably meant for), as an unknown key in the file is; housectl's
// own other variables and the test suite's are not.
func TestUnknownEnvironmentVariables(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want []string // in the error; none: loads
	}{
		{map[string]string{"HOUSECTL_SERVE_RATELIMIT": "5"}, []string{"HOUSECTL_SERVE_RATELIMIT is set, but it is no configuration key's variable: did you mean HOUSECTL_SERVE_RATE_LIMIT?"}},
		{map[string]string{"HOUSECTL_NOTHING_LIKE_IT": "1", "HOUSECTL_TRAIN_SEDE": "3"}, []string{"HOUSECTL_NOTHING_LIKE_IT is set", "config show", "did you mean HOUSECTL_TRAIN_SEED?"}},
		{map[string]string{"HOUSECTL_CONFIG": "x", "HOUSECTL_API_KEYS": "k", "HOUSECTL_METRICS_KEY": "m", "HOUSECTL_FORCE_TTY": "1",
			"HOUSECTL_TEST_BIN": "/x", "HOUSECTL_BENCH_DATA": "/y", "HOUSECTL_SHARED_DIR": "/z", "HOUSECTL_VERSION": "v1", "HOUSECTL_TRAIN_SEED": "3", "OTHER_VAR": "1"}, nil},
	} {
		_, err := loadString(t, "version: 1\n", config.LoadOptions{LookupEnv: env(tc.env), Environ: environ(tc.env)})
		if tc.want == nil {
			if err != nil {
				t.Errorf("%v: %v", tc.env, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%v: loaded", tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v\nwant %q", tc.env, err, w)
			}
		}
	}
}

// Lists of words are set from the environment, comma-separated; lists of
// records and maps only in a file.
func TestEnvSetsLists(t *testing.T) {
	e := map[string]string{"HOUSECTL_TRAIN_CANDIDATES": "linear, gradient_boosting", "HOUSECTL_SERVE_TRUSTED_PROXIES": "[10.0.0.0/8,127.0.0.1]"}
	l, err := loadString(t, "version: 1\n", config.LoadOptions{LookupEnv: env(e), Environ: environ(e)})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Config.Train.Candidates; strings.Join(got, "|") != "linear|gradient_boosting" {
		t.Errorf("train.candidates = %q", got)
	}
	if got := l.Config.Serve.TrustedProxies; strings.Join(got, "|") != "10.0.0.0/8|127.0.0.1" {
		t.Errorf("serve.trusted_proxies = %q", got)
	}
	if src := l.Source("train.candidates"); src.String() != "env HOUSECTL_TRAIN_CANDIDATES" {
		t.Errorf("source %v", src)
	}
	e = map[string]string{"HOUSECTL_SCHEMA_COLUMNS": "a,b"}
	if _, err := loadString(t, "version: 1\n", config.LoadOptions{LookupEnv: env(e)}); err == nil || !strings.Contains(err.Error(), "schema.columns can only be set in a file") {
		t.Errorf("schema.columns from the environment: %v", err)
	}
	e = map[string]string{"HOUSECTL_TRAIN_CANDIDATES": "linear,linear"}
	if _, err := loadString(t, "version: 1\n", config.LoadOptions{LookupEnv: env(e)}); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("a bad list from the environment: %v", err)
	}
	e = map[string]string{"HOUSECTL_SERVE_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}
	if _, err := loadString(t, "version: 1\n", config.LoadOptions{LookupEnv: env(e)}); err == nil || !strings.Contains(err.Error(), `"proxy.local" is not an IP address or CIDR prefix`) {
		t.Errorf("a bad proxy: %v", err)
	}
	if _, err := loadString(t, "version: 1\nserve:\n  trust_proxy: true\n", config.LoadOptions{LookupEnv: env(nil)}); err == nil || !strings.Contains(err.Error(), "serve.trusted_proxies") {
		t.Errorf("trust_proxy: true: %v", err)
	}
}

// MLflow's variables name the bucket when housectl's do not; an MLflow
// server's http:// URI is left to MLflow's clients.
func TestMLflowEnvironment(t *testing.T) {
	for _, tt := range []struct {
		env      map[string]string
		store    string
		source   string
		endpoint string
		registry string
	}{
		{map[string]string{"MLFLOW_TRACKING_URI": "s3://team/ml/"}, "s3://team/ml", "env MLFLOW_TRACKING_URI", "", ""},
		{map[string]string{"MLFLOW_TRACKING_URI": "http://localhost:5000"}, "experiments", "default", "", ""},
		{map[string]string{"MLFLOW_TRACKING_URI": "s3://team/ml", "HOUSECTL_TRACKING_URI": "s3://mine/x"}, "s3://mine/x", "env HOUSECTL_TRACKING_URI", "", ""},
		{map[string]string{"MLFLOW_TRACKING_URI": "s3://team/ml", "MLFLOW_REGISTRY_URI": "s3://team/ml", "MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:9000"}, "s3://team/ml", "env MLFLOW_TRACKING_URI", "http://127.0.0.1:9000", "s3://team/ml"},
		{map[string]string{"HOUSECTL_TRACKING_URI": "file:///srv/exp"}, "/srv/exp", "env HOUSECTL_TRACKING_URI", "", ""},
	} {
		l, err := loadString(t, "version: 1\n", config.LoadOptions{LookupEnv: env(tt.env)})
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if got := l.Config.Store(); got != tt.store {
			t.Errorf("%v: store %q, want %q", tt.env, got, tt.store)
		}
		if got := l.Source("tracking.uri").String(); got != tt.source {
			t.Errorf("%v: tracking.uri set by %q, want %q", tt.env, got, tt.source)
		}
		if l.Config.Tracking.S3EndpointURL != tt.endpoint || l.Config.Registry.URI != tt.registry {
			t.Errorf("%v: endpoint %q, registry %q", tt.env, l.Config.Tracking.S3EndpointURL, l.Config.Registry.URI)
		}
	}
}
