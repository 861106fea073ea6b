package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/housectl/housectl/pkg/input"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/store"
)

// ModelOptions are one served model: the variants that serve its traffic
// and, optionally, a shadow.
type ModelOptions struct {
	// Name is the model's route name (/models/{name}/...); "" takes the
	// registered name of the first variant that loads.
	Name string
	// Variants serve the model's requests. With more than one, each
	// request goes to one of them by weight: a traffic split between
	// aliases of the model (production 90, challenger 10).
	Variants []VariantOptions
	// Shadow, when set, predicts every request as well, off the response
	// path, and logs its prediction as a shadow row.
	Shadow *VariantOptions
	// UnitField names a field of a /predict body that carries the unit a
	// split is sticky by (the unit header wins when both are given).
	UnitField string
}

// VariantOptions are one variant of a served model.
type VariantOptions struct {
	// Name is the variant's name in responses, metrics and the log: the
	// alias it serves ("" for a model served as one variant).
	Name   string
	URI    string
	Source Source
	// Weight is its share of the traffic, relative to the others'.
	Weight float64
}

// endpoint is one served model: its variants, the weights that split its
// traffic between them, and its shadow.
type endpoint struct {
	name      atomic.Pointer[string]
	variants  []*slot
	weights   atomic.Pointer[[]float64]
	shadow    *slot
	unitField string
}

// Name is the endpoint's route name.
func (e *endpoint) Name() string {
	if n := e.name.Load(); n != nil {
		return *n
	}
	return ""
}

// unitHash places a unit key for one variant in (0, 1).
func unitHash(unit, variant string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(unit))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(variant))
	x := h.Sum64()
	// A 64-bit mix (splitmix64's finalizer): FNV's low bits are weak.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return (float64(x>>11) + 0.5) / (1 << 53)
}

// pick chooses the variant that serves a request. With a unit key it is
// weighted rendezvous hashing: each loaded variant scores -ln(h)/w, h the
// unit's hash for that variant, and the lowest wins. So a unit stays on its
// variant while the weights stay, and a weight change moves only the units
// it must (raising one variant's weight only takes units to it). Without a
// key, a variant is drawn by weight. Variants with no model loaded get
// nothing; nil when none is loaded.
func (e *endpoint) pick(unit string) (*slot, *Model) {
	if len(e.variants) == 1 {
		sl := e.variants[0]
		return sl, sl.model.Load()
	}
	ws := *e.weights.Load()
	var best *slot
	var bestM *Model
	if unit != "" {
		score := math.Inf(1)
		for i, sl := range e.variants {
			m := sl.model.Load()
			if m == nil || ws[i] <= 0 {
				continue
			}
			if sc := -math.Log(unitHash(unit, sl.variant)) / ws[i]; sc < score {
				score, best, bestM = sc, sl, m
			}
		}
		return best, bestM
	}
	total := 0.0
	for i, sl := range e.variants {
		if ws[i] > 0 && sl.model.Load() != nil {
			total += ws[i]
		}
	}
	r := rand.Float64() * total //nolint:gosec // traffic shares, not secrets
	for i, sl := range e.variants {
		m := sl.model.Load()
		if m == nil || ws[i] <= 0 {
			continue
		}
		best, bestM = sl, m
		if r -= ws[i]; r < 0 {
			break
		}
	}
	return best, bestM
}

// first is the first variant with a model loaded.
func (e *endpoint) first() (*slot, *Model) {
	for _, sl := range e.variants {
		if m := sl.model.Load(); m != nil {
			return sl, m
		}
	}
	return nil, nil
}

// Weights are a split's shares by variant name.
type Weights map[string]float64

// SetWeights changes the split of the default model (or of name) without
// a restart: every variant must be named, none may be negative, and at
// least one must be positive.
func (s *Server) SetWeights(name string, w Weights) error {
	ep := s.def
	if name != "" {
		if ep = s.endpoint(name); ep == nil {
			return fmt.Errorf("no model %q is served here (this server serves %s)", name, s.names())
		}
	}
	if len(ep.variants) < 2 {
		return fmt.Errorf("model %s is served by one variant: there is no split to weigh (set serve.split to serve several aliases)", ep.Name())
	}
	ws := make([]float64, len(ep.variants))
	total := 0.0
	for i, sl := range ep.variants {
		v, ok := w[sl.variant]
		if !ok {
			return fmt.Errorf("the weights name no share for %s: give one for each of %s", sl.variant, ep.variantNames())
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("the weight of %s is %v: give a number of 0 or more", sl.variant, v)
		}
		ws[i], total = v, total+v
	}
	for k := range w {
		if !slices.ContainsFunc(ep.variants, func(sl *slot) bool { return sl.variant == k }) {
			return fmt.Errorf("%s is not a variant of %s (%s)", k, ep.Name(), ep.variantNames())
		}
	}
	if total <= 0 {
		return errors.New("every weight is 0: give at least one variant a share")
	}
	ep.weights.Store(&ws)
	for i, sl := range ep.variants {
		s.metrics.weight.WithLabelValues(ep.Name(), sl.variant).Set(ws[i] / total)
	}
	return nil
}

