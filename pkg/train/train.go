// Package train runs the training pipeline: load and check the data, hold
// out a test split, cross-validate and fit each candidate model, evaluate
// it, and record each candidate as a run.
package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/dvc"
	"github.com/housectl/housectl/pkg/eval"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/model/all"
	"github.com/housectl/housectl/pkg/model/gbt"
	"github.com/housectl/housectl/pkg/model/linear"
	"github.com/housectl/housectl/pkg/plots"
	"github.com/housectl/housectl/pkg/pyfmt"
	"github.com/housectl/housectl/pkg/tracking"
)

// Options are everything a training run needs.
type Options struct {
	DataPath     string
	TestDataPath string // when set, evaluate on it and train on all of DataPath
	Schema       config.Schema
	Train        config.Train
	Store        *tracking.Store
	// Lineage is filled in with the data's hashes and row count.
	Lineage tracking.Lineage
	Tags    map[string]string
	// Progress receives events from the training goroutine.
	Progress func(Progress)
	// Version is recorded in artifacts (created_with).
	Version string
	// Config, when set, is the effective configuration: each run keeps it
	// as config.json (its hash is Lineage.ConfigSHA256).
	Config *config.Config
}

// Progress says where training is.
type Progress struct {
	Candidate string
	Index     int // 1-based candidate number
	Of        int
	Fold      int // 1-based; 0 during the final fit
	Folds     int
	Event     model.Event
}

// Candidate is the outcome of one model.
type Candidate struct {
	Model      string             `json:"model"`
	RunID      string             `json:"run_id"`
	RunDir     string             `json:"run_dir"`
	Params     map[string]string  `json:"params"`
	CV         map[string]float64 `json:"cv,omitempty"` // mean over folds
	CVStd      map[string]float64 `json:"cv_std,omitempty"`
	Metrics    map[string]float64 `json:"metrics"` // on the test rows
	FitSeconds float64            `json:"fit_seconds"`
	Artifact   tracking.Artifact  `json:"artifact"`
}

// Result is the outcome of a training run.
type Result struct {
	Metric     string      `json:"metric"`
	Best       int         `json:"best"` // index into Candidates
	Candidates []Candidate `json:"candidates"`
	TrainRows  int         `json:"train_rows"`
	TestRows   int         `json:"test_rows"`
	DataMD5    string      `json:"data_md5"`
}

// InputError is bad input found before any work: the message says what.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

type prepared struct {
	kind    string
	trainer model.Trainer
	params  map[string]string // as MLflow records them: Python's str()
	typed   any               // the kind's parameter struct, for the artifact
}

