package serve

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/housectl/housectl/pkg/input"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/store"
)

// target returns the served model a request names (the {name} of its
// path, else the default), or writes a 404.
func (s *Server) target(w http.ResponseWriter, r *http.Request) *endpoint {
	name := r.PathValue("name")
	if name == "" {
		return s.def
	}
	ep := s.endpoint(name)
	if ep == nil {
		s.fail(w, r, &requestError{Status: http.StatusNotFound, Msg: "model " + name + " is not served here (this server serves " + s.names() + ")", Code: "RESOURCE_DOES_NOT_EXIST"})
	}
	return ep
}

// served returns the variant that serves a request and its model: the
// one with the {version} of the path when it names one, else the split's
// pick for the request's unit. It writes a 404 or a 503 when there is none.
func (s *Server) served(w http.ResponseWriter, r *http.Request, ep *endpoint, unit string) (*slot, *Model) {
	return s.servedBy(w, r, ep, func() (*slot, *Model) { return ep.pick(unit) })
}

// shown is served for the routes that describe a model rather than
// predict: the first loaded variant, not a split's pick.
func (s *Server) shown(w http.ResponseWriter, r *http.Request, ep *endpoint) (*slot, *Model) {
	return s.servedBy(w, r, ep, ep.first)
}

func (s *Server) servedBy(w http.ResponseWriter, r *http.Request, ep *endpoint, pick func() (*slot, *Model)) (*slot, *Model) {
	if v := r.PathValue("version"); v != "" {
		var have []string
		for _, sl := range ep.variants {
			if m := sl.model.Load(); m != nil {
				if m.Version == v {
					return sl, m
				}
				have = append(have, m.Version)
			}
		}
		s.fail(w, r, &requestError{Status: http.StatusNotFound, Msg: "version " + v + " of " + ep.Name() + " is not served (version " + strings.Join(have, ", ") + " is)"})
		return nil, nil
	}
	sl, m := pick()
	if m == nil {
		s.fail(w, r, &requestError{Status: http.StatusServiceUnavailable, Msg: "no model is loaded yet", Code: "TEMPORARILY_UNAVAILABLE"})
	}
	return sl, m
}

// run predicts every row of X, updates the metrics and logs each row.
func (s *Server) run(w http.ResponseWriter, sl *slot, m *Model, X model.Matrix) []float64 {
	pred := make([]float64, X.Rows)
	if X.Rows == 1 {
		pred[0] = m.Artifact.Model.Predict(X.Data)
	} else {
		m.Artifact.Model.PredictBatch(X, pred)
	}
	m.predicted.Add(float64(X.Rows))
	for i, v := range pred {
		s.metrics.values.Observe(v)
		sl.window.add(m, X.Data, X.Rows, i, v)
	}
	if s.log != nil {
		st := state(w)
		now := s.o.Now()
		lat := now.Sub(st.start)
		for i, v := range pred {
			vals := make([]float64, X.Cols)
			for j := range vals {
				vals[j] = X.Data[j*X.Rows+i]
			}
			s.log.Enqueue(store.Record{Time: now, RequestID: st.id, Model: m.Name, Version: m.Version, Variant: sl.variant, Features: m.features, Values: vals, Prediction: v, Latency: lat, Row: i})
		}
	}
	return pred
}

