// Package promote decides whether a model may take an alias from the
// version that holds it: the one "better than the holder" rule that
// `models promote --if-better`, `train --promote --if-better` and the
// pipeline's evaluate and promote stages share.
//
// Nouns:
//   - Contender: what is compared: a registered version or a finished run,
//     its recorded metrics and the rows they were measured on.
//   - Verdict: better, worse, equal or not comparable, on one metric.
//
// Two contenders are compared on their recorded metrics when they were
// scored on the same test rows (same data and split, or the same test
// file); otherwise both models are scored again on the rows neither was
// trained on (train.CommonTestSet). A verdict on different rows is never
// given.
package promote

import (
	"context"
	"fmt"
	"math"

	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/eval"
	"github.com/housectl/housectl/pkg/exitcode"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
	"github.com/housectl/housectl/pkg/train"
)

// Contender is a model that is compared.
type Contender struct {
	// Label names it in messages ("version 3", "run 2026…").
	Label   string
	Metrics map[string]float64
	Lineage tracking.Lineage
	// Load reads its model, for a rescoring.
	Load func() (*model.Artifact, error)
}

// Version is a registered version as a contender. A rescoring loads it
// without a deadline: from a bucket, the client's own timeouts apply.
func Version(g *registry.Registry, v *registry.Version) Contender {
	return Contender{Label: fmt.Sprintf("version %d", v.Version), Metrics: v.Metrics, Lineage: v.Lineage,
		Load: func() (*model.Artifact, error) { return g.Load(context.Background(), v) }}
}

// Run is a finished run of the store s as a contender.
func Run(s *tracking.Store, r *tracking.Run) Contender {
	return Contender{Label: "run " + r.ID, Metrics: r.Metrics, Lineage: r.Lineage,
		Load: func() (*model.Artifact, error) { return registry.LoadRunModel(context.Background(), s, r) }}
}

// Verdicts.
const (
	Better        = "better"
	Worse         = "worse"
	Equal         = "equal"
	NotComparable = "not comparable"
)

// Comparison is a candidate against a holder on one metric.
type Comparison struct {
	Metric    string  `json:"metric"`
	Candidate float64 `json:"candidate"`
	Holder    float64 `json:"holder"`
	// Rescored is the number of rows both were scored on again when
	// their recorded metrics came from different rows (0: recorded).
	Rescored int    `json:"rescored_rows,omitempty"`
	Verdict  string `json:"verdict"`
	// Why says, for a verdict of not comparable, what was missing.
	Why string `json:"why,omitempty"`
}

// Compare scores cand against holder on metric.
func Compare(cand, holder Contender, metric string, schema config.Schema) Comparison {
	c := Comparison{Metric: metric, Candidate: math.NaN(), Holder: math.NaN()}
	if cand.Lineage.TestSet() == holder.Lineage.TestSet() {
		a, oka := cand.Metrics[metric]
		b, okb := holder.Metrics[metric]
		if !oka || !okb {
			c.Verdict, c.Why = NotComparable, fmt.Sprintf("%s or the holder (%s) has no metric %s", cand.Label, holder.Label, metric)
			return c
		}
		c.Candidate, c.Holder = a, b
	} else {
		rows, err := train.CommonTestSet(cand.Lineage, holder.Lineage, schema)
		if err != nil {
			c.Verdict, c.Why = NotComparable, fmt.Sprintf("%s and the holder (%s) were scored on different rows, and they cannot be rescored on common ones: %v", cand.Label, holder.Label, err)
			return c
		}
		for _, x := range []struct {
			who Contender
			dst *float64
		}{{cand, &c.Candidate}, {holder, &c.Holder}} {
			art, err := x.who.Load()
			var m map[string]float64
			if err == nil {
				m, err = train.Score(art, rows)
			}
			if err != nil {
				c.Verdict, c.Why = NotComparable, fmt.Sprintf("rescoring %s: %v", x.who.Label, err)
				return c
			}
			*x.dst = m[metric]
		}
		c.Rescored = rows.N
	}
	switch {
	case eval.Better(metric, c.Candidate, c.Holder):
		c.Verdict = Better
	case c.Candidate == c.Holder:
		c.Verdict = Equal
	default:
		c.Verdict = Worse
	}
	return c
}

// RefusedError is a promotion the gate refused; its exit status is
// exitcode.Gate.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "not promoted: " + e.Reason }

// ExitCode implements exitcode.Coder.
func (e *RefusedError) ExitCode() int { return exitcode.Gate }

// Gate returns the registry gate that lets a version take an alias only
// when it beats the holder on metric (an unset alias lets any version
// in). It runs under the registry's lock, so it judges the holder it
// replaces.
func Gate(g *registry.Registry, metric string, schema config.Schema) registry.Gate {
	return func(cur, cand *registry.Version) error {
		if cur == nil {
			return nil
		}
		c := Compare(Version(g, cand), Version(g, cur), metric, schema)
		switch {
		case c.Verdict == Better:
			return nil
		case c.Verdict == NotComparable:
			return &RefusedError{Reason: c.Why}
		case c.Rescored > 0:
			return &RefusedError{Reason: fmt.Sprintf("rescored on the %d rows neither trained on, version %d has %s %.6g, not better than the holder's (version %d) %.6g", c.Rescored, cand.Version, metric, c.Candidate, cur.Version, c.Holder)}
		}
		return &RefusedError{Reason: fmt.Sprintf("version %d has %s %.6g, not better than the holder's (version %d) %.6g", cand.Version, metric, c.Candidate, cur.Version, c.Holder)}
	}
}

// Options are a promotion's settings.
type Options struct {
	// IfBetter gates the move on Metric (see Gate).
	IfBetter bool
	Metric   string
	Schema   config.Schema
	// Reason is kept in the history; with IfBetter and no reason, the
	// gate is named.
	Reason string
}

// Promote moves alias of name to version n, gated when o.IfBetter.
func Promote(ctx context.Context, g *registry.Registry, name, alias string, n int, o Options) (registry.Event, error) {
	po := registry.PromoteOptions{Reason: o.Reason}
	if o.IfBetter {
		po.Gate = Gate(g, o.Metric, o.Schema)
		if po.Reason == "" {
			po.Reason = "--if-better on " + o.Metric
		}
	}
	return g.Promote(ctx, name, alias, n, po)
}
