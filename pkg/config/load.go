package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Source kinds, lowest precedence first.
const (
	SourceDefault = "default"
	SourceFile    = "file"
	SourceEnv     = "env"
	SourceFlag    = "flag"
)

// Source is where a key's effective value came from.
type Source struct {
	Kind string `json:"kind"`
	// Name is the file path, the environment variable or the flag (--url);
	// empty for defaults.
	Name string `json:"name,omitempty"`
}

func (s Source) String() string {
	if s.Name == "" {
		return s.Kind
	}
	return s.Kind + " " + s.Name
}

// LoadOptions says where to look for each layer.
type LoadOptions struct {
	// Path is the config file given with --config. Empty means DefaultPath
	// if it exists, else defaults only.
	Path string
	// LookupEnv reads the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment as KEY=value; nil means os.Environ
	// when LookupEnv is nil too, else the environment is not listed and
	// unknown HOUSECTL_* variables go unnoticed.
	Environ func() []string
	// Flags maps keys to the command-line flags that set them; only flags
	// the user changed override.
	Flags map[string]*pflag.Flag
}

// Loaded is an effective configuration and where each value came from.
type Loaded struct {
	Config  Config
	File    string // the file read, or "" when none
	sources map[string]Source
}

// Error is a configuration problem: bad YAML, an unknown key, a wrong type
// or an invalid value. Its message names the key and where it was set.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0]
	}
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// Load reads the config file (if any), the environment and flags on top of
// Defaults, and validates the result.
func Load(opts LoadOptions) (*Loaded, error) {
	path, explicit := opts.Path, opts.Path != ""
	if !explicit {
		path = DefaultPath
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist) && !explicit:
		return load(nil, "", opts)
	case errors.Is(err, os.ErrNotExist):
		return nil, &Error{Problems: []string{fmt.Sprintf("config file %s does not exist: check --config or HOUSECTL_CONFIG, or run `housectl init` to create one", path)}}
	default:
		return nil, fmt.Errorf("read config file: %w", err)
	}
	return load(data, path, opts)
}

// LoadReader is Load with the file's content given; name is shown in errors.
func LoadReader(r io.Reader, name string, opts LoadOptions) (*Loaded, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", name, err)
	}
	return load(data, name, opts)
}

