// Package serve is housectl's prediction server: an http.Handler that
// validates input, predicts with the served model, logs every prediction
// through an interface, and exports Prometheus metrics on its own
// registry. It speaks housectl's JSON (/predict, /predict/batch), MLflow's
// scoring protocol (/invocations) and the Open Inference Protocol
// (/v2/...), and swaps in a newly promoted model without a restart.
//
// Nouns:
//   - Server: the handler, its model and its metrics.
//   - Model: a loaded, verified model with its feature bounds.
//   - Source: where the model comes from (a registry alias, in practice).
//   - PredictionLog: where each prediction goes (the SQLite log).
package serve

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"

	"github.com/housectl/housectl/pkg/monitor"
	"github.com/housectl/housectl/pkg/pyfmt"
	"github.com/housectl/housectl/pkg/store"
)

// Options configure a Server.
type Options struct {
	// Source and URI are the one served model when Models is empty.
	Source Source
	URI    string // shown in logs and /model
	// Models are the served models, each under its name; the first is the
	// default, which /predict, /predict/batch and /invocations serve.
	Models []ModelOptions
	// UnitHeader carries the unit key a split is sticky by (default
	// X-Housectl-Unit).
	UnitHeader string
	// ShadowQueue bounds the requests waiting for a shadow (default
	// 1,000); past it they are dropped and counted.
	ShadowQueue int
	// LiveWindow is how many of the latest predictions with feedback the
	// live RMSE and MAE gauges cover (default 1,000); RMSERegression is
	// exported for the alert on them (monitor.rmse_regression).
	LiveWindow     int
	RMSERegression float64
	// UnseenLabelsMissing takes a category label a model does not know as
	// a missing value; otherwise it is refused (serve.unseen_labels).
	UnseenLabelsMissing bool
	Logger              *slog.Logger
	// Registry receives the server's metrics (and the Go and process
	// collectors); it must be a fresh one.
	Registry *prometheus.Registry
	// Log is the prediction log (nil: none). The server writes to it
	// through a store.Writer made with LogOptions (its callbacks are the
	// server's), and flushes it on shutdown.
	Log        store.Store
	LogOptions store.WriterOptions
	Now        func() time.Time

	BodyLimit      int64
	MaxBatchRows   int
	RangeTolerance float64
	Bounds         Bounds
	// APIKeys, when any, are required on prediction and model routes,
	// and on /metrics unless MetricsPublic.
	APIKeys []string
	// MetricsKeys open /metrics and nothing else (Prometheus's token).
	MetricsKeys   []string
	MetricsPublic bool
	RateLimit     float64 // per second per key or client IP; 0: off
	RateBurst     int
	// AuthFailureRate and AuthFailureBurst bound failed authentications
	// per client address; past them the client is answered 429 before its
	// key is checked. 0: off.
	AuthFailureRate  float64
	AuthFailureBurst int
	// TrustedProxies are the proxies in front of the server: a request
	// from one of them is from the last X-Forwarded-For hop that is not
	// one. Empty: the peer is the client.
	TrustedProxies []netip.Prefix
	// BodyBudget bounds the bytes of large bodies read and decoded at
	// once across requests (0: 16 body limits); a request waits up to
	// BodyWait (0: 15 s) for its share, then gets 503.
	BodyBudget int64
	BodyWait   time.Duration
	Version    string // housectl's version, for /version and /v2

	// The HTTP server's timeouts (zero: net/http's defaults, none) and
	// how long Run waits, on shutdown, for in-flight requests and the
	// prediction log (zero: 20 s).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	ShutdownTimeout                                           time.Duration
	// ReloadInterval is how often Run checks the source for a moved alias
	// (0: never on a timer); each value received on Reload (SIGHUP, as
	// the command wires it) checks at once.
	ReloadInterval time.Duration
	Reload         <-chan os.Signal
	// DriftInterval is how often Run recomputes the drift gauges (0:
	// never).
	DriftInterval time.Duration
	// DriftWindow is how many of the latest predictions UpdateDrift
	// measures (0: 10,000); DriftThresholds judge them (zero: defaults).
	DriftWindow     int
	DriftThresholds monitor.Thresholds
}