// decodeAndRun is the shared path of every predict route.
func (s *Server) decodeAndRun(w http.ResponseWriter, r *http.Request, proto errorStyle,
	decode func(m *Model, body []byte, isCSV bool) (model.Matrix, error)) (*Model, []float64, bool) {
	ep := s.target(w, r)
	if ep == nil {
		return nil, nil, false
	}
	release, err := s.budget(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	defer release()
	body, isCSV, err := s.readBody(w, r, proto)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	var unit string
	if len(ep.variants) > 1 {
		unit = s.unitOf(r, ep, body)
	}
	sl, m := s.served(w, r, ep, unit)
	if m == nil {
		return nil, nil, false
	}
	X, err := decode(m, body, isCSV)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	pred := s.run(w, sl, m, X)
	if ep.shadow != nil {
		st := state(w)
		s.enqueueShadow(ep.shadow, X, st.id, st.start)
	}
	setServedHeaders(w, sl, m)
	if m.latency != nil {
		m.latency.Observe(s.o.Now().Sub(state(w).start).Seconds())
	}
	return m, pred, true
}

// jsonContentType is shared by every /predict response: net/http only reads
// a header's values, and an append to a full slice copies it.
var jsonContentType = []string{"application/json"}

func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	m, pred, ok := s.decodeAndRun(w, r, styleFastAPI, func(m *Model, body []byte, _ bool) (model.Matrix, error) {
		return DecodePredict(m, body, 1)
	})
	if !ok {
		return
	}
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], `{"prediction":`...)
	b = strconv.AppendFloat(b, pred[0], 'g', -1, 64)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, m.Name)
	b = append(b, `,"version":`...)
	b = appendJSONString(b, m.Version)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, state(w).id)
	b = append(b, "}\n"...)
	w.Header()["Content-Type"] = jsonContentType
	_, _ = w.Write(b)
	*bp = b
	bufPool.Put(bp)
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	m, pred, ok := s.decodeAndRun(w, r, styleFastAPI, func(m *Model, body []byte, _ bool) (model.Matrix, error) {
		return DecodeBatch(m, body, s.o.MaxBatchRows)
	})
	if ok {
		writeJSON(w, http.StatusOK, map[string]any{"predictions": pred, "model": m.Name, "version": m.Version, "request_id": state(w).id})
	}
}

func (s *Server) handleInvocations(w http.ResponseWriter, r *http.Request) {
	var inv Invocation
	m, pred, ok := s.decodeAndRun(w, r, styleMLflow, func(m *Model, body []byte, isCSV bool) (model.Matrix, error) {
		var err error
		inv, err = DecodeInvocations(m, body, isCSV, s.o.MaxBatchRows)
		return inv.X, err
	})
	if !ok {
		return
	}
	for _, msg := range inv.Ignored {
		s.o.Logger.Warn(msg, "request_id", state(w).id, "route", "/invocations")
	}
	for j, n := range inv.OutOfRange {
		if n > 0 {
			s.metrics.outOfRange.WithLabelValues(m.Schema.Features[j]).Add(float64(n))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"predictions": pred})
}

// oipModel is the model an OIP metadata path names: its {name}, and its
// {version} or the first loaded variant.
func (s *Server) oipModel(w http.ResponseWriter, r *http.Request) *Model {
	ep := s.target(w, r)
	if ep == nil {
		return nil
	}
	_, m := s.shown(w, r, ep)
	return m
}