func (e *endpoint) variantNames() string {
	names := make([]string, len(e.variants))
	for i, sl := range e.variants {
		names[i] = sl.variant
	}
	return fmt.Sprint(names)
}

// endpoint returns the served model of that name, or nil.
func (s *Server) endpoint(name string) *endpoint {
	for _, ep := range s.endpoints {
		if ep.Name() == name {
			return ep
		}
	}
	return nil
}

func (s *Server) names() string {
	names := make([]string, len(s.endpoints))
	for i, ep := range s.endpoints {
		names[i] = ep.Name()
	}
	return strings.Join(names, ", ")
}

// shadowJob is one request's rows for the shadow to predict.
type shadowJob struct {
	sl        *slot
	X         model.Matrix
	requestID string
	start     time.Time
}

// shadows runs the shadow predictions off the response path: a bounded
// queue and one worker per CPU. A full queue drops the job (counted); a
// failed prediction is counted and never reaches a client.
type shadows struct {
	jobs chan shadowJob
	wg   sync.WaitGroup
	once sync.Once
}

// enqueue hands a request's rows to the shadow, without waiting.
func (s *Server) enqueueShadow(sl *slot, X model.Matrix, id string, start time.Time) {
	if s.shadow == nil {
		return
	}
	// The rows are copied: the request's buffers go back to their pools.
	c := model.Matrix{Rows: X.Rows, Cols: X.Cols, Data: slices.Clone(X.Data)}
	select {
	case s.shadow.jobs <- shadowJob{sl: sl, X: c, requestID: id, start: start}:
	default:
		s.metrics.shadowDropped.Add(float64(X.Rows))
	}
}

func (s *Server) startShadows(workers, queue int) {
	s.shadow = &shadows{jobs: make(chan shadowJob, queue)}
	for range workers {
		s.shadow.wg.Go(func() {
			for j := range s.shadow.jobs {
				s.runShadow(j)
			}
		})
	}
}

// stopShadows lets the queued jobs finish and stops the workers: called
// once no request can enqueue any more, before the log is closed.
func (s *Server) stopShadows() {
	if s.shadow == nil {
		return
	}
	s.shadow.once.Do(func() { close(s.shadow.jobs) })
	s.shadow.wg.Wait()
}

func (s *Server) runShadow(j shadowJob) {
	m := j.sl.model.Load()
	if m == nil {
		s.metrics.shadowFailures.Add(float64(j.X.Rows))
		return
	}
	if j.X.Cols != len(m.Artifact.Header.Features) {
		// The shadow takes other features than the served model: it
		// cannot be paired row for row.
		s.metrics.shadowFailures.Add(float64(j.X.Rows))
		return
	}
	pred := make([]float64, j.X.Rows)
	ok := func() (ok bool) {
		defer func() {
			if p := recover(); p != nil {
				s.o.Logger.Error("shadow prediction failed", "request_id", j.requestID, "model", m.Name, "version", m.Version, "panic", fmt.Sprint(p))
			}
		}()
		m.Artifact.Model.PredictBatch(j.X, pred)
		return true
	}()
	if !ok {
		s.metrics.shadowFailures.Add(float64(j.X.Rows))
		return
	}
	m.shadowPredicted.Add(float64(j.X.Rows))
	if s.log == nil {
		return
	}
	now := s.o.Now()
	for i, v := range pred {
		vals := make([]float64, j.X.Cols)
		for k := range vals {
			vals[k] = j.X.Data[k*j.X.Rows+i]
		}
		s.log.Enqueue(store.Record{Time: now, RequestID: j.requestID, Model: m.Name, Version: m.Version, Variant: j.sl.variant, Shadow: true,
			Features: m.features, Values: vals, Prediction: v, Latency: now.Sub(j.start), Row: i})
	}
}

