// Package modelscmd implements `housectl models register|list|show|promote|rollback`.
package modelscmd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/eval"
	"github.com/housectl/housectl/pkg/promote"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/ui"
)

// Options are the flags shared by the models verbs.
type Options struct {
	Ctx         context.Context
	IO          *ui.IOStreams
	Registry    func() (*registry.Registry, string, error) // and train.metric
	Config      func() (*config.Loaded, error)
	Args        []string
	Name        string
	Alias       string
	Description string
	Reason      string
	IfBetter    bool
	Metric      string
	JSON        bool
}

// NewCmdModels returns `housectl models`.
func NewCmdModels(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models <command>",
		Short: "Register model versions and move aliases (production, staging, ...)",
		Long: `The model registry lives in experiments/models/ (docs/FORMATS.md). A version
is an immutable record of a finished run's model, its lineage and checksum;
an alias (MLflow's rules: letters, digits, _ and -, not "latest" or v<N>)
points at one version and moves atomically, each move appended to the
model's history. Models are named in URIs as models:/NAME/VERSION,
models:/NAME/latest or models:/NAME@ALIAS (predict, serve, runs compare).`,
		Example: `  housectl models register gradient_boosting --name california
  housectl models promote california 3 --alias production --if-better
  housectl models rollback california --alias production
  housectl models show california`,
	}
	reg := func(cmd *cobra.Command) func() (*registry.Registry, string, error) {
		return func() (*registry.Registry, string, error) {
			l, err := f.Config(cmd)
			if err != nil {
				return nil, "", err
			}
			g, err := cmdutil.Registry(cmd.Context(), f, l)
			return g, l.Config.Train.Metric, err
		}
	}
	mk := func(use, short, long, example string, args cobra.PositionalArgs, flags func(*cobra.Command, *Options), run func(*Options) error) *cobra.Command {
		opts := &Options{IO: f.IOStreams}
		c := &cobra.Command{Use: use, Short: short, Long: long, Example: example, Args: args,
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.Ctx, opts.Args, opts.Registry = cmd.Context(), args, reg(cmd)
				opts.Config = func() (*config.Loaded, error) { return f.Config(cmd) }
				return run(opts)
			}}
		if flags != nil {
			flags(c, opts)
		}
		return c
	}
	jsonFlag := func(c *cobra.Command, o *Options) { c.Flags().BoolVar(&o.JSON, "json", false, "print JSON") }
	cmd.AddCommand(
		mk("register <run> --name <model> [--description <text>]", "Register a finished run's model as the next version",
			"Register the model of a finished run (id, unique id prefix or name) as the next version of --name. The\nartifact's SHA-256 must still match the run's record.",
			"  housectl models register gradient_boosting --name california", cobra.ExactArgs(1),
			func(c *cobra.Command, o *Options) {
				c.Flags().StringVar(&o.Name, "name", "", "registered model name (required)")
				c.Flags().StringVar(&o.Description, "description", "", "a note kept with the version")
				jsonFlag(c, o)
			}, registerRun),
		mk("list [--json]", "List registered models with their latest version and aliases", "", "  housectl models list", cmdutil.NoArgs, jsonFlag, listRun),
		mk("show <name>[/<version>] [--json]", "Show a model's versions and alias history, or one version", "",
			"  housectl models show california\n  housectl models show california/3", cobra.ExactArgs(1), jsonFlag, showRun),
		mk("promote <name> <version> --alias <alias> [--if-better [--metric <m>]] [--reason <text>]", "Point an alias at a version",
			`Move --alias to the version, atomically, and append the move (who, when, from,
to, reason) to the model's history. With --if-better the move is refused (exit
5) unless the version beats the alias's current holder on --metric (default:
train.metric), both scored on the same test rows.`,
			"  housectl models promote california 3 --alias production --if-better --reason \"retrained on May data\"", cobra.ExactArgs(2),
			func(c *cobra.Command, o *Options) { promoteFlags(c, o); jsonFlag(c, o) }, promoteRun),
		mk("rollback <name> --alias <alias> [--reason <text>]", "Give an alias back to its previous holder",
			"Undo the last move of --alias: each rollback restores the version that held it before the current one.",
			"  housectl models rollback california --alias production --reason \"p99 latency regression\"", cobra.ExactArgs(1),
			func(c *cobra.Command, o *Options) {
				c.Flags().StringVar(&o.Alias, "alias", "", "alias to roll back (required)")
				c.Flags().StringVar(&o.Reason, "reason", "", "why, kept in the history")
				jsonFlag(c, o)
			}, rollbackRun),
	)
	return cmd
}