// Server is the prediction server.
type Server struct {
	o Options
	// endpoints are the served models; def is the one the unnamed routes
	// (/predict, /invocations, ...) serve. slots are every variant and
	// shadow of them, each loaded and swapped on its own.
	endpoints  []*endpoint
	def        *endpoint
	slots      []*slot
	shadow     *shadows // nil: no model has a shadow
	unitHeader string
	reloadMu   sync.Mutex
	log        *store.Writer // nil: no prediction log
	metrics    *metrics
	keys       [][32]byte
	scrape     [][32]byte // keys that open /metrics only
	limiters   *limiters
	failures   *limiters // failed authentications per client address
	bodies     *semaphore.Weighted
	handler    http.Handler
	reqSeq     atomic.Uint64
	reqPre     string
	drift      *driftMetrics
	live       *live
}

// slot is one variant (or the shadow) of a served model: where it comes
// from, what is loaded, and the window of its latest predictions for the
// drift gauges.
type slot struct {
	uri      string
	source   Source
	variant  string
	isShadow bool
	ep       *endpoint
	model    atomic.Pointer[Model]
	loadedAt atomic.Value // time.Time of the last swap
	window   window
	// err is why the last load failed; nil once one succeeds.
	err atomic.Pointer[string]
	// variantValue is the X-Housectl-Variant header's value.
	variantValue []string
}

