package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/housectl/housectl/pkg/input"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/store"
)

// Model is a loaded, verified model as the server serves it.
type Model struct {
	Name     string // registered name
	Version  string // registered version number
	RunID    string
	URI      string // what was asked for (models:/NAME@ALIAS)
	SHA256   string
	Artifact *model.Artifact
	// Lineage is shown by /model.
	Lineage any
	// Schema is what the model takes: its features and the range of each
	// (the training range widened, and the configuration's).
	Schema          *input.Schema
	predicted       prometheus.Counter // predictions_total{model, version, variant}
	latency         prometheus.Observer
	shadowPredicted prometheus.Counter // shadow_predictions_total{model, version}
	features        *store.FeatureSet  // the log's key for the feature names
	// versionValue is the X-Housectl-Version header's value.
	versionValue []string
	// TestRMSE is the test RMSE the version was registered with (0:
	// unknown).
	TestRMSE float64
}

// Ident names what a source currently points at; a change means reload.
type Ident struct {
	Name, Version, SHA256 string
}

// Source resolves and loads the served model.
type Source interface {
	// Resolve says which version the URI names now (cheap: no model read).
	Resolve() (Ident, error)
	// Load reads and verifies that version.
	Load(Ident) (*Model, error)
}

// Bounds are extra per-feature limits (from the config's schema).
type Bounds = input.Bounds

// prepare checks a freshly loaded model and computes its feature bounds:
// the training range widened by tol of its width on each side (tol < 0:
// no training check), intersected with the schema's bounds. It also makes
// one prediction on the training means: a model that cannot predict a
// finite number there is refused.
func (m *Model) prepare(tol float64, bounds Bounds) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("model failed its test prediction: %v", p)
		}
	}()
	h := m.Artifact.Header
	p := len(h.Features)
	if p == 0 || m.Artifact.Model.NumFeatures() != p {
		return fmt.Errorf("model has %d features in its header and %d in the model", p, m.Artifact.Model.NumFeatures())
	}
	if m.Schema, err = input.NewSchema(h, tol, bounds); err != nil {
		return err
	}
	row := make([]float64, p)
	for j, f := range h.Features {
		if j < len(h.Training) && h.Training[j].Name == f {
			row[j] = h.Training[j].Mean
		}
	}
	if v := m.Artifact.Model.Predict(row); math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("model predicts %v on the training means", v)
	}
	return nil
}

// RegistrySource serves a models:/ URI from a registry: an alias is
// resolved at each reload, so a promotion is picked up by the next one.
// A reload first asks for the URI's stamp (one HEAD request of the
// model's head on S3) and resolves again only when it changed, so many
// replicas polling often cost the bucket little.
type RegistrySource struct {
	Registry *registry.Registry
	URI      registry.URI

	mu    sync.Mutex
	stamp string
	last  Ident
}

// Resolve implements Source.
func (s *RegistrySource) Resolve() (Ident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := context.Background()
	stamp, err := s.Registry.Stamp(ctx, s.URI)
	if err == nil && stamp == s.stamp && s.last.Version != "" {
		return s.last, nil
	}
	v, err := s.Registry.Resolve(s.URI)
	if err != nil {
		return Ident{}, err
	}
	s.last = Ident{Name: v.Name, Version: fmt.Sprint(v.Version), SHA256: v.SHA256}
	s.stamp = stamp
	return s.last, nil
}

// Load implements Source.
func (s *RegistrySource) Load(id Ident) (*Model, error) {
	v, err := s.Registry.Resolve(s.URI)
	if err != nil {
		return nil, err
	}
	if fmt.Sprint(v.Version) != id.Version {
		return nil, errors.New("the alias moved while loading; retrying at the next check")
	}
	a, err := s.Registry.Load(context.Background(), v)
	if err != nil {
		return nil, err
	}
	return &Model{Name: v.Name, Version: id.Version, RunID: v.RunID, URI: s.URI.String(), SHA256: v.SHA256, Artifact: a, Lineage: v.Lineage, TestRMSE: v.Metrics["rmse"]}, nil
}

// reload loads, for every slot, what its source points at if it differs
// from the current model, verifies it and swaps it in; on failure the
// current model keeps serving. It reports whether a new model is served.
func (s *Server) reload() (bool, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	swapped := false
	var errs []error
	for _, sl := range s.slots {
		ok, err := s.reloadSlot(sl)
		swapped = swapped || ok
		if err != nil {
			errs = append(errs, err)
		}
	}
	return swapped, errors.Join(errs...)
}

func (s *Server) reloadSlot(sl *slot) (swapped bool, err error) {
	defer func() {
		if err != nil {
			msg := err.Error()
			sl.err.Store(&msg)
		} else {
			sl.err.Store(nil)
		}
		if sl.ep.Name() != "" {
			s.modelLoaded(sl, sl.model.Load() != nil && err == nil)
		}
	}()
	id, err := sl.source.Resolve()
	if err != nil {
		s.metrics.reloads.WithLabelValues("error").Inc()
		return false, fmt.Errorf("resolve %s: %w", sl.uri, err)
	}
	if cur := sl.model.Load(); cur != nil && cur.Name == id.Name && cur.Version == id.Version && cur.SHA256 == id.SHA256 {
		return false, nil
	}
	m, err := sl.source.Load(id)
	if err == nil {
		err = m.prepare(s.o.RangeTolerance, s.o.Bounds)
	}
	if err == nil && sl.ep.Name() != "" && m.Name != sl.ep.Name() {
		err = fmt.Errorf("it is a version of %s, not of %s, which this route serves", m.Name, sl.ep.Name())
	}
	if err != nil {
		s.metrics.reloads.WithLabelValues("error").Inc()
		return false, fmt.Errorf("load %s version %s: %w", id.Name, id.Version, err)
	}
	if sl.ep.Name() == "" {
		name := m.Name
		sl.ep.name.Store(&name)
	}
	m.Schema.UnseenMissing = s.o.UnseenLabelsMissing
	if f := sl.ep.unitField; f != "" {
		m.Schema.Ignore = f // the unit key is not a feature
	}
	m.predicted = s.metrics.predictions.WithLabelValues(m.Name, m.Version, sl.variant)
	m.latency = s.metrics.latency.WithLabelValues(m.Name, sl.variant)
	m.shadowPredicted = s.metrics.shadowPredictions.WithLabelValues(m.Name, m.Version)
	m.features = store.NewFeatureSet(m.Artifact.Header.Features)
	m.versionValue = []string{m.Version}
	if !sl.isShadow {
		sl.window.reset(m, s.o.DriftWindow)
		s.drift.clear(m, sl.variant)
	}
	sl.loadedAt.Store(s.o.Now())
	old := sl.model.Swap(m)
	if old != nil {
		s.metrics.modelInfo.DeleteLabelValues(old.Name, old.Version, old.RunID, sl.role())
		s.o.Logger.Info("model swapped", "name", m.Name, "version", m.Version, "run", m.RunID, "variant", sl.role(), "from", old.Version)
	}
	s.metrics.modelInfo.WithLabelValues(m.Name, m.Version, m.RunID, sl.role()).Set(1)
	if m.TestRMSE > 0 {
		s.live.testRMSE.WithLabelValues(m.Name, m.Version).Set(m.TestRMSE)
	}
	s.metrics.reloads.WithLabelValues("loaded").Inc()
	return true, nil
}