// Run trains every candidate and returns the results, best first by the
// configured metric. Bad input is an *InputError before anything is
// written.
func Run(ctx context.Context, o Options) (*Result, error) {
	tc := o.Train
	// Step 1: the candidates and their parameters.
	var cands []prepared
	for _, kind := range tc.Candidates {
		tr, p, err := all.Trainer(kind, tc.Params[kind])
		if err != nil {
			return nil, inputErr("train.candidates/params: %w", err)
		}
		cands = append(cands, prepared{kind: kind, trainer: tr, params: pyfmt.Params(p), typed: p})
	}
	for kind := range tc.Params {
		if !slices.Contains(tc.Candidates, kind) && !slices.Contains(all.Kinds, kind) {
			return nil, inputErr("train.params: unknown model %q (models: %v)", kind, all.Kinds)
		}
	}
	if _, err := eval.LowerIsBetter(tc.Metric); err != nil {
		return nil, inputErr("train.metric: %w", err)
	}

	// Step 2: the data.
	d, _, err := dataset.Load(o.DataPath, o.Schema)
	if err != nil {
		return nil, &InputError{Err: err}
	}
	id, _, err := dvc.HashFile(o.DataPath)
	if err != nil {
		return nil, err
	}
	lin := o.Lineage
	lin.DataPath, lin.DataMD5, lin.DataRows, lin.Seed = o.DataPath, string(id), d.N, uint64(tc.Seed)
	var trainSet, testSet *dataset.Dataset
	if o.TestDataPath != "" {
		t, _, err := dataset.Load(o.TestDataPath, o.Schema)
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("--test-data: %w", err)}
		}
		tid, _, err := dvc.HashFile(o.TestDataPath)
		if err != nil {
			return nil, err
		}
		lin.TestDataPath, lin.TestDataMD5 = o.TestDataPath, string(tid)
		trainSet, testSet = d, t
	} else {
		s, err := dataset.TrainTestSplit(d.N, tc.TestFraction, uint64(tc.Seed))
		if err != nil {
			return nil, inputErr("%s: %w", o.DataPath, err)
		}
		trainSet, testSet = d.Subset(s.Train), d.Subset(s.Test)
		lin.TestFraction = tc.TestFraction
	}
	lin.TestRows = testSet.N
	if err := checkTarget(trainSet); err != nil {
		return nil, err
	}
	var folds []dataset.Fold
	if tc.CVFolds > 0 {
		idx := make([]int, trainSet.N)
		for i := range idx {
			idx[i] = i
		}
		if folds, err = dataset.KFold(idx, tc.CVFolds, uint64(tc.Seed)); err != nil {
			return nil, inputErr("train.cv_folds: %w", err)
		}
	}
	workers := tc.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Least squares on too few rows, or on a constant or collinear feature,
	// cannot work: find out with one cheap fit before any run is created.
	minRows := trainSet.N
	for _, f := range folds {
		minRows = min(minRows, len(f.Train))
	}
	for _, c := range cands {
		if fc, ok := c.trainer.(model.FeatureChecker); ok {
			if err := fc.CheckFeatures(trainSet.Features); err != nil {
				return nil, inputErr("%s: %w", c.kind, err)
			}
		}
		if c.kind != linear.Kind {
			continue
		}
		if p := len(trainSet.Features); minRows < p+2 {
			return nil, inputErr("linear: %d training rows (in the smallest cross-validation fold) for %d features: least squares needs at least %d; use fewer folds or more data", minRows, p, p+2)
		}
		_, err := c.trainer.Fit(ctx, matrix(trainSet), trainSet.Y, model.FitOptions{Rand: rngFor(tc.Seed, c.kind, 0), Features: trainSet.Features, Levels: levels(o.Schema, trainSet.Features)})
		var ce *linear.CollinearError
		switch {
		case errors.As(err, &ce):
			return nil, inputErr("linear: feature %s: %w", trainSet.Features[ce.Feature], err)
		case err != nil:
			return nil, inputErr("linear: %w", err)
		}
	}

	// Step 3: each candidate.
	res := &Result{Metric: tc.Metric, TrainRows: trainSet.N, TestRows: testSet.N, DataMD5: string(id)}
	for ci, c := range cands {
		cr, err := o.candidate(ctx, c, ci, len(cands), trainSet, testSet, folds, workers, lin)
		if err != nil {
			return res, err
		}
		res.Candidates = append(res.Candidates, *cr)
	}
	for i, c := range res.Candidates {
		if eval.Better(tc.Metric, c.Metrics[tc.Metric], res.Candidates[res.Best].Metrics[tc.Metric]) {
			res.Best = i
		}
	}
	return res, nil
}

// checkTarget refuses a target with nothing to learn.
func checkTarget(d *dataset.Dataset) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range d.Y {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo == hi {
		return inputErr("target %s is constant (%v) in the training rows: there is nothing to learn", d.Target, lo)
	}
	return nil
}

// rngFor is the random stream of one candidate (and fold: 0 for the final
// fit): seeded from the configured seed and the model's name only.
func rngFor(seed int64, kind string, fold int) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(kind))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()+uint64(fold)))
}

func matrix(d *dataset.Dataset) model.Matrix {
	return model.Matrix{Rows: d.N, Cols: len(d.Features), Data: d.X}
}