func load(data []byte, file string, opts LoadOptions) (*Loaded, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var problems []string
	v := viper.New()
	v.SetConfigType("yaml")
	if file != "" {
		for _, err := range checkFile(data) {
			problems = append(problems, fmt.Sprintf("%s: %v", file, err))
		}
		if len(problems) > 0 {
			return nil, &Error{Problems: problems}
		}
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, &Error{Problems: []string{fmt.Sprintf("%s: %v", file, err)}}
		}
	}

	defaults := Defaults()
	dv := reflect.ValueOf(defaults)
	keys := keyTable()
	sources := make(map[string]Source, len(keys))
	for _, k := range keys {
		src := Source{Kind: SourceDefault}
		if file != "" && v.InConfig(k.Name) {
			src = Source{Kind: SourceFile, Name: file}
		}
		env := k.EnvVar()
		if k.Name == "version" {
			// The file's format version: a property of the file, not a
			// setting (and HOUSECTL_VERSION is the deploy script's).
			v.SetDefault(k.Name, defaults.Version)
			sources[k.Name] = src
			continue
		}
		if k.List {
			if raw, ok := lookup(env); ok && raw != "" {
				if k.Type.Elem().Kind() != reflect.String {
					problems = append(problems, fmt.Sprintf("%s: %s can only be set in a file", env, k.Name))
				} else {
					v.Set(k.Name, splitList(raw))
					src = Source{Kind: SourceEnv, Name: env}
				}
			}
			if fl, ok := opts.Flags[k.Name]; ok && fl != nil && fl.Changed {
				v.Set(k.Name, splitList(fl.Value.String()))
				src = Source{Kind: SourceFlag, Name: "--" + fl.Name}
			}
			sources[k.Name] = src
			continue
		}
		v.SetDefault(k.Name, dv.FieldByIndex(k.Index).Interface())
		if raw, ok := lookup(mlflowEnv[k.Name]); ok && raw != "" && (k.Name == "tracking.s3_endpoint_url" || strings.HasPrefix(raw, "s3://")) {
			v.Set(k.Name, raw)
			src = Source{Kind: SourceEnv, Name: mlflowEnv[k.Name]}
		}
		if raw, ok := lookup(env); ok && raw != "" {
			if err := checkScalar(raw, k.Type); err != nil {
				problems = append(problems, fmt.Sprintf("%s=%q (%s): %v", env, raw, k.Name, err))
			}
			// Set rather than BindEnv: the environment is read through
			// LookupEnv, so tests can pass their own.
			v.Set(k.Name, raw)
			src = Source{Kind: SourceEnv, Name: env}
		}
		// A flag overrides only when the user set it: its default must not
		// hide the file's value.
		if fl, ok := opts.Flags[k.Name]; ok && fl != nil && fl.Changed {
			v.Set(k.Name, fl.Value.String())
			src = Source{Kind: SourceFlag, Name: "--" + fl.Name}
		}
		sources[k.Name] = src
	}
	environ := opts.Environ
	if environ == nil && opts.LookupEnv == nil {
		environ = os.Environ
	}
	if environ != nil {
		problems = append(problems, unknownEnv(environ(), keys)...)
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}

	cfg := defaults
	err := v.Unmarshal(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.ZeroFields = true
		dc.WeaklyTypedInput = true
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			durationHook,
			mapstructure.StringToSliceHookFunc(","),
		)
	})
	if err != nil {
		return nil, &Error{Problems: []string{err.Error()}}
	}
	for i := range cfg.Schema.Columns {
		if cfg.Schema.Columns[i].Type == "" {
			cfg.Schema.Columns[i].Type = TypeNumber
		}
	}
	l := &Loaded{Config: cfg, File: file, sources: sources}
	if verrs := Validate(cfg); len(verrs) > 0 {
		for _, fe := range verrs {
			problems = append(problems, fmt.Sprintf("%s (set by %s): %s", fe.Key, l.Source(fe.Key), fe.Msg))
		}
		return nil, &Error{Problems: problems}
	}
	return l, nil
}

// checkScalar reports whether raw text (from the environment) parses as a
// value of type t.
func checkScalar(raw string, t reflect.Type) error {
	var err error
	switch {
	case t == durationType:
		if _, err = ParseDuration(raw); err != nil {
			return errors.New("want a duration such as 30s, 2m or 7d")
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		if _, err = strconv.ParseInt(raw, 10, 64); err != nil {
			return errors.New("want a whole number")
		}
	case t.Kind() == reflect.Float64:
		if _, err = strconv.ParseFloat(raw, 64); err != nil {
			return errors.New("want a number")
		}
	case t.Kind() == reflect.Bool:
		if _, err = strconv.ParseBool(raw); err != nil {
			return errors.New("want true or false")
		}
	}
	return nil
}

// Source tells where the key's value came from. Keys inside a list
// (schema.columns[2].min) report the list's source.
func (l *Loaded) Source(name string) Source {
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	if s, ok := l.sources[name]; ok {
		return s
	}
	return Source{Kind: SourceDefault}
}

// Setting is one leaf value of the effective configuration.
type Setting struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Source Source `json:"source"`
}

