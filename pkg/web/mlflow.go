package web

// MLflow's tracking REST API (/api/2.0/mlflow/...), the subset the real
// MLflow Python client uses for experiments, runs, params, metrics, tags,
// batches, search and metric history, over housectl's run store: a
// user's mlflow-instrumented training code logs into it unchanged, and
// its runs are "external" runs, compared and gated like housectl's own.
// The protocol rules (../shared/reference/mlflow-traffic/README.md): a
// success is 200 with a JSON object; an error is a 4xx with MLflow's
// error_code, never a 5xx for a user's mistake (the client retries those
// for minutes); ids are strings; times are milliseconds.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
)

// MLflowVersion is the MLflow version whose API this one follows.
const MLflowVersion = "2.17.2"

// apiError is an MLflow API error: its HTTP status and error_code.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &apiError{http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf(format, args...)}
}

// asAPIError maps the store's errors to MLflow's.
func asAPIError(err error) *apiError {
	var ae *apiError
	var pc *tracking.ParamChangedError
	var tn *tracking.TagNotFoundError
	var fe *tracking.FilterError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &pc), errors.As(err, &fe):
		return &apiError{http.StatusBadRequest, "INVALID_PARAMETER_VALUE", err.Error()}
	case errors.As(err, &tn), errors.Is(err, tracking.ErrNoExperiment), errors.Is(err, tracking.ErrNotFound), errors.Is(err, registry.ErrNotFound):
		return &apiError{http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", err.Error()}
	case errors.Is(err, tracking.ErrExperimentExists), errors.Is(err, registry.ErrExists):
		return &apiError{http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS", err.Error()}
	}
	return &apiError{http.StatusInternalServerError, "INTERNAL_ERROR", "internal error: " + err.Error()}
}

