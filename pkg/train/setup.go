package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/model/all"
	"github.com/housectl/housectl/pkg/tracking"
)

// Overrides change a configuration for one training: the candidates
// (`train --model`) and model parameters (`train --set`).
type Overrides struct {
	// Models replaces train.candidates.
	Models []string
	// Sets are KIND.PARAM=VALUE, or PARAM=VALUE when exactly one model is
	// trained; the value is read as YAML (0.1, true, "text").
	Sets []string
}

// Apply returns cfg with the overrides applied to its train section (cfg
// is not changed). A --set for a model that is not trained, or for a
// parameter its model does not have, is an *InputError naming it.
func (ov Overrides) Apply(cfg config.Config) (config.Config, error) {
	tc := &cfg.Train
	params := make(map[string]map[string]any, len(tc.Params))
	for k, v := range tc.Params {
		params[k] = maps.Clone(v)
	}
	tc.Params = params
	if len(ov.Models) > 0 {
		tc.Candidates = slices.Compact(slices.Clone(ov.Models))
	}
	for _, s := range ov.Sets {
		key, val, ok := strings.Cut(s, "=")
		if !ok || key == "" {
			return cfg, inputErr("--set %q: want KIND.PARAM=VALUE (or PARAM=VALUE with one --model), e.g. gradient_boosting.learning_rate=0.05", s)
		}
		kind, name, qualified := strings.Cut(key, ".")
		if !qualified {
			if len(tc.Candidates) != 1 {
				return cfg, inputErr("--set %q names no model, and %d are trained (%s): write KIND.%s=%s", s, len(tc.Candidates), strings.Join(tc.Candidates, ", "), key, val)
			}
			kind, name = tc.Candidates[0], key
		}
		if kind == "" || name == "" {
			return cfg, inputErr("--set %q: want KIND.PARAM=VALUE, e.g. gradient_boosting.learning_rate=0.05", s)
		}
		if !slices.Contains(tc.Candidates, kind) {
			return cfg, inputErr("--set %q: %s is not trained (the candidates are %s): add --model %s, or drop the --set", s, kind, strings.Join(tc.Candidates, ", "), kind)
		}
		var v any
		if err := yaml.Unmarshal([]byte(val), &v); err != nil || v == nil {
			v = val
		}
		next := maps.Clone(params[kind])
		if next == nil {
			next = map[string]any{}
		}
		next[name] = v
		if _, _, err := all.Trainer(kind, next); err != nil {
			return cfg, inputErr("--set %q: %w", s, err)
		}
		params[kind] = next
	}
	return cfg, nil
}

// ConfigHash is the SHA-256 of the effective configuration, as runs record
// it (lineage.config_sha256): any change that reaches training changes it.
func ConfigHash(cfg config.Config) string {
	b, _ := json.Marshal(cfg)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// LineageOptions are the facts of the process that trains.
type LineageOptions struct {
	Version, GoVersion, User string
}

// NewLineage starts a run's lineage: the effective configuration's hash,
// the code (housectl's version, the git commit, branch and whether the
// tree is dirty), and the process (host, pid, user). Train adds the data.
func NewLineage(ctx context.Context, cfg config.Config, o LineageOptions) tracking.Lineage {
	host, _ := os.Hostname()
	lin := tracking.Lineage{ConfigSHA256: ConfigHash(cfg), Version: o.Version, GoVersion: o.GoVersion, Host: host,
		PID: os.Getpid(), PIDStart: tracking.ProcessStart(os.Getpid()), User: o.User}
	lin.GitCommit, lin.GitBranch, lin.GitDirty = gitState(ctx)
	return lin
}

// gitState returns the commit, branch and dirtiness of the working tree,
// or zero values outside a git repository (or without git).
func gitState(ctx context.Context) (commit, branch string, dirty bool) {
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "git", args...).Output()
		return strings.TrimSpace(string(out)), err
	}
	commit, err := run("rev-parse", "HEAD")
	if err != nil {
		return "", "", false
	}
	branch, _ = run("rev-parse", "--abbrev-ref", "HEAD")
	status, _ := run("status", "--porcelain", "--untracked-files=no")
	return commit, branch, status != ""
}

// Request is one training as the commands ask for it: the configuration,
// what overrides it, and the process's facts.
type Request struct {
	Config    config.Config
	Overrides Overrides
	// Data and TestData override data.path and hold out a test file.
	Data, TestData string
	Tags           map[string]string
	Now            func() time.Time
	Lineage        LineageOptions
	Progress       func(Progress)
	// Store keeps the runs (nil: experiments.dir of the configuration).
	Store *tracking.Store
}

// FromConfig applies the overrides, builds the lineage and trains; the
// runs record the effective configuration (config.json) and its hash. It
// returns the effective configuration with the result.
func FromConfig(ctx context.Context, r Request) (*Result, config.Config, error) {
	cfg, err := r.Overrides.Apply(r.Config)
	if err != nil {
		return nil, cfg, err
	}
	data := cfg.Data.Path
	if r.Data != "" {
		data = r.Data
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	store := r.Store
	if store == nil {
		store = &tracking.Store{Dir: cfg.Experiments.Dir, Now: r.Now}
	}
	res, err := Run(ctx, Options{
		DataPath: data, TestDataPath: r.TestData, Schema: cfg.Schema, Train: cfg.Train,
		Store: store, Lineage: NewLineage(ctx, cfg, r.Lineage),
		Tags: r.Tags, Version: r.Lineage.Version, Progress: r.Progress, Config: &cfg,
	})
	return res, cfg, err
}

// ParseTags reads KEY=VALUE tags.
func ParseTags(tags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, inputErr("--tag %q: want key=value", t)
		}
		out[k] = v
	}
	return out, nil
}