// Settings flattens the effective configuration into leaf settings in
// declaration order; list elements are expanded as key[i].field.
func (l *Loaded) Settings() []Setting {
	var out []Setting
	rv := reflect.ValueOf(l.Config)
	for _, k := range keyTable() {
		fv := rv.FieldByIndex(k.Index)
		if !k.List {
			out = append(out, Setting{Key: k.Name, Value: displayValue(fv), Source: l.Source(k.Name)})
			continue
		}
		src := l.Source(k.Name)
		if fv.Kind() == reflect.Map {
			if fv.Len() == 0 {
				out = append(out, Setting{Key: k.Name, Value: map[string]any{}, Source: src})
			}
			keys := fv.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
			for _, mk := range keys {
				out = append(out, Setting{Key: k.Name + "." + mk.String(), Value: fv.MapIndex(mk).Interface(), Source: src})
			}
			continue
		}
		if fv.Len() == 0 {
			out = append(out, Setting{Key: k.Name, Value: []any{}, Source: src})
		}
		for i := range fv.Len() {
			el := fv.Index(i)
			if el.Kind() != reflect.Struct {
				out = append(out, Setting{Key: fmt.Sprintf("%s[%d]", k.Name, i), Value: displayValue(el), Source: src})
				continue
			}
			for j := range el.NumField() {
				tag := el.Type().Field(j).Tag.Get("mapstructure")
				f := el.Field(j)
				if (f.Kind() == reflect.Pointer || f.Kind() == reflect.Slice) && f.IsNil() {
					continue
				}
				if f.Kind() == reflect.Bool && !f.Bool() {
					continue
				}
				out = append(out, Setting{Key: fmt.Sprintf("%s[%d].%s", k.Name, i, tag), Value: displayValue(f), Source: src})
			}
		}
	}
	return out
}

func displayValue(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	return v.Interface()
}

// splitList reads a list given as text: comma-separated, as in
// HOUSECTL_TRAIN_CANDIDATES=linear,gradient_boosting; a YAML-style
// [a, b] is taken too.
func splitList(raw string) []string {
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(raw, "[") && strings.HasSuffix(raw, "]") {
		raw = raw[1 : len(raw)-1]
	}
	out := []string{}
	for _, e := range strings.Split(raw, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// mlflowEnv are the MLflow variables that set a key when its HOUSECTL_
// variable does not: an MLflow user's bucket works as it is. A tracking
// or registry URI is taken only when it names a bucket (s3://): an
// http:// URI names an MLflow server, which is a client's setting.
var mlflowEnv = map[string]string{
	"tracking.uri":             "MLFLOW_TRACKING_URI",
	"registry.uri":             "MLFLOW_REGISTRY_URI",
	"tracking.s3_endpoint_url": "MLFLOW_S3_ENDPOINT_URL",
}

// OtherEnvVars are the HOUSECTL_* variables that are not configuration
// keys: read by housectl itself (the config file, the terminal), named by
// the default configuration (API keys), used by the deploy script, or
// reserved for the test suite (HOUSECTL_TEST_*, HOUSECTL_BENCH_*).
var OtherEnvVars = []string{"HOUSECTL_CONFIG", "HOUSECTL_FORCE_TTY", "HOUSECTL_API_KEYS", "HOUSECTL_API_KEY", "HOUSECTL_METRICS_KEY",
	"HOUSECTL_VERSION", "HOUSECTL_COMMIT", "HOUSECTL_SHARED_DIR"}

// unknownEnv reports every HOUSECTL_* variable of the environment that is
// neither a key's nor one of OtherEnvVars, as an unknown key in the file
// is: a typo would otherwise be ignored.
func unknownEnv(environ []string, keys []key) []string {
	known := make(map[string]bool, len(keys)+len(OtherEnvVars))
	for _, k := range keys {
		known[k.EnvVar()] = true
	}
	for _, n := range OtherEnvVars {
		known[n] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "HOUSECTL_") || known[name] || strings.HasPrefix(name, "HOUSECTL_TEST_") || strings.HasPrefix(name, "HOUSECTL_BENCH_") {
			continue
		}
		msg := fmt.Sprintf("%s is set, but it is no configuration key's variable", name)
		if near := nearestEnv(name, keys); near != "" {
			msg += fmt.Sprintf(": did you mean %s?", near)
		} else {
			msg += ": see `housectl config show` for the keys (a key's variable is HOUSECTL_ and the key in upper case, dots as underscores), or unset it"
		}
		out = append(out, msg)
	}
	slices.Sort(out)
	return out
}

// nearestEnv is the key variable closest to name (at most 3 edits away).
func nearestEnv(name string, keys []key) string {
	best, bestD := "", 4
	for _, k := range keys {
		if d := editDistance(name, k.EnvVar()); d < bestD {
			best, bestD = k.EnvVar(), d
		}
	}
	return best
}

// editDistance is Levenshtein's distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