// writeAPI writes a result as MLflow's API does.
func writeAPI(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		ae := asAPIError(err)
		w.WriteHeader(ae.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error_code": ae.code, "message": ae.msg})
		return
	}
	if v == nil {
		v = struct{}{}
	}
	if raw, ok := v.(rawJSON); ok {
		_, _ = w.Write(raw)
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// rawJSON is a response already encoded.
type rawJSON []byte

// cachedRun is a run snapshot's encoding: snapshots never change, so a
// run is encoded once per change, not once per search.
type cachedRun struct {
	run *tracking.Run
	b   []byte
}

// runBytes returns the API's JSON of a run snapshot.
func (s *Server) runBytes(r *tracking.Run) []byte {
	s.jsonMu.Lock()
	c, ok := s.jsonCache[r.ID]
	s.jsonMu.Unlock()
	if ok && c.run == r {
		return c.b
	}
	b, _ := json.Marshal(toRunJSON(r))
	s.jsonMu.Lock()
	s.jsonCache[r.ID] = cachedRun{r, b}
	s.jsonMu.Unlock()
	return b
}

// apiFunc is one API endpoint: the request decoded into its fields (the
// JSON body, or for GET the query), a result or an error.
type apiFunc func(r *http.Request, a args) (any, error)

func (s *Server) api(h apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := readArgs(r)
		if err != nil {
			writeAPI(w, nil, err)
			return
		}
		v, err := h(r, a)
		writeAPI(w, v, err)
	}
}

// maxAPIBody bounds a JSON request body (a log-batch of 1,000 metrics is
// about 100 KB).
const maxAPIBody = 16 << 20

// args are a request's fields: a GET's query (repeated keys for lists) or
// a JSON body's top-level members.
type args struct {
	query url.Values
	body  map[string]json.RawMessage
}

func readArgs(r *http.Request) (args, error) {
	a := args{query: r.URL.Query()}
	if r.Method == http.MethodGet {
		return a, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxAPIBody))
	if err != nil {
		return a, invalid("reading the request body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return a, nil
	}
	if err := json.Unmarshal(b, &a.body); err != nil {
		return a, &apiError{http.StatusBadRequest, "MALFORMED_REQUEST", fmt.Sprintf("the request body is not a JSON object: %v", err)}
	}
	return a, nil
}

// reader reads a request's fields and keeps the first problem, so that a
// handler reads what it needs and then checks once (in.err). After a
// problem, every read returns the zero value.
type reader struct {
	a   args
	err error
}

func (a args) reader() *reader { return &reader{a: a} }

func read[T any](in *reader, f func() (T, error)) T {
	var v T
	if in.err == nil {
		v, in.err = f()
	}
	return v
}

func (in *reader) str(name string) string {
	return read(in, func() (string, error) { return in.a.str(name) })
}

func (in *reader) required(name string) string {
	return read(in, func() (string, error) { return in.a.required(name) })
}

func (in *reader) runID() string { return read(in, in.a.runID) }

func (in *reader) int(name string, def int64) int64 {
	return read(in, func() (int64, error) { return in.a.int(name, def) })
}

func (in *reader) list(name string) []string {
	return read(in, func() ([]string, error) { return in.a.list(name) })
}

func (in *reader) keyValues(name string) []keyValue {
	return read(in, func() ([]keyValue, error) { return in.a.keyValues(name) })
}

func (in *reader) version() int { return read(in, in.a.version) }

func (in *reader) paging(def, limit int64) paging {
	return read(in, func() (paging, error) { return in.a.paging(def, limit) })
}

// str returns a string field ("" when absent).
func (a args) str(name string) (string, error) {
	if raw, ok := a.body[name]; ok {
		if string(raw) == "null" {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			// Numbers are accepted as their text, as protobuf's parser does.
			var n json.Number
			if json.Unmarshal(raw, &n) == nil {
				return n.String(), nil
			}
			return "", invalid("Invalid value %s for parameter '%s' supplied: it must be a string", raw, name)
		}
		return s, nil
	}
	return a.query.Get(name), nil
}

func (a args) required(name string) (string, error) {
	s, err := a.str(name)
	if err == nil && s == "" {
		err = invalid("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
	}
	return s, err
}

// runID is the run_id, or the run_uuid older clients send.
func (a args) runID() (string, error) {
	id, err := a.str("run_id")
	if err != nil || id != "" {
		return id, err
	}
	id, err = a.str("run_uuid")
	if err == nil && id == "" {
		err = invalid("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.")
	}
	return id, err
}

// int returns an integer field, def when absent.
func (a args) int(name string, def int64) (int64, error) {
	raw, ok := a.body[name]
	if !ok {
		q := a.query.Get(name)
		if q == "" {
			return def, nil
		}
		raw = json.RawMessage(strconv.Quote(q))
	}
	if string(raw) == "null" {
		return def, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, invalid("Invalid value %s for parameter '%s' supplied: it must be an integer", raw, name)
}

// list returns a list of strings field.
func (a args) list(name string) ([]string, error) {
	if raw, ok := a.body[name]; ok {
		var out []string
		if string(raw) == "null" {
			return nil, nil
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, invalid("Invalid value %s for parameter '%s' supplied: it must be a list of strings", raw, name)
		}
		return out, nil
	}
	return a.query[name], nil
}

// keyValues reads [{key, value}] (tags, params).
func (a args) keyValues(name string) ([]keyValue, error) {
	raw, ok := a.body[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var out []keyValue
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, invalid("Invalid value %s for parameter '%s' supplied: it must be a list of {key, value}", raw, name)
	}
	for _, kv := range out {
		if kv.Key == "" {
			return nil, invalid("Invalid value for parameter '%s' supplied: a key is missing", name)
		}
	}
	return out, nil
}

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func kvMap(kvs []keyValue) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func kvList(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, keyValue{k, m[k]})
	}
	return out
}

// The MLflow API's limits (mlflow/utils/validation.py).
const (
	maxParamValue   = 6000
	maxTagValue     = 8000
	maxKeyLength    = 250
	maxBatchMetrics = 1000
	maxBatchParams  = 100
	maxBatchTags    = 100
	maxBatchTotal   = 1000
)

func checkKey(kind, k string) error {
	if k == "" || len(k) > maxKeyLength || strings.Contains(k, "..") || strings.HasPrefix(k, "/") {
		return invalid("Invalid %s name: '%s'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'", kind, k, k)
	}
	return nil
}

// experimentJSON is an experiment as the API shows it.
type experimentJSON struct {
	ID               string     `json:"experiment_id"`
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location"`
	Lifecycle        string     `json:"lifecycle_stage"`
	LastUpdate       int64      `json:"last_update_time"`
	Created          int64      `json:"creation_time"`
	Tags             []keyValue `json:"tags,omitempty"`
}

func toExperimentJSON(x tracking.Experiment) experimentJSON {
	lc := tracking.LifecycleActive
	if x.Deleted {
		lc = tracking.LifecycleDeleted
	}
	j := experimentJSON{ID: x.ID, Name: x.Name, ArtifactLocation: "mlflow-artifacts:/" + x.ID, Lifecycle: lc,
		LastUpdate: x.Updated.UnixMilli(), Created: x.Created.UnixMilli()}
	if len(x.Tags) > 0 {
		j.Tags = kvList(x.Tags)
	}
	return j
}

type runInfoJSON struct {
	RunUUID        string `json:"run_uuid"`
	ExperimentID   string `json:"experiment_id"`
	RunName        string `json:"run_name"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
	RunID          string `json:"run_id"`
}

type runDataJSON struct {
	Metrics []tracking.MetricPoint `json:"metrics,omitempty"`
	Params  []keyValue             `json:"params,omitempty"`
	Tags    []keyValue             `json:"tags,omitempty"`
}

type datasetJSON struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
}

type datasetInputJSON struct {
	Tags    []keyValue  `json:"tags"`
	Dataset datasetJSON `json:"dataset"`
}

type runInputsJSON struct {
	DatasetInputs []datasetInputJSON `json:"dataset_inputs,omitempty"`
}

type runJSON struct {
	Info   runInfoJSON   `json:"info"`
	Data   runDataJSON   `json:"data"`
	Inputs runInputsJSON `json:"inputs"`
	// Outputs (MLflow 3's logged models) are none.
	Outputs struct{} `json:"outputs"`
}

func artifactURI(r *tracking.Run) string {
	return "mlflow-artifacts:/" + tracking.ExperimentIDOf(r.Experiment) + "/" + r.ID + "/artifacts"
}

func toRunInfo(r *tracking.Run) runInfoJSON {
	lc := tracking.LifecycleActive
	if r.Deleted {
		lc = tracking.LifecycleDeleted
	}
	info := runInfoJSON{RunUUID: r.ID, RunID: r.ID, ExperimentID: tracking.ExperimentIDOf(r.Experiment), RunName: r.Name,
		UserID: r.Lineage.User, Status: r.Status, StartTime: r.StartTime.UnixMilli(), ArtifactURI: artifactURI(r), LifecycleStage: lc}
	if r.EndTime != nil {
		e := r.EndTime.UnixMilli()
		info.EndTime = &e
	}
	return info
}

// toRunJSON shows a run as MLflow does. A housectl run's metrics are
// logged once, at its end, at step 0; its lineage shows as tags and its
// data files as dataset inputs.
func toRunJSON(r *tracking.Run) runJSON {
	j := runJSON{Info: toRunInfo(r)}
	if r.Model == tracking.KindExternal {
		j.Data.Metrics = slices.Clone(r.Latest)
		slices.SortFunc(j.Data.Metrics, func(a, b tracking.MetricPoint) int { return strings.Compare(a.Key, b.Key) })
		j.Data.Params = kvList(r.Params)
		tags := maps.Clone(r.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		if _, ok := tags["mlflow.runName"]; !ok {
			tags["mlflow.runName"] = r.Name
		}
		j.Data.Tags = kvList(tags)
		return j
	}
	var ts int64
	if r.EndTime != nil {
		ts = r.EndTime.UnixMilli()
	}
	for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
		j.Data.Metrics = append(j.Data.Metrics, tracking.MetricPoint{Key: k, Value: r.Metrics[k], Timestamp: ts})
	}
	j.Data.Params = kvList(r.ParamStrings())
	j.Data.Tags = kvList(r.AllTags())
	for _, d := range r.Datasets() {
		j.Inputs.DatasetInputs = append(j.Inputs.DatasetInputs, datasetInputJSON{
			Tags:    []keyValue{{"mlflow.data.context", d.Context}},
			Dataset: datasetJSON{Name: d.Name, Digest: d.Digest, SourceType: "local", Source: d.Name},
		})
	}
	return j
}

// liveRun serialises the writes to one run.
type liveRun struct {
	mu  sync.Mutex
	run *tracking.Run
}

// live returns the run of an id for a write, loaded once and kept.
func (s *Server) live(id string) (*liveRun, error) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if lr, ok := s.lives[id]; ok {
		return lr, nil
	}
	snap := s.catalog.Get(id)
	if snap == nil {
		if err := s.refresh(true); err != nil {
			return nil, err
		}
		if snap = s.catalog.Get(id); snap == nil {
			return nil, notFound("Run with id=%s not found", id)
		}
	}
	r, err := tracking.Load(snap.Dir())
	if err != nil {
		return nil, err
	}
	lr := &liveRun{run: r}
	s.lives[id] = lr
	return lr, nil
}

// write applies fn to a run under its lock and puts the result in the
// catalog.
func (s *Server) write(id string, fn func(r *tracking.Run) error) error {
	lr, err := s.live(id)
	if err != nil {
		return err
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if err := fn(lr.run); err != nil {
		return err
	}
	s.catalog.Put(lr.run)
	if lr.run.EndTime != nil {
		// An ended run is rarely written again (a tag, a delete): it
		// leaves memory, and a later write reads it back with its notes.
		s.liveMu.Lock()
		if s.lives[id] == lr {
			delete(s.lives, id)
		}
		s.liveMu.Unlock()
	}
	return nil
}

// run returns a run's snapshot for a read.
func (s *Server) run(id string) (*tracking.Run, error) {
	if r := s.catalog.Get(id); r != nil {
		return r, nil
	}
	if err := s.refresh(true); err != nil {
		return nil, err
	}
	if r := s.catalog.Get(id); r != nil {
		return r, nil
	}
	return nil, notFound("Run with id=%s not found", id)
}

func (s *Server) mlflowRoutes(mux *http.ServeMux) {
	for _, pre := range []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"} {
		route := func(method, name string, h apiFunc) {
			mux.HandleFunc(method+" "+pre+name, s.api(h))
		}
		route("POST", "experiments/create", s.createExperiment)
		route("GET", "experiments/get", s.getExperiment)
		route("GET", "experiments/get-by-name", s.getExperimentByName)
		route("POST", "experiments/search", s.searchExperiments)
		route("GET", "experiments/search", s.searchExperiments)
		route("POST", "experiments/set-experiment-tag", s.setExperimentTag)
		route("POST", "experiments/delete", s.experimentLifecycle(tracking.LifecycleDeleted))
		route("POST", "experiments/restore", s.experimentLifecycle(tracking.LifecycleActive))
		route("POST", "runs/create", s.createRun)
		route("GET", "runs/get", s.getRun)
		route("POST", "runs/update", s.updateRun)
		route("POST", "runs/delete", s.runLifecycle(tracking.LifecycleDeleted))
		route("POST", "runs/restore", s.runLifecycle(tracking.LifecycleActive))
		route("POST", "runs/log-parameter", s.logParam)
		route("POST", "runs/log-metric", s.logMetric)
		route("POST", "runs/log-batch", s.logBatch)
		route("POST", "runs/set-tag", s.setTag)
		route("POST", "runs/delete-tag", s.deleteTag)
		route("POST", "runs/log-model", s.logModel)
		route("POST", "runs/log-inputs", s.logInputs)
		route("POST", "runs/search", s.searchRuns)
		route("GET", "runs/search", s.searchRuns)
		route("GET", "metrics/get-history", s.metricHistory)
		route("POST", "logged-models/search", func(*http.Request, args) (any, error) { return struct{}{}, nil })
	}
	// Anything else under the API is MLflow's ENDPOINT_NOT_FOUND.
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeAPI(w, nil, &apiError{http.StatusNotFound, "ENDPOINT_NOT_FOUND", fmt.Sprintf("No API endpoint %s %s: housectl ui serves MLflow's tracking, artifact and registry API (see docs/FORMATS.md)", r.Method, r.URL.Path)})
	})
}

func (s *Server) createExperiment(_ *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("name")
	tags := in.keyValues("tags")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	x, err := s.store.CreateExperiment(name, kvMap(tags))
	if err != nil {
		return nil, err
	}
	return map[string]string{"experiment_id": x.ID}, nil
}

func (s *Server) getExperiment(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.required("experiment_id")
	if in.err != nil {
		return nil, in.err
	}
	x, err := s.store.Experiment(id)
	if err != nil {
		return nil, notFound("No Experiment with id=%s exists", id)
	}
	return map[string]any{"experiment": toExperimentJSON(x)}, nil
}

func (s *Server) getExperimentByName(_ *http.Request, a args) (any, error) {
	in := a.reader()
	name := in.required("experiment_name")
	if in.err != nil {
		return nil, in.err
	}
	x, err := s.store.ExperimentByName(name)
	if err != nil {
		return nil, notFound("Could not find experiment with name '%s'", name)
	}
	return map[string]any{"experiment": toExperimentJSON(x)}, nil
}

// viewOf reads a view type (ACTIVE_ONLY, DELETED_ONLY, ALL).
func viewOf(s string) (tracking.View, error) {
	switch s {
	case "", "ACTIVE_ONLY", "1":
		return tracking.ActiveOnly, nil
	case "DELETED_ONLY", "2":
		return tracking.DeletedOnly, nil
	case "ALL", "3":
		return tracking.AllRuns, nil
	}
	return 0, invalid("Invalid view type %q: use ACTIVE_ONLY, DELETED_ONLY or ALL", s)
}

// pageToken is MLflow's: base64 of {"offset": n}.
func pageToken(offset int) string {
	b, _ := json.Marshal(map[string]int{"offset": offset})
	return base64.StdEncoding.EncodeToString(b)
}

func readPageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.StdEncoding.DecodeString(tok)
	var v struct {
		Offset *int `json:"offset"`
	}
	if err != nil || json.Unmarshal(b, &v) != nil || v.Offset == nil || *v.Offset < 0 {
		return 0, invalid("Invalid page token, could not base64-decode and JSON-parse it: %q", tok)
	}
	return *v.Offset, nil
}

// paging is a search's page: where it starts and how many it returns.
type paging struct{ offset, max int }

// paging reads max_results (def when absent, at most limit) and
// page_token.
func (a args) paging(def, limit int64) (paging, error) {
	n, err := a.int("max_results", def)
	if err != nil {
		return paging{}, err
	}
	if n < 1 || n > limit {
		return paging{}, invalid("Invalid value %d for parameter 'max_results' supplied. It must be at most %d.", n, limit)
	}
	tok, err := a.str("page_token")
	if err != nil {
		return paging{}, err
	}
	offset, err := readPageToken(tok)
	return paging{offset: offset, max: int(n)}, err
}

// page cuts one page out of a search's results, under key, with the
// next page's token when more follow.
func page[T any](p paging, out []T, key string) map[string]any {
	resp := map[string]any{}
	out = out[min(p.offset, len(out)):]
	if len(out) > p.max {
		out = out[:p.max]
		resp["next_page_token"] = pageToken(p.offset + p.max)
	}
	if len(out) > 0 {
		resp[key] = out
	}
	return resp
}

func (s *Server) searchExperiments(_ *http.Request, a args) (any, error) {
	in := a.reader()
	pg := in.paging(1000, 50000)
	src := in.str("filter")
	if in.err != nil {
		return nil, in.err
	}
	f, err := tracking.ParseExperimentFilter(src)
	if err != nil {
		return nil, invalid("Invalid filter '%s': %v", src, err)
	}
	vt := in.str("view_type")
	if in.err != nil {
		return nil, in.err
	}
	view, err := viewOf(vt)
	if err != nil {
		return nil, err
	}
	all, err := s.store.Experiments()
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(all, func(x tracking.Experiment) bool { return x.ID == tracking.DefaultExperimentID }) {
		d, _ := s.store.Experiment(tracking.DefaultExperimentID)
		all = append([]tracking.Experiment{d}, all...)
	}
	var out []experimentJSON
	for _, x := range all {
		if view == tracking.ActiveOnly && x.Deleted || view == tracking.DeletedOnly && !x.Deleted || !f.MatchExperiment(x) {
			continue
		}
		out = append(out, toExperimentJSON(x))
	}
	// MLflow's default order: last created first, then id.
	slices.SortStableFunc(out, func(a, b experimentJSON) int {
		if a.Created != b.Created {
			return int(b.Created - a.Created)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return page(pg, out, "experiments"), nil
}

func (s *Server) setExperimentTag(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.required("experiment_id")
	key := in.required("key")
	value := in.str("value")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	return nil, s.store.ChangeExperiment(id, tracking.Event{Tags: map[string]string{key: value}})
}

func (s *Server) experimentLifecycle(stage string) apiFunc {
	return func(_ *http.Request, a args) (any, error) {
		in := a.reader()
		id := in.required("experiment_id")
		if in.err != nil {
			return nil, in.err
		}
		if err := s.writable(); err != nil {
			return nil, err
		}
		return nil, s.store.ChangeExperiment(id, tracking.Event{Lifecycle: stage})
	}
}

func (s *Server) createRun(_ *http.Request, a args) (any, error) {
	in := a.reader()
	expID := in.str("experiment_id")
	if in.err != nil {
		return nil, in.err
	}
	if expID == "" {
		expID = tracking.DefaultExperimentID
	}
	x, err := s.store.Experiment(expID)
	if err != nil {
		return nil, notFound("No Experiment with id=%s exists", expID)
	}
	if x.Deleted {
		return nil, &apiError{http.StatusBadRequest, "INVALID_STATE", fmt.Sprintf("The experiment %s must be in the 'active' state. Current state is deleted.", expID)}
	}
	name := in.str("run_name")
	user := in.str("user_id")
	start := in.int("start_time", 0)
	tags := in.keyValues("tags")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	tm := kvMap(tags)
	if name == "" {
		name = tm["mlflow.runName"]
	}
	o := tracking.CreateOptions{Name: name, User: user, Tags: tm}
	if start > 0 {
		o.Start = time.UnixMilli(start)
	}
	r, err := s.store.CreateRun(x.Dir, o)
	if err != nil {
		return nil, err
	}
	if _, ok := r.Tags["mlflow.runName"]; !ok {
		if err := s.store.Log(r, tracking.Event{Tags: map[string]string{"mlflow.runName": r.Name}}); err != nil {
			return nil, err
		}
	}
	s.liveMu.Lock()
	s.lives[r.ID] = &liveRun{run: r}
	s.liveMu.Unlock()
	s.catalog.Put(r)
	return map[string]any{"run": toRunJSON(r)}, nil
}

func (s *Server) getRun(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	if in.err != nil {
		return nil, in.err
	}
	r, err := s.run(id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": toRunJSON(r)}, nil
}

// external refuses a write to a run housectl train recorded: its record
// is sealed and final.
func external(r *tracking.Run) error {
	if r.Model != tracking.KindExternal {
		return &apiError{http.StatusBadRequest, "INVALID_STATE", fmt.Sprintf("run %s was recorded by housectl train (model %s): its params, metrics and status are final; only runs created through this API can be logged to", r.ID, r.Model)}
	}
	return nil
}

func (s *Server) updateRun(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	status := in.str("status")
	end := in.int("end_time", 0)
	name := in.str("run_name")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	var info runInfoJSON
	err := s.write(id, func(r *tracking.Run) error {
		if err := external(r); err != nil {
			return err
		}
		if name != "" && name != r.Name {
			if err := s.store.Log(r, tracking.Event{Tags: map[string]string{"mlflow.runName": name}}); err != nil {
				return err
			}
		}
		switch status {
		case "", tracking.StatusRunning, "SCHEDULED":
		case tracking.StatusFinished, tracking.StatusFailed, tracking.StatusKilled:
			if r.EndTime == nil {
				var t time.Time
				if end > 0 {
					t = time.UnixMilli(end)
				}
				if err := s.store.Finish(r, status, t); err != nil {
					return err
				}
			}
		default:
			return invalid("Invalid value %q for parameter 'status': use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", status)
		}
		info = toRunInfo(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"run_info": info}, nil
}

func (s *Server) runLifecycle(stage string) apiFunc {
	return func(_ *http.Request, a args) (any, error) {
		in := a.reader()
		id := in.runID()
		if in.err != nil {
			return nil, in.err
		}
		if err := s.writable(); err != nil {
			return nil, err
		}
		return nil, s.write(id, func(r *tracking.Run) error { return s.store.Log(r, tracking.Event{Lifecycle: stage}) })
	}
}

// logEvent validates and records an event on an external run.
func (s *Server) logEvent(id string, e tracking.Event) error {
	if err := s.writable(); err != nil {
		return err
	}
	for k, v := range e.Params {
		if err := checkKey("parameter", k); err != nil {
			return err
		}
		if len(v) > maxParamValue {
			return invalid("Param value '%s...' had length %d, which exceeded length limit of %d", v[:20], len(v), maxParamValue)
		}
	}
	for k, v := range e.Tags {
		if err := checkKey("tag", k); err != nil {
			return err
		}
		if len(v) > maxTagValue {
			return invalid("Tag value '%s...' had length %d, which exceeded length limit of %d", v[:20], len(v), maxTagValue)
		}
	}
	for _, m := range e.Metrics {
		if err := checkKey("metric", m.Key); err != nil {
			return err
		}
	}
	return s.write(id, func(r *tracking.Run) error {
		if err := external(r); err != nil {
			return err
		}
		if r.Deleted {
			return &apiError{http.StatusBadRequest, "INVALID_STATE", fmt.Sprintf("The run %s must be in the 'active' state. Current state is deleted.", id)}
		}
		return s.store.Log(r, e)
	})
}

func (s *Server) logParam(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	key := in.required("key")
	value := in.str("value")
	if in.err != nil {
		return nil, in.err
	}
	return nil, s.logEvent(id, tracking.Event{Params: map[string]string{key: value}})
}

// metricOf reads {key, value, timestamp, step}.
func metricOf(raw map[string]json.RawMessage, now time.Time) (tracking.MetricPoint, error) {
	a := args{body: raw}
	var m tracking.MetricPoint
	var err error
	if m.Key, err = a.required("key"); err != nil {
		return m, err
	}
	v, ok := raw["value"]
	if !ok {
		return m, invalid("Missing value for required parameter 'value'. See the API docs for more information about request parameters.")
	}
	if m.Value, err = tracking.ParseFloatJSON(v); err != nil {
		return m, invalid("Invalid value %s for parameter 'value' supplied: %v", v, err)
	}
	if m.Timestamp, err = a.int("timestamp", now.UnixMilli()); err != nil {
		return m, err
	}
	if m.Step, err = a.int("step", 0); err != nil {
		return m, err
	}
	return m, nil
}

func (s *Server) logMetric(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	if in.err != nil {
		return nil, in.err
	}
	m, err := metricOf(a.body, s.now())
	if err != nil {
		return nil, err
	}
	return nil, s.logEvent(id, tracking.Event{Metrics: []tracking.MetricPoint{m}})
}

func (s *Server) logBatch(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	params := in.keyValues("params")
	tags := in.keyValues("tags")
	if in.err != nil {
		return nil, in.err
	}
	var rawMetrics []map[string]json.RawMessage
	if raw, ok := a.body["metrics"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &rawMetrics); err != nil {
			return nil, invalid("Invalid value %s for parameter 'metrics' supplied: it must be a list of metrics", raw)
		}
	}
	switch {
	case len(rawMetrics) > maxBatchMetrics:
		return nil, invalid("A batch logging request can contain at most %d metrics. Got %d metrics.", maxBatchMetrics, len(rawMetrics))
	case len(params) > maxBatchParams:
		return nil, invalid("A batch logging request can contain at most %d params. Got %d params.", maxBatchParams, len(params))
	case len(tags) > maxBatchTags:
		return nil, invalid("A batch logging request can contain at most %d tags. Got %d tags.", maxBatchTags, len(tags))
	case len(rawMetrics)+len(params)+len(tags) > maxBatchTotal:
		return nil, invalid("The total number of metrics, params and tags in a batch logging request can be at most %d.", maxBatchTotal)
	}
	e := tracking.Event{Tags: kvMap(tags)}
	if len(params) > 0 {
		e.Params = make(map[string]string, len(params))
		for _, p := range params {
			if old, ok := e.Params[p.Key]; ok && old != p.Value {
				return nil, invalid("Duplicate parameter keys have been submitted: ['%s']. Please ensure the request contains only one param value per param key.", p.Key)
			}
			e.Params[p.Key] = p.Value
		}
	}
	now := s.now()
	for _, raw := range rawMetrics {
		m, err := metricOf(raw, now)
		if err != nil {
			return nil, err
		}
		e.Metrics = append(e.Metrics, m)
	}
	if len(e.Params)+len(e.Metrics)+len(e.Tags) == 0 {
		// Nothing to log: MLflow accepts it; the run must exist.
		_, err := s.run(id)
		return nil, err
	}
	return nil, s.logEvent(id, e)
}

func (s *Server) setTag(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	key := in.required("key")
	value := in.str("value")
	if in.err != nil {
		return nil, in.err
	}
	return nil, s.logEvent(id, tracking.Event{Tags: map[string]string{key: value}})
}

func (s *Server) deleteTag(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	key := in.required("key")
	if in.err != nil {
		return nil, in.err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	return nil, s.write(id, func(r *tracking.Run) error {
		if err := external(r); err != nil {
			return err
		}
		return s.store.Log(r, tracking.Event{DeleteTag: key})
	})
}

// logModel records the MLmodel description as MLflow 2 does: appended to
// the run's mlflow.log-model.history tag.
func (s *Server) logModel(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	doc := in.required("model_json")
	if in.err != nil {
		return nil, in.err
	}
	var model map[string]any
	if err := json.Unmarshal([]byte(doc), &model); err != nil {
		return nil, invalid("model_json is not a JSON object: %v", err)
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	return nil, s.write(id, func(r *tracking.Run) error {
		if err := external(r); err != nil {
			return err
		}
		var hist []map[string]any
		if h := r.Tags["mlflow.log-model.history"]; h != "" {
			_ = json.Unmarshal([]byte(h), &hist)
		}
		hist = append(hist, model)
		b, err := json.Marshal(hist)
		if err != nil {
			return err
		}
		return s.store.Log(r, tracking.Event{Tags: map[string]string{"mlflow.log-model.history": string(b)}})
	})
}

// logInputs accepts dataset inputs; their names and digests are kept as
// tags (mlflow.dataset.<name>.digest), which the filters see.
func (s *Server) logInputs(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	if in.err != nil {
		return nil, in.err
	}
	var inputs []datasetInputJSON
	if raw, ok := a.body["datasets"]; ok {
		if err := json.Unmarshal(raw, &inputs); err != nil {
			return nil, invalid("Invalid value %s for parameter 'datasets' supplied", raw)
		}
	}
	tags := map[string]string{}
	for _, input := range inputs {
		tags["mlflow.dataset."+input.Dataset.Name+".digest"] = input.Dataset.Digest
	}
	if len(tags) == 0 {
		_, err := s.run(id)
		return nil, err
	}
	return nil, s.logEvent(id, tracking.Event{Tags: tags})
}

func (s *Server) searchRuns(_ *http.Request, a args) (any, error) {
	in := a.reader()
	exps := in.list("experiment_ids")
	pg := in.paging(1000, 50000)
	src := in.str("filter")
	if in.err != nil {
		return nil, in.err
	}
	f, err := tracking.ParseFilter(src)
	if err != nil {
		return nil, invalid("Error on parsing filter '%s': %v", src, err)
	}
	orders := in.list("order_by")
	if in.err != nil {
		return nil, in.err
	}
	var order []tracking.OrderBy
	for _, o := range orders {
		ob, err := tracking.ParseOrderBy(o)
		if err != nil {
			return nil, invalid("Invalid order_by clause '%s': %v", o, err)
		}
		order = append(order, ob)
	}
	vt := in.str("run_view_type")
	if in.err != nil {
		return nil, in.err
	}
	view, err := viewOf(vt)
	if err != nil {
		return nil, err
	}
	if err := s.refresh(false); err != nil {
		return nil, err
	}
	dirs := make([]string, len(exps))
	for i, e := range exps {
		dirs[i] = tracking.ExperimentDir(e)
	}
	runs, total := s.catalog.Search(tracking.Query{Experiments: dirs, Filter: f, Order: order, View: view, Offset: pg.offset, Limit: pg.max})
	var b bytes.Buffer
	b.WriteByte('{')
	if len(runs) > 0 {
		b.WriteString(`"runs":[`)
		for i, r := range runs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(s.runBytes(r))
		}
		b.WriteByte(']')
	}
	if pg.offset+len(runs) < total {
		if len(runs) > 0 {
			b.WriteByte(',')
		}
		tok, _ := json.Marshal(pageToken(pg.offset + len(runs)))
		b.WriteString(`"next_page_token":`)
		b.Write(tok)
	}
	b.WriteString("}\n")
	return rawJSON(b.Bytes()), nil
}

func (s *Server) metricHistory(_ *http.Request, a args) (any, error) {
	in := a.reader()
	id := in.runID()
	key := in.required("metric_key")
	pg := in.paging(25000, 1<<30)
	if in.err != nil {
		return nil, in.err
	}
	r, err := s.run(id)
	if err != nil {
		return nil, err
	}
	h, err := s.store.History(r, key)
	if err != nil {
		return nil, err
	}
	return page(pg, h, "metrics"), nil
}