func promoteFlags(c *cobra.Command, o *Options) {
	c.Flags().StringVar(&o.Alias, "alias", "", "alias to move, e.g. production (required)")
	c.Flags().BoolVar(&o.IfBetter, "if-better", false, "refuse (exit 5) unless the version beats the current holder")
	c.Flags().StringVar(&o.Metric, "metric", "", "metric for --if-better (default: train.metric)")
	c.Flags().StringVar(&o.Reason, "reason", "", "why, kept in the history")
}

func registerRun(o *Options) error {
	if o.Name == "" {
		return cmdutil.FlagErrorf("--name is required: the registered model's name, e.g. california")
	}
	if err := registry.ValidateName(o.Name); err != nil {
		return cmdutil.FlagErrorf("--name: %w", err)
	}
	g, _, err := o.Registry()
	if err != nil {
		return err
	}
	run, err := g.Store.Find(o.Args[0])
	if err != nil {
		return err
	}
	v, err := g.Register(o.Ctx, run, o.Name, o.Description)
	if err != nil {
		return err
	}
	if o.JSON {
		return ui.WriteJSON(o.IO.Out, v)
	}
	fmt.Fprintf(o.IO.Out, "registered %s version %d from run %s (%s)\n", v.Name, v.Version, v.RunID, v.Model)
	return nil
}

func listRun(o *Options) error {
	g, _, err := o.Registry()
	if err != nil {
		return err
	}
	ms, err := g.List()
	if err != nil {
		return err
	}
	if o.JSON {
		if ms == nil {
			ms = []*registry.Model{}
		}
		return ui.WriteJSON(o.IO.Out, ms)
	}
	if len(ms) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "no registered models; register a run with `housectl models register RUN --name NAME`")
		return nil
	}
	t := &ui.Table{Headers: []string{"NAME", "VERSIONS", "LATEST", "ALIASES", "UPDATED"}}
	for _, m := range ms {
		latest := m.Versions[len(m.Versions)-1]
		var aliases []string
		for _, a := range sortedAliases(m.Aliases) {
			aliases = append(aliases, fmt.Sprintf("%s→v%d", a, m.Aliases[a]))
		}
		updated := latest.Created
		if n := len(m.History); n > 0 && m.History[n-1].Time.After(updated) {
			updated = m.History[n-1].Time
		}
		t.Append(m.Name, strconv.Itoa(len(m.Versions)), fmt.Sprintf("v%d (%s)", latest.Version, latest.Model), strings.Join(aliases, ", "), updated.UTC().Format(time.RFC3339))
	}
	return t.Render(o.IO)
}