// unitOf is the request's unit key: the unit header, or the endpoint's
// unit field at the top of a JSON object body.
func (s *Server) unitOf(r *http.Request, ep *endpoint, body []byte) string {
	if u := r.Header.Get(s.unitHeader); u != "" {
		return u
	}
	if ep.unitField == "" || len(body) == 0 {
		return ""
	}
	in := input.NewJSON(body)
	if k, err := in.Peek(); err != nil || k != '{' {
		return ""
	}
	unit := ""
	_ = in.Members(func(key string) error {
		if key != ep.unitField {
			return in.Skip()
		}
		v, err := in.Value()
		if err != nil {
			return err
		}
		switch v.Kind() {
		case '"':
			unit = input.Unquote(v)
		case '0':
			unit = string(v)
		}
		return nil
	})
	return unit
}

// variantStatus is one variant as GET /models and /ready show it.
type variantStatus struct {
	Variant string  `json:"variant,omitempty"`
	URI     string  `json:"uri"`
	Version string  `json:"version,omitempty"`
	Weight  float64 `json:"weight,omitempty"`
	Ready   bool    `json:"ready"`
	Error   string  `json:"error,omitempty"`
}

type modelStatus struct {
	Name     string          `json:"name"`
	Default  bool            `json:"default"`
	Variants []variantStatus `json:"variants"`
	Shadow   *variantStatus  `json:"shadow,omitempty"`
}

func (sl *slot) status(weight float64) variantStatus {
	st := variantStatus{Variant: sl.variant, URI: sl.uri, Weight: weight}
	if m := sl.model.Load(); m != nil {
		st.Version, st.Ready = m.Version, true
	}
	if e := sl.err.Load(); e != nil {
		st.Error = *e
	}
	return st
}

func (s *Server) status() []modelStatus {
	out := make([]modelStatus, 0, len(s.endpoints))
	for _, ep := range s.endpoints {
		ms := modelStatus{Name: ep.Name(), Default: ep == s.def}
		ws := *ep.weights.Load()
		total := 0.0
		for _, w := range ws {
			total += w
		}
		for i, sl := range ep.variants {
			w := 0.0
			if len(ep.variants) > 1 && total > 0 {
				w = ws[i] / total
			}
			ms.Variants = append(ms.Variants, sl.status(w))
		}
		if ep.shadow != nil {
			st := ep.shadow.status(0)
			ms.Shadow = &st
		}
		out = append(out, ms)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Default && !out[j].Default })
	return out
}

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"models": s.status()})
}

// handleSplit changes the weights of a split: PUT /admin/split with
// {"model"?: name, "weights": {"production": 90, "challenger": 10}}.
func (s *Server) handleSplit(w http.ResponseWriter, r *http.Request) {
	body, _, err := s.readBody(w, r, styleFastAPI)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Model   string  `json:"model"`
		Weights Weights `json:"weights"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Weights == nil || dec.More() {
		s.fail(w, r, badRequest(`the body must be {"model"?: NAME, "weights": {"ALIAS": NUMBER, ...}}`))
		return
	}
	if err := s.SetWeights(req.Model, req.Weights); err != nil {
		s.fail(w, r, &requestError{Status: http.StatusUnprocessableEntity, Msg: err.Error()})
		return
	}
	s.o.Logger.Info("split changed", "model", cmpOr(req.Model, s.def.Name()), "weights", fmt.Sprint(req.Weights))
	writeJSON(w, http.StatusOK, map[string]any{"models": s.status()})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// versionHeader is the response header that names the version served.
const versionHeader = "X-Housectl-Version"

// variantHeader names the variant, when the model is served as several.
const variantHeader = "X-Housectl-Variant"

func setServedHeaders(w http.ResponseWriter, sl *slot, m *Model) {
	h := w.Header()
	h[versionHeader] = m.versionValue
	if sl.variant != "" {
		h[variantHeader] = sl.variantValue
	}
}

// modelLoaded sets the loaded gauge of a slot.
func (s *Server) modelLoaded(sl *slot, ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	s.metrics.loaded.WithLabelValues(sl.ep.Name(), sl.role()).Set(v)
}

// role names a slot in the loaded gauge: its variant, or "shadow:" and
// its variant.
func (sl *slot) role() string {
	if sl.isShadow {
		return "shadow:" + sl.variant
	}
	return sl.variant
}