func (o *Options) candidate(ctx context.Context, c prepared, ci, nc int, trainSet, testSet *dataset.Dataset,
	folds []dataset.Fold, workers int, lin tracking.Lineage) (*Candidate, error) {
	tc := o.Train
	run, err := o.Store.Start(tc.Experiment, c.kind, c.kind, c.params, o.Tags, lin)
	if err != nil {
		return nil, err
	}

	progress := func(fold int) func(model.Event) {
		return func(e model.Event) {
			if o.Progress != nil {
				o.Progress(Progress{Candidate: c.kind, Index: ci + 1, Of: nc, Fold: fold, Folds: len(folds), Event: e})
			}
		}
	}
	fail := func(err error) (*Candidate, error) {
		status := tracking.StatusFailed
		if errors.Is(err, context.Canceled) {
			status = tracking.StatusKilled
		}
		if eerr := o.Store.End(run, status, nil, nil, err); eerr != nil {
			err = errors.Join(err, eerr)
		}
		return nil, fmt.Errorf("%s (run %s): %w", c.kind, run.ID, err)
	}
	if o.Config != nil {
		if err := o.Store.WriteJSON(run, "config.json", o.Config); err != nil {
			return fail(err)
		}
	}
	fit := func(d *dataset.Dataset, fold int) (model.Model, error) {
		m, err := c.trainer.Fit(ctx, matrix(d), d.Y, model.FitOptions{Rand: rngFor(tc.Seed, c.kind, fold), Workers: workers, Progress: progress(fold), Features: d.Features, Levels: levels(o.Schema, d.Features)})
		var ce *linear.CollinearError
		if errors.As(err, &ce) {
			err = &InputError{Err: fmt.Errorf("feature %s: %w", d.Features[ce.Feature], err)}
		}
		return m, err
	}
	cr := &Candidate{Model: c.kind, RunID: run.ID, RunDir: run.Dir(), Params: c.params}
	var cv []tracking.Fold
	for fi, f := range folds {
		tr, va := trainSet.Subset(f.Train), trainSet.Subset(f.Valid)
		m, err := fit(tr, fi+1)
		if err != nil {
			return fail(err)
		}
		cv = append(cv, predictEval(m, va))
	}
	if len(cv) > 0 {
		cr.CV, cr.CVStd = foldStats(cv)
	}
	start := time.Now()
	m, err := fit(trainSet, 0)
	if err != nil {
		return fail(err)
	}
	cr.FitSeconds = time.Since(start).Seconds()
	pred := make([]float64, testSet.N)
	m.PredictBatch(matrix(testSet), pred)
	cr.Metrics = eval.Compute(testSet.Y, pred)

	// Artifacts: the model (with the training summary), importances, history.
	X := matrix(trainSet)
	pj, _ := json.Marshal(c.typed)
	enc, err := model.Encode(&model.Artifact{Header: model.Header{
		Kind: c.kind, Features: trainSet.Features, Target: trainSet.Target, Params: pj,
		Training: model.Summarize(X, trainSet.Y, trainSet.Features, trainSet.Target), CreatedWith: o.Version,
		Nullable: nullable(o.Schema, trainSet.Features), Categories: categories(o.Schema, trainSet.Features),
	}, Model: m})
	if err != nil {
		return fail(err)
	}
	if err := o.Store.WriteArtifact(run, "model.bin", enc); err != nil {
		return fail(err)
	}
	cr.Artifact = run.Artifacts[len(run.Artifacts)-1]
	imp := map[string]float64{}
	for j, v := range m.Importances() {
		imp[trainSet.Features[j]] = v
	}
	ib, _ := json.MarshalIndent(imp, "", "  ")
	if err := o.Store.WriteArtifact(run, "importances.json", append(ib, '\n')); err != nil {
		return fail(err)
	}
	type chart struct {
		name string
		draw func() ([]byte, error)
	}
	charts := []chart{
		{"predicted_vs_actual.png", func() ([]byte, error) {
			return plots.PredictedVsActual(c.kind+": test rows", testSet.Y, pred)
		}},
		{"residuals.png", func() ([]byte, error) { return plots.Residuals(c.kind+": test residuals", testSet.Y, pred) }},
		{"importances.png", func() ([]byte, error) {
			return plots.Importances(c.kind+": feature importance", trainSet.Features, m.Importances())
		}},
	}
	if g, ok := m.(*gbt.Model); ok {
		h := map[string]any{"train_loss": g.TrainLoss, "valid_loss": nanToNil(g.ValidLoss), "best_iteration": g.BestIteration}
		if err := o.Store.WriteJSON(run, "history.json", h); err != nil {
			return fail(err)
		}
		charts = append(charts, chart{"loss.png", func() ([]byte, error) {
			return plots.LossCurve(c.kind+": loss per iteration", g.TrainLoss, g.ValidLoss, g.BestIteration)
		}})
	}
	for _, ch := range charts {
		img, err := ch.draw()
		if err == nil {
			err = o.Store.WriteArtifact(run, ch.name, img)
		}
		if err != nil {
			return fail(fmt.Errorf("plot %s: %w", ch.name, err))
		}
	}
	metrics := map[string]float64{}
	for k, v := range cr.Metrics {
		metrics[k] = v
	}
	for k, v := range cr.CV {
		metrics["cv_"+k] = v
	}
	metrics["fit_seconds"] = cr.FitSeconds
	if err := o.Store.End(run, tracking.StatusFinished, metrics, cv, nil); err != nil {
		return nil, err
	}
	return cr, nil
}