func sortedAliases(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

func showRun(o *Options) error {
	g, _, err := o.Registry()
	if err != nil {
		return err
	}
	name, ver, hasVer := strings.Cut(o.Args[0], "/")
	m, err := g.Get(name)
	if err != nil {
		return err
	}
	if hasVer {
		n, err := strconv.Atoi(strings.TrimPrefix(ver, "v"))
		if err != nil {
			return cmdutil.FlagErrorf("version %q is not a number", ver)
		}
		v, err := g.Version(name, n)
		if err != nil {
			return err
		}
		if o.JSON {
			return ui.WriteJSON(o.IO.Out, struct {
				*registry.Version
				Aliases []string `json:"aliases"`
			}{v, m.AliasesOf(n)})
		}
		st := o.IO.Styles()
		kv := func(k, v string) {
			if v != "" {
				fmt.Fprintf(o.IO.Out, "  %-14s %s\n", st.Key.Render(k), v)
			}
		}
		fmt.Fprintln(o.IO.Out, st.Bold.Render(fmt.Sprintf("%s version %d", v.Name, v.Version)))
		kv("aliases", strings.Join(m.AliasesOf(n), ", "))
		kv("model", v.Model)
		kv("run", v.RunID+" ("+v.Experiment+")")
		kv("source", v.Source)
		kv("artifact", v.Artifact)
		kv("sha256", v.SHA256)
		kv("data md5", v.DataMD5)
		kv("test rows", v.TestSet)
		kv("created", v.Created.Format(time.RFC3339)+" by "+v.User)
		kv("description", v.Description)
		if v.Lineage.GitCommit != "" {
			kv("git", v.Lineage.GitCommit+" on "+v.Lineage.GitBranch)
		}
		for _, k := range sortedKeys(v.Metrics) {
			kv(k, strconv.FormatFloat(v.Metrics[k], 'g', 5, 64))
		}
		return nil
	}
	if o.JSON {
		return ui.WriteJSON(o.IO.Out, m)
	}
	t := &ui.Table{Headers: []string{"VERSION", "ALIASES", "MODEL", "RMSE", "RUN", "CREATED"}}
	for i := len(m.Versions) - 1; i >= 0; i-- {
		v := m.Versions[i]
		rmse := ""
		if x, ok := v.Metrics[eval.RMSE]; ok {
			rmse = strconv.FormatFloat(x, 'g', 5, 64)
		}
		t.Append(strconv.Itoa(v.Version), strings.Join(m.AliasesOf(v.Version), ", "), v.Model, rmse, v.RunID, v.Created.UTC().Format(time.RFC3339))
	}
	if err := t.Render(o.IO); err != nil {
		return err
	}
	if len(m.History) > 0 {
		fmt.Fprintln(o.IO.Out)
		h := &ui.Table{Headers: []string{"TIME", "ACTION", "ALIAS", "FROM", "TO", "USER", "REASON"}}
		for _, e := range m.History {
			from := "-"
			if e.From > 0 {
				from = strconv.Itoa(e.From)
			}
			h.Append(e.Time.UTC().Format(time.RFC3339), e.Action, e.Alias, from, strconv.Itoa(e.To), e.User, e.Reason)
		}
		return h.Render(o.IO)
	}
	return nil
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func promoteRun(o *Options) error {
	if o.Alias == "" {
		return cmdutil.FlagErrorf("--alias is required, e.g. --alias production")
	}
	if err := registry.ValidateAlias(o.Alias); err != nil {
		return cmdutil.FlagErrorf("--alias: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(o.Args[1], "v"))
	if err != nil || n < 1 {
		return cmdutil.FlagErrorf("version %q is not a positive number", o.Args[1])
	}
	g, defMetric, err := o.Registry()
	if err != nil {
		return err
	}
	metric := o.Metric
	if metric == "" {
		metric = defMetric
	}
	if _, err := eval.LowerIsBetter(metric); err != nil {
		return cmdutil.FlagErrorf("--metric: %w", err)
	}
	l, err := o.Config()
	if err != nil {
		return err
	}
	e, err := promote.Promote(o.Ctx, g, o.Args[0], o.Alias, n, promote.Options{IfBetter: o.IfBetter, Metric: metric, Reason: o.Reason, Schema: l.Config.Schema})
	if err != nil {
		return err
	}
	return report(o, e, o.Args[0])
}

func rollbackRun(o *Options) error {
	if o.Alias == "" {
		return cmdutil.FlagErrorf("--alias is required, e.g. --alias production")
	}
	if err := registry.ValidateAlias(o.Alias); err != nil {
		return cmdutil.FlagErrorf("--alias: %w", err)
	}
	g, _, err := o.Registry()
	if err != nil {
		return err
	}
	e, err := g.Rollback(o.Ctx, o.Args[0], o.Alias, o.Reason)
	if err != nil {
		return err
	}
	return report(o, e, o.Args[0])
}

func report(o *Options, e registry.Event, name string) error {
	if o.JSON {
		return ui.WriteJSON(o.IO.Out, e)
	}
	switch e.From {
	case e.To:
		fmt.Fprintf(o.IO.Out, "%s@%s already is version %d\n", name, e.Alias, e.To)
	case 0:
		fmt.Fprintf(o.IO.Out, "%s@%s → version %d\n", name, e.Alias, e.To)
	default:
		fmt.Fprintf(o.IO.Out, "%s@%s: version %d → %d (%s)\n", name, e.Alias, e.From, e.To, e.Action)
	}
	return nil
}