// New builds the server and loads the model; it fails if the model cannot
// be loaded.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = 4 << 20
	}
	if o.MaxBatchRows <= 0 {
		o.MaxBatchRows = 10000
	}
	s := &Server{o: o}
	var pre [4]byte
	_, _ = rand.Read(pre[:])
	s.reqPre = hex.EncodeToString(pre[:])
	for _, k := range o.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	for _, k := range o.MetricsKeys {
		s.scrape = append(s.scrape, sha256.Sum256([]byte(k)))
	}
	if o.RateLimit > 0 {
		s.limiters = newLimiters(rate.Limit(o.RateLimit), o.RateBurst)
	}
	if o.AuthFailureRate > 0 && len(o.APIKeys) > 0 {
		s.failures = newLimiters(rate.Limit(o.AuthFailureRate), o.AuthFailureBurst)
	}
	if s.o.BodyBudget <= 0 {
		s.o.BodyBudget = 16 * s.o.BodyLimit
	}
	if s.o.BodyWait <= 0 {
		s.o.BodyWait = 15 * time.Second
	}
	s.bodies = semaphore.NewWeighted(s.o.BodyBudget)
	if s.o.DriftWindow <= 0 {
		s.o.DriftWindow = 10000
	}
	if s.o.DriftThresholds == (monitor.Thresholds{}) {
		s.o.DriftThresholds = monitor.DefaultThresholds()
	}
	if s.o.ShutdownTimeout <= 0 {
		s.o.ShutdownTimeout = 20 * time.Second
	}
	s.drift = newDriftMetrics(o.Registry)
	s.live = newLive(o.Registry, cmp.Or(o.LiveWindow, 1000), o.RMSERegression)
	s.metrics = newMetrics(o.Registry, func() float64 {
		if s.log == nil {
			return 0
		}
		return float64(s.log.Depth())
	})
	s.unitHeader = cmp.Or(o.UnitHeader, "X-Housectl-Unit")
	models := o.Models
	if len(models) == 0 {
		models = []ModelOptions{{Variants: []VariantOptions{{URI: o.URI, Source: o.Source, Weight: 1}}}}
	}
	shadowed := false
	for _, mo := range models {
		if len(mo.Variants) == 0 {
			return nil, fmt.Errorf("model %q has no variant to serve", mo.Name)
		}
		ep := &endpoint{unitField: mo.UnitField}
		if mo.Name != "" {
			ep.name.Store(&mo.Name)
		}
		ws := make([]float64, len(mo.Variants))
		for i, v := range mo.Variants {
			sl := &slot{uri: v.URI, source: v.Source, variant: v.Name, ep: ep, variantValue: []string{v.Name}}
			ep.variants = append(ep.variants, sl)
			ws[i] = v.Weight
			if len(mo.Variants) == 1 {
				ws[i] = 1
			}
		}
		ep.weights.Store(&ws)
		if v := mo.Shadow; v != nil {
			ep.shadow = &slot{uri: v.URI, source: v.Source, variant: v.Name, ep: ep, isShadow: true, variantValue: []string{v.Name}}
			shadowed = true
		}
		s.endpoints = append(s.endpoints, ep)
		s.slots = append(s.slots, ep.variants...)
		if ep.shadow != nil {
			s.slots = append(s.slots, ep.shadow)
		}
	}
	s.def = s.endpoints[0]
	if _, err := s.reload(); err != nil {
		// Serving goes on as long as one variant of the default model
		// loaded: the others are reported on /ready and retried.
		if _, m := s.def.pick(""); m == nil {
			return nil, err
		}
		s.o.Logger.Error("some models did not load; the others are served", "error", err.Error())
	}
	for _, ep := range s.endpoints {
		if ep.Name() == "" {
			return nil, fmt.Errorf("no variant of the model served from %s loaded, so it has no name: give it one", ep.variants[0].uri)
		}
		if len(ep.variants) > 1 {
			ws := *ep.weights.Load()
			w := Weights{}
			for i, sl := range ep.variants {
				w[sl.variant] = ws[i]
			}
			if err := s.SetWeights(ep.Name(), w); err != nil {
				return nil, err
			}
		}
	}
	for i, a := range s.endpoints {
		for _, b := range s.endpoints[:i] {
			if a.Name() == b.Name() {
				return nil, fmt.Errorf("model %s is served twice: serve each model once (a split serves several of its aliases)", a.Name())
			}
		}
	}
	if shadowed {
		s.startShadows(runtime.GOMAXPROCS(0), cmp.Or(o.ShadowQueue, 1000))
	}
	if o.Log != nil {
		lo := o.LogOptions
		lo.OnWritten = func(n int) { s.metrics.logWritten.Add(float64(n)) }
		lo.OnDropped = func(n int) { s.metrics.logDropped.Add(float64(n)) }
		lo.OnError = func(err error) { s.o.Logger.Error("prediction log", "error", err.Error()) }
		s.log = store.NewWriter(o.Log, lo)
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Current is the default model's first loaded variant (nil: none is).
func (s *Server) Current() *Model {
	_, m := s.def.first()
	return m
}

// Reload checks the sources and swaps in the models that moved; a model
// that fails to load or verify is refused and the current one stays.
func (s *Server) Reload() (bool, error) { return s.reload() }

// routes wires every endpoint with its protection.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// paths knows every route's path without its method, so that a known
	// path asked with another method is a 405 that lists the methods it
	// takes in Allow (RFC 9110), not a 404.
	paths := http.NewServeMux()
	allow := map[string][]string{}
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, h)
		method, path, _ := strings.Cut(pattern, " ")
		if allow[path] == nil {
			paths.Handle(path, h)
		}
		allow[path] = append(allow[path], method)
		if method == http.MethodGet {
			allow[path] = append(allow[path], http.MethodHead)
		}
	}
	protect := func(h http.HandlerFunc) http.Handler { return s.auth(s.rateLimit(h)) }
	handle("POST /predict", protect(s.handlePredict))
	handle("POST /predict/batch", protect(s.handleBatch))
	handle("POST /invocations", protect(s.handleInvocations))
	handle("POST /v2/models/{name}/infer", protect(s.handleOIPInfer))
	handle("POST /v2/models/{name}/versions/{version}/infer", protect(s.handleOIPInfer))
	handle("GET /v2/models/{name}", protect(s.handleOIPModel))
	handle("GET /v2/models/{name}/ready", protect(s.handleOIPModelReady))
	handle("GET /v2/models/{name}/versions/{version}", protect(s.handleOIPModel))
	handle("GET /v2/models/{name}/versions/{version}/ready", protect(s.handleOIPModelReady))
	handle("GET /model", protect(s.handleModel))
	handle("GET /models", protect(s.handleModels))
	handle("GET /models/{name}", protect(s.handleModel))
	handle("POST /models/{name}/predict", protect(s.handlePredict))
	handle("POST /models/{name}/predict/batch", protect(s.handleBatch))
	handle("PUT /admin/split", protect(s.handleSplit))
	handle("POST /feedback", protect(s.handleFeedback))
	handle("GET /v2", http.HandlerFunc(s.handleOIPServer))
	handle("GET /v2/health/live", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	handle("GET /v2/health/ready", http.HandlerFunc(s.handleOIPReady))
	handle("GET /health", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	handle("GET /ping", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { // MLflow
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "\n")
	}))
	handle("GET /version", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, s.o.Version)
	}))
	handle("GET /ready", http.HandlerFunc(s.handleReady))
	metricsHandler := promhttp.HandlerFor(s.o.Registry, promhttp.HandlerOpts{Registry: s.o.Registry})
	if s.o.MetricsPublic {
		handle("GET /metrics", metricsHandler)
	} else {
		handle("GET /metrics", s.authWith(append(slices.Clone(s.keys), s.scrape...), metricsHandler))
	}
	handle("GET /openapi.json", http.HandlerFunc(s.handleOpenAPI))
	handle("GET /docs", http.HandlerFunc(handleDocs))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, p := paths.Handler(r); p != "" {
			methods := strings.Join(allow[p], ", ")
			w.Header().Set("Allow", methods)
			s.fail(w, r, &requestError{Status: http.StatusMethodNotAllowed, Msg: "method " + r.Method + " is not allowed on " + r.URL.Path + " (allowed: " + methods + "): see /docs", Code: "BAD_REQUEST"})
			return
		}
		s.fail(w, r, &requestError{Status: http.StatusNotFound, Msg: "no such endpoint: see /docs", Code: "ENDPOINT_NOT_FOUND"})
	})
	return s.observe(mux)
}