func (s *Server) handleOIPInfer(w http.ResponseWriter, r *http.Request) {
	var req OIPRequest
	m, pred, ok := s.decodeAndRun(w, r, styleOIP, func(m *Model, body []byte, _ bool) (model.Matrix, error) {
		var err error
		req, err = DecodeOIP(m, body, r.Header.Get(oipHeaderLength), s.o.MaxBatchRows)
		return req.X, err
	})
	if !ok {
		return
	}
	if req.ID == "" {
		req.ID = state(w).id
	}
	out := map[string]any{"name": oipOutputName, "datatype": "FP64", "shape": []int{len(pred)}}
	resp := map[string]any{"model_name": m.Name, "model_version": m.Version, "id": req.ID, "outputs": []map[string]any{out}}
	if !req.Binary {
		out["data"] = pred
		writeJSON(w, http.StatusOK, resp)
		return
	}
	out["parameters"] = map[string]any{"binary_data_size": 8 * len(pred)}
	header, err := json.Marshal(resp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(oipHeaderLength, strconv.Itoa(len(header)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(appendOIPBinary(header, pred))
}

func (s *Server) handleOIPModel(w http.ResponseWriter, r *http.Request) {
	m := s.oipModel(w, r)
	if m == nil {
		return
	}
	inputs := make([]map[string]any, 0, len(m.Artifact.Header.Features))
	for _, f := range m.Artifact.Header.Features {
		dt := "FP64"
		if j, _ := m.Schema.Index(f); m.Schema.Labels != nil && m.Schema.Labels[j] != nil {
			dt = "BYTES" // a category, by label
		}
		inputs = append(inputs, map[string]any{"name": f, "datatype": dt, "shape": []int{-1}})
	}
	ep := s.endpoint(m.Name)
	var versions []string
	for _, sl := range ep.variants {
		if vm := sl.model.Load(); vm != nil && !slices.Contains(versions, vm.Version) {
			versions = append(versions, vm.Version)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": m.Name, "versions": versions, "platform": "housectl_" + m.Artifact.Header.Kind,
		"inputs": inputs, "outputs": []map[string]any{{"name": oipOutputName, "datatype": "FP64", "shape": []int{-1}}},
	})
}

func (s *Server) handleOIPModelReady(w http.ResponseWriter, r *http.Request) {
	if m := s.oipModel(w, r); m != nil {
		writeJSON(w, http.StatusOK, map[string]any{"name": m.Name, "ready": true})
	}
}

func (s *Server) handleOIPServer(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"name": "housectl", "version": s.o.Version, "extensions": []string{"binary_tensor_data"}})
}

func (s *Server) handleOIPReady(w http.ResponseWriter, _ *http.Request) {
	if _, m := s.def.first(); m == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleReady answers probes, which carry no key: with API keys set, the
// model's name and version are told only to a request with a key, as on
// /model and /metrics.
//
// Ready means the default model can answer. A model (or a variant, or a
// shadow) that failed to load does not make the server unready, since the
// others serve on: it is listed, with its error, under "models".
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	_, m := s.def.first()
	if m == nil {
		body := map[string]any{"status": "not ready", "detail": "no model loaded"}
		if s.authenticated(r) {
			body["models"] = s.status()
		}
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	if !s.authenticated(r) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
		return
	}
	body := map[string]any{"status": "ready", "model": m.Name, "version": m.Version}
	if len(s.slots) > 1 {
		body["models"] = s.status()
		for _, sl := range s.slots {
			if sl.model.Load() == nil || sl.err.Load() != nil {
				body["status"] = "ready, with models that failed to load"
			}
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// FeatureInfo describes one input of the served model.
type FeatureInfo struct {
	Name string  `json:"name"`
	Type string  `json:"type"` // number or category
	Min  float64 `json:"min"`  // accepted range
	Max  float64 `json:"max"`
	Mean float64 `json:"training_mean"`
	// Labels are a category's (its values are sent as these strings).
	Labels   []string `json:"labels,omitempty"`
	Nullable bool     `json:"nullable,omitempty"`
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	ep := s.target(w, r)
	if ep == nil {
		return
	}
	sl, m := s.shown(w, r, ep)
	if m == nil {
		return
	}
	h := m.Artifact.Header
	feats := make([]FeatureInfo, len(h.Features))
	for j, f := range h.Features {
		feats[j] = FeatureInfo{Name: f, Type: "number", Min: finiteOr(m.Schema.Lo[j], -1e308), Max: finiteOr(m.Schema.Hi[j], 1e308), Nullable: m.Schema.Nullable[j]}
		if m.Schema.Labels != nil && m.Schema.Labels[j] != nil {
			feats[j].Type, feats[j].Labels, feats[j].Min, feats[j].Max = "category", m.Schema.Labels[j], 0, 0
		}
		if j < len(h.Training) {
			feats[j].Mean = h.Training[j].Mean
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": m.Name, "version": m.Version, "run_id": m.RunID, "uri": m.URI, "sha256": m.SHA256,
		"kind": h.Kind, "target": h.Target, "features": feats, "created_with": h.CreatedWith,
		"lineage": m.Lineage, "served_since": sl.loadedAt.Load().(time.Time).UTC().Format(time.RFC3339),
	})
}

func finiteOr(v, alt float64) float64 {
	if v != v || v > 1e308 || v < -1e308 {
		return alt
	}
	return v
}

// maxFeedback bounds the actual values one request may carry.
const maxFeedback = 10000

// handleFeedback takes actual values: {"request_id", "actual", "row"?},
// or {"feedback": [...]}, validated as strictly as predictions.
func (s *Server) handleFeedback(w http.ResponseWriter, r *http.Request) {
	if s.log == nil {
		s.fail(w, r, &requestError{Status: http.StatusServiceUnavailable, Msg: "the prediction log is off (predictions.enabled): there is nothing to join feedback to"})
		return
	}
	release, err := s.budget(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer release()
	body, _, err := s.readBody(w, r, styleFastAPI)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fb, err := DecodeFeedback(body, maxFeedback)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.o.Now()
	for i := range fb {
		fb[i].Time = now
	}
	res, err := s.log.AddFeedback(r.Context(), fb)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.live.observe(res.Joined)
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": len(fb), "matched": res.Matched, "request_id": state(w).id})
}

const feedbackShape = `the body must be {"request_id": ..., "actual": ..., "row": ...} or {"feedback": [...]}`

// DecodeFeedback reads one feedback object or {"feedback": [objects]}; it
// stops with a 413 at the first item over limit.
func DecodeFeedback(body []byte, limit int) ([]store.Feedback, error) {
	in := input.NewJSON(body)
	if k, err := in.Peek(); err != nil {
		return nil, asRequest(err)
	} else if k != '{' {
		return nil, badRequest(feedbackShape)
	}
	t := input.NewTable(nil, limit)
	var out []store.Feedback
	item := func(loc ...any) error {
		var f store.Feedback
		var id, actual, row jsontext.Value
		if k, err := in.Peek(); err != nil {
			return err
		} else if k != '{' {
			return badRequest(feedbackShape)
		}
		err := in.Members(func(key string) error {
			var err error
			switch key {
			case "request_id":
				id, err = in.Value()
			case "actual":
				actual, err = in.Value()
			case "row":
				row, err = in.Value()
			default:
				err = badRequest(feedbackShape+": unknown field %q", key)
			}
			return err
		})
		if err != nil {
			return err
		}
		// Past the listed problems, the rest are only counted: no
		// location is built for them.
		fail := func(typ, msg string, val any, key string) {
			if !t.Listing() {
				t.Fail(typ, msg, val, key) // counted, not listed
				return
			}
			t.Fail(typ, msg, val, append(slices.Clone(loc), key)...)
		}
		if id.Kind() != '"' || !validRequestID(input.Unquote(id)) {
			fail(input.Missing, "request_id is required: the X-Request-ID (or request_id) of the prediction", nil, "request_id")
		} else {
			f.RequestID = input.Unquote(id)
		}
		switch v, err := strconv.ParseFloat(string(actual), 64); {
		case actual == nil || actual.Kind() == 'n':
			fail(input.Missing, "actual is required: the true value", nil, "actual")
		case actual.Kind() != '0':
			fail(input.NotNum, "Input should be a valid number", nil, "actual")
		case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
			fail(input.Finite, "Input should be a finite number", nil, "actual")
		default:
			f.Actual = v
		}
		if row != nil {
			n, err := strconv.Atoi(string(row))
			switch {
			case err != nil:
				fail(input.NotNum, "row should be a whole number", nil, "row")
			case n < 0:
				fail(input.TooLow, "row should be 0 or more", n, "row")
			default:
				f.Row = n
			}
		}
		out = append(out, f)
		return nil
	}
	// {"feedback": [...]} or one item: the keys of the top level tell.
	var list jsontext.Value
	keys := 0
	err := in.Members(func(key string) error {
		keys++
		if key != "feedback" {
			return in.Skip()
		}
		v, err := in.Value()
		list = v
		return err
	})
	if err == nil {
		err = in.End()
	}
	switch {
	case err != nil:
	case list != nil && keys != 1, list != nil && list.Kind() != '[':
		err = badRequest(`{"feedback": [...]} must hold only a list of {"request_id", "actual", "row"?} objects`)
	case list != nil:
		in = input.NewJSON(list)
		err = in.Elems(limit, "feedback items", func(i int) error { return item("body", "feedback", i) })
	default:
		in = input.NewJSON(body)
		err = item("body")
	}
	if err != nil {
		return nil, asRequest(err)
	}
	if len(out) == 0 {
		return nil, badRequest("no feedback in the body")
	}
	if err := t.Err(); err != nil {
		return nil, asRequest(err)
	}
	return out, nil
}