func predictEval(m model.Model, d *dataset.Dataset) map[string]float64 {
	pred := make([]float64, d.N)
	m.PredictBatch(matrix(d), pred)
	return eval.Compute(d.Y, pred)
}

func foldStats(folds []tracking.Fold) (mean, std map[string]float64) {
	mean, std = map[string]float64{}, map[string]float64{}
	for _, k := range eval.Names {
		xs := make([]float64, len(folds))
		for i, f := range folds {
			xs[i] = f[k]
		}
		mean[k], std[k] = eval.MeanStd(xs)
	}
	return mean, std
}

// nanToNil makes a loss history JSON-encodable (NaN has no JSON form).
func nanToNil(xs []float64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		if !math.IsNaN(x) {
			out[i] = x
		}
	}
	return out
}

// minCommonRows is the fewest rows CommonTestSet scores two models on.
const minCommonRows = 100

// CommonTestSet returns rows that neither of two runs trained on, to score
// both models on the same data: the test file they share, or, for seeded
// splits of the same data file, the rows both splits held out. Each file
// must still have the md5 the runs recorded.
func CommonTestSet(a, b tracking.Lineage, schema config.Schema) (*dataset.Dataset, error) {
	load := func(path, md5 string) (*dataset.Dataset, error) {
		id, _, err := dvc.HashFile(path)
		if err != nil {
			return nil, err
		}
		if string(id) != md5 {
			return nil, fmt.Errorf("%s has md5 %s, but the runs used md5 %s: restore that file (housectl data checkout)", path, id, md5)
		}
		d, _, err := dataset.Load(path, schema)
		return d, err
	}
	switch {
	case a.TestDataMD5 != "" && a.TestDataMD5 == b.TestDataMD5 && a.TestDataMD5 != a.DataMD5 && a.TestDataMD5 != b.DataMD5:
		return load(a.TestDataPath, a.TestDataMD5)
	case a.TestDataMD5 == "" && b.TestDataMD5 == "" && a.DataMD5 == b.DataMD5 && a.TestFraction > 0 && b.TestFraction > 0:
		d, err := load(a.DataPath, a.DataMD5)
		if err != nil {
			return nil, err
		}
		sa, err := dataset.TrainTestSplit(d.N, a.TestFraction, a.Seed)
		if err != nil {
			return nil, err
		}
		sb, err := dataset.TrainTestSplit(d.N, b.TestFraction, b.Seed)
		if err != nil {
			return nil, err
		}
		inB := make(map[int]bool, len(sb.Test))
		for _, i := range sb.Test {
			inB[i] = true
		}
		var both []int
		for _, i := range sa.Test {
			if inB[i] {
				both = append(both, i)
			}
		}
		slices.Sort(both)
		if len(both) < minCommonRows {
			return nil, fmt.Errorf("only %d rows were held out by both splits (need %d)", len(both), minCommonRows)
		}
		return d.Subset(both), nil
	}
	return nil, fmt.Errorf("the runs hold out no rows in common (different data or test files)")
}

// Score evaluates a model on a dataset, matching its features by name.
func Score(a *model.Artifact, d *dataset.Dataset) (map[string]float64, error) {
	if !slices.Equal(a.Header.Features, d.Features) {
		return nil, fmt.Errorf("the model takes %v, the data has %v", a.Header.Features, d.Features)
	}
	return predictEval(a.Model, d), nil
}

// nullable lists the features the schema lets be missing, in feature
// order.
func nullable(s config.Schema, features []string) []string {
	var out []string
	for _, f := range features {
		if c, ok := s.Column(f); ok && c.Nullable {
			out = append(out, f)
		}
	}
	return out
}

// categories are the labels of the category features, in code order.
func categories(s config.Schema, features []string) map[string][]string {
	var out map[string][]string
	for _, f := range features {
		if c, ok := s.Column(f); ok && c.Type == config.TypeCategory {
			if out == nil {
				out = map[string][]string{}
			}
			out[f] = slices.Clone(c.Values)
		}
	}
	return out
}

// levels is, per feature, its number of labels if it is a category, else 0.
func levels(s config.Schema, features []string) []int {
	out := make([]int, len(features))
	for j, f := range features {
		if c, ok := s.Column(f); ok && c.Type == config.TypeCategory {
			out[j] = len(c.Values)
		}
	}
	return out
}