// reqState is per-request state, carried by the response writer (no
// context allocation on the hot path).
type reqState struct {
	id    string
	start time.Time
	key   string // the API key's fingerprint, for rate limiting
	style errorStyle
}

// state returns the request's state from its writer.
func state(w http.ResponseWriter) *reqState {
	if sw, ok := w.(*statusWriter); ok {
		return &sw.st
	}
	return &reqState{start: time.Now()}
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int
	st    reqState
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// validRequestID accepts a caller's X-Request-ID: 1-128 visible ASCII.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// observe assigns the request id, recovers panics, measures and logs.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		st := &sw.st
		st.start = s.o.Now()
		if id := r.Header.Get("X-Request-ID"); validRequestID(id) {
			st.id = id
		} else {
			st.id = s.reqPre + "-" + strconv.FormatUint(s.reqSeq.Add(1), 36)
		}
		w.Header()["X-Request-Id"] = []string{st.id}
		st.style = styleOf(r.URL.Path)
		s.metrics.inflight.Inc()
		defer func() {
			s.metrics.inflight.Dec()
			if p := recover(); p != nil {
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				s.o.Logger.Error("internal error", "request_id", st.id, "panic", fmt.Sprint(p), "path", r.URL.Path)
				if sw.code == 0 {
					s.fail(sw, r, &requestError{Status: http.StatusInternalServerError, Msg: "internal error; the request id is in the server's log", Code: "INTERNAL_ERROR"})
				}
			}
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			end := s.o.Now()
			d := end.Sub(st.start)
			s.metrics.observe(route, code, d)
			// The access log's record is made here rather than by
			// Logger.LogAttrs, which would read the clock again and walk
			// the stack for a source position nobody prints.
			if h := s.o.Logger.Handler(); h.Enabled(r.Context(), slog.LevelInfo) {
				rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
				rec.AddAttrs(slog.String("request_id", st.id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.String("route", route), slog.Int("status", code), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
					slog.Int("bytes", sw.bytes), slog.String("remote", s.clientIP(r)))
				_ = h.Handle(r.Context(), rec)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// clientIP is the address of the request's client: the peer's, or, when
// the peer is a trusted proxy, the last X-Forwarded-For hop that is not
// itself a trusted proxy (nginx's real_ip with real_ip_recursive on). The
// hops to the left of it were written by the client and are never taken.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.o.TrustedProxies) == 0 {
		return host // no proxy to believe: the peer, without parsing it
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	client := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		h := hops[i]
		for h != "" {
			var hop string
			if k := strings.LastIndexByte(h, ','); k >= 0 {
				h, hop = h[:k], h[k+1:]
			} else {
				h, hop = "", h
			}
			a, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				return client.String() // a malformed hop: the one to its right sent it
			}
			client = a.Unmap()
			if !s.trusted(client) {
				return client.String()
			}
		}
	}
	return client.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.o.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// auth requires one of the API keys (Authorization: Bearer or X-API-Key)
// when keys are configured. Every key is compared, in constant time.
func (s *Server) auth(next http.Handler) http.Handler { return s.authWith(s.keys, next) }

// givenKey is the request's key and its SHA-256.
func givenKey(r *http.Request) (string, [32]byte) {
	given := r.Header.Get("X-API-Key")
	if a := r.Header.Get("Authorization"); given == "" && len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		given = strings.TrimSpace(a[7:])
	}
	return given, sha256.Sum256([]byte(given))
}

// keyOK compares a key's digest with every one of keys, in constant time.
func keyOK(sum [32]byte, keys [][32]byte) bool {
	ok := 0
	for i := range keys {
		ok |= subtle.ConstantTimeCompare(sum[:], keys[i][:])
	}
	return ok == 1
}

// authWith requires one of keys. A client whose failed attempts used up
// its budget (serve.auth_failure_rate) is answered 429 before its key is
// checked, so that guessing is slow and a right guess is not told apart.
func (s *Server) authWith(keys [][32]byte, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.keys) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		var fails *rate.Limiter
		now := s.o.Now()
		if s.failures != nil {
			fails = s.failures.get(s.clientIP(r))
			if fails.TokensAt(now) < 1 {
				res := fails.ReserveN(now, 1)
				d := res.DelayFrom(now)
				res.CancelAt(now)
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
				s.fail(w, r, &requestError{Status: http.StatusTooManyRequests, Msg: "too many failed authentications from this address; retry later with a valid API key", Code: "RESOURCE_EXHAUSTED"})
				return
			}
		}
		given, sum := givenKey(r)
		if given == "" || !keyOK(sum, keys) {
			if fails != nil {
				fails.AllowN(now, 1)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="housectl"`)
			msg := "missing API key: send Authorization: Bearer <key> or X-API-Key: <key>"
			if given != "" {
				msg = "invalid API key"
			}
			s.fail(w, r, &requestError{Status: http.StatusUnauthorized, Msg: msg, Code: "UNAUTHENTICATED"})
			return
		}
		state(w).key = hex.EncodeToString(sum[:8])
		next.ServeHTTP(w, r)
	})
}

// authenticated reports whether a request carries one of the API keys
// (always true without keys); for open routes that say more to a client
// that has one.
func (s *Server) authenticated(r *http.Request) bool {
	if len(s.keys) == 0 {
		return true
	}
	given, sum := givenKey(r)
	return given != "" && keyOK(sum, s.keys)
}

// maxClients bounds the token buckets kept at once: past it the least
// recently seen client's bucket is dropped (and refilled if it returns),
// so that a flood of distinct addresses or keys cannot grow the server.
const maxClients = 65536

// limiters are token buckets per client, the least recently used dropped
// past maxClients.
type limiters struct {
	c     *lru.Cache[string, *rate.Limiter]
	r     rate.Limit
	burst int
}

func newLimiters(r rate.Limit, burst int) *limiters {
	c, _ := lru.New[string, *rate.Limiter](maxClients)
	return &limiters{c: c, r: r, burst: max(1, burst)}
}

func (l *limiters) get(key string) *rate.Limiter {
	if lim, ok := l.c.Get(key); ok {
		return lim
	}
	lim := rate.NewLimiter(l.r, l.burst)
	if prev, ok, _ := l.c.PeekOrAdd(key, lim); ok {
		return prev
	}
	return lim
}

func (s *Server) rateLimit(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limiters == nil {
			next(w, r)
			return
		}
		key := "ip:" + s.clientIP(r)
		if k := state(w).key; k != "" {
			key = "key:" + k
		}
		lim := s.limiters.get(key)
		now := s.o.Now()
		res := lim.ReserveN(now, 1)
		if d := res.DelayFrom(now); d > 0 {
			res.CancelAt(now)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
			s.fail(w, r, &requestError{Status: http.StatusTooManyRequests, Msg: fmt.Sprintf("rate limit of %g requests/s exceeded; retry after %s", float64(s.limiters.r), d.Round(time.Millisecond)), Code: "RESOURCE_EXHAUSTED"})
			return
		}
		next(w, r)
	})
}

// readBody checks the content type and reads the body within the limit.
// MLflow's /invocations takes text/csv too, and refuses a content type in
// MLflow's words (its 415s are text/plain). The OIP takes a body without
// a content type as JSON (tritonclient sends none), and a binary one
// with the binary tensor extension's header.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, proto errorStyle) ([]byte, bool, error) {
	ct := r.Header.Get("Content-Type")
	mt := ct
	mlflow := proto == styleMLflow
	if proto == styleOIP {
		if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
			return nil, false, &requestError{Status: http.StatusUnsupportedMediaType, Msg: fmt.Sprintf("Content-Encoding %q is not supported: send the body uncompressed", enc), Code: "BAD_REQUEST"}
		}
		if ct == "" || r.Header.Get(oipHeaderLength) != "" && strings.HasPrefix(ct, "application/octet-stream") {
			ct, mt = "application/json", "application/json"
		}
	}
	if ct != "application/json" { // the usual header needs no parsing
		var params map[string]string
		var err error
		mt, params, err = mime.ParseMediaType(ct)
		if mlflow && err == nil { // MLflow checks the parameters before the type
			if err := mediaParams(params, true); err != nil {
				return nil, false, err
			}
		}
		if ct == "" || err != nil || mt != "application/json" && !(mlflow && mt == "text/csv") {
			if mlflow {
				return nil, false, &requestError{Status: http.StatusUnsupportedMediaType, Msg: "This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got " + pyfmt.Repr(ct) + ".", Code: "BAD_REQUEST"}
			}
			return nil, false, &requestError{Status: http.StatusUnsupportedMediaType, Msg: fmt.Sprintf("Content-Type must be application/json, got %q", ct), Code: "BAD_REQUEST"}
		}
		if !mlflow {
			if err := mediaParams(params, false); err != nil {
				return nil, false, err
			}
		}
	}
	if r.ContentLength > s.o.BodyLimit {
		return nil, false, &requestError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("the body is over the limit of %d bytes (serve.body_limit): send fewer rows per request", s.o.BodyLimit), Code: "BAD_REQUEST"}
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, s.o.BodyLimit), r.ContentLength, s.o.BodyLimit)
	if err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, false, &requestError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("the body is over the limit of %d bytes (serve.body_limit): send fewer rows per request", mbe.Limit), Code: "BAD_REQUEST"}
		}
		return nil, false, badRequest("reading the body: %v", err)
	}
	return body, mt == "text/csv", nil
}

// mediaParams checks a content type's parameters: charset, UTF-8 only,
// and nothing else; in MLflow's words for its route.
func mediaParams(params map[string]string, mlflow bool) error {
	fail := func(msg string) error {
		return &requestError{Status: http.StatusUnsupportedMediaType, Msg: msg, Code: "BAD_REQUEST"}
	}
	var unknown []string
	for k, v := range params {
		switch {
		case k != "charset":
			unknown = append(unknown, k)
		case strings.EqualFold(v, "utf-8"):
		case mlflow:
			return fail("The scoring server only supports UTF-8")
		default:
			return fail("the body must be UTF-8 (Content-Type: application/json; charset=utf-8)")
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	if mlflow {
		return fail("Unrecognized content type parameters: " + strings.Join(unknown, ", ") + ". " + mlflowProtocolChange)
	}
	return fail(fmt.Sprintf("Content-Type has an unknown parameter %q: send application/json", unknown[0]))
}

// smallBody is the size under which a body is read without taking a share
// of the body budget: every single-row request.
const smallBody = 64 << 10

// budget takes the request's share of the body budget (its declared
// length, or the body limit when it declares none) for large bodies, and
// returns its release. A request that cannot get it within BodyWait is a
// 503: the server is busy decoding other large bodies.
func (s *Server) budget(r *http.Request) (func(), error) {
	n := r.ContentLength
	if n >= 0 && n <= smallBody {
		return func() {}, nil
	}
	if n < 0 || n > s.o.BodyLimit {
		n = s.o.BodyLimit
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.o.BodyWait)
	defer cancel()
	if err := s.bodies.Acquire(ctx, n); err != nil {
		s.metrics.budgetRefused.Inc()
		return nil, &requestError{Status: http.StatusServiceUnavailable, Msg: "the server is busy reading other large requests (serve.body_budget): retry shortly", Code: "TEMPORARILY_UNAVAILABLE"}
	}
	return func() { s.bodies.Release(n) }, nil
}

// readAll reads r to its end, into a buffer of the declared length when
// it is known and within the limit: a /predict body of ~200 bytes then
// takes one allocation of its size, not io.ReadAll's 512 bytes and up.
func readAll(r io.Reader, declared, limit int64) ([]byte, error) {
	if declared < 0 || declared >= limit {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, declared+1) // +1: room to see the end without growing
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// errorStyle selects the error body shape of a protocol.
type errorStyle int

const (
	styleFastAPI errorStyle = iota // {"detail": ...}
	styleMLflow                    // {"error_code", "message"}
	styleOIP                       // {"error"}
)

// styleOf is the error style of a path's protocol: every answer under
// /v2, even a 401 or a 404, is the Open Inference Protocol's.
func styleOf(path string) errorStyle {
	switch {
	case path == "/v2" || strings.HasPrefix(path, "/v2/"):
		return styleOIP
	case path == "/invocations":
		return styleMLflow
	}
	return styleFastAPI
}

// fail writes a client or server error in the route's protocol, and
// counts validation failures by reason. Nothing internal leaks.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	if !errors.As(err, &re) {
		st := state(w)
		s.o.Logger.Error("internal error", "request_id", st.id, "error", err.Error())
		re = &requestError{Status: http.StatusInternalServerError, Msg: "internal error; the request id is in the server's log", Code: "INTERNAL_ERROR"}
	}
	for _, f := range re.Fields {
		s.metrics.validation.WithLabelValues(f.Type).Inc()
	}
	if extra := re.Total - len(re.Fields); extra > 0 {
		s.metrics.validation.WithLabelValues("unlisted").Add(float64(extra))
	}
	style := state(w).style
	id := state(w).id
	switch style {
	case styleMLflow:
		if re.Status == http.StatusUnsupportedMediaType {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(re.Status)
			_, _ = io.WriteString(w, re.Msg)
			return
		}
		body := map[string]any{"error_code": re.Code, "message": re.Msg}
		if len(re.Fields) > 0 {
			body["detail"] = re.Fields
		}
		writeJSON(w, re.Status, body)
	case styleOIP:
		body := map[string]any{"error": re.Msg}
		if len(re.Fields) > 0 {
			body["detail"] = re.Fields
		}
		writeJSON(w, re.Status, body)
	default:
		body := map[string]any{"detail": re.Msg, "request_id": id}
		if len(re.Fields) > 0 {
			body["detail"] = re.Fields
			body["error_count"] = re.Total
		}
		writeJSON(w, re.Status, body)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"detail":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
