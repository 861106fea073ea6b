package serve

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func prefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// request is a /predict request from peer with the given headers.
func request(t *testing.T, peer string, headers ...string) *http.Request {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), "POST", "/predict", strings.NewReader(`{"a": 1, "b": 2, "c": 3}`))
	req.Header.Set("Content-Type", js)
	req.RemoteAddr = peer
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return req
}

// The client is the last X-Forwarded-For hop that is not a trusted proxy,
// and only when the peer is one: the hops a client writes (to the left)
// are never taken.
func TestClientAddress(t *testing.T) {
	s, _, _ := newServer(t, func(o *Options) { o.TrustedProxies = prefixes(t, "10.0.0.0/8", "192.0.2.1/32") })
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "203.0.113.9:4000", nil, "203.0.113.9"},
		{"an untrusted peer's header is ignored", "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"one proxy", "10.1.2.3:4000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"a forged first hop", "10.1.2.3:4000", []string{"1.2.3.4, 203.0.113.7"}, "203.0.113.7"},
		{"two trusted proxies", "10.1.2.3:4000", []string{"6.6.6.6, 203.0.113.7, 192.0.2.1"}, "203.0.113.7"},
		{"header lines in order", "10.1.2.3:4000", []string{"6.6.6.6", "203.0.113.7, 10.9.9.9"}, "203.0.113.7"},
		{"only proxies", "10.1.2.3:4000", []string{"10.2.2.2"}, "10.2.2.2"},
		{"a malformed hop", "10.1.2.3:4000", []string{"6.6.6.6, not-an-ip, 10.2.2.2"}, "10.2.2.2"},
		{"IPv6 and a mapped IPv4", "[::ffff:10.1.2.3]:4000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"no header", "10.1.2.3:4000", nil, "10.1.2.3"},
	} {
		var hdr []string
		for _, x := range tc.xff {
			hdr = append(hdr, "X-Forwarded-For", x)
		}
		if got := s.clientIP(request(t, tc.peer, hdr...)); got != tc.want {
			t.Errorf("%s: client %s, want %s", tc.name, got, tc.want)
		}
	}
}

// Issue 17's bypass: behind a proxy, a changing first X-Forwarded-For hop
// got 300 of 300 requests past a 20/s limit.
func TestForgedHopsShareOneBucket(t *testing.T) {
	now := time.Unix(1000, 0)
	s, _, _ := newServer(t, func(o *Options) {
		o.RateLimit, o.RateBurst, o.Now = 20, 20, func() time.Time { return now }
		o.TrustedProxies = prefixes(t, "127.0.0.1/32")
	})
	ok := 0
	for i := range 300 {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, request(t, "127.0.0.1:5000", "X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d, 203.0.113.7", i>>16&255, i>>8&255, i&255)))
		if rec.Code == 200 {
			ok++
		}
	}
	if ok != 20 {
		t.Errorf("%d of 300 requests passed a limit of 20 (burst 20), want 20", ok)
	}
}

// However many distinct clients come, the limiters keep at most
// maxClients buckets.
func TestLimitersAreBounded(t *testing.T) {
	l := newLimiters(1, 1)
	for i := range maxClients + 50000 {
		l.get(fmt.Sprintf("ip:%d", i))
	}
	if n := l.c.Len(); n != maxClients {
		t.Errorf("%d buckets kept, want %d", n, maxClients)
	}
	// The newest clients keep their bucket (and its state).
	lim := l.get("ip:0")
	lim.Allow()
	if l.get("ip:0") != lim {
		t.Error("a recent client's bucket was replaced")
	}
}

// Failed authentications are limited per client address: past the burst,
// the client is answered 429 before its key is checked (even a right one,
// so a guess cannot be told apart), and after a pause it may try again.
// Other clients are not affected.
func TestFailedAuthenticationsAreLimited(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, _, _ := newServer(t, func(o *Options) {
		o.APIKeys, o.AuthFailureRate, o.AuthFailureBurst, o.Now = []string{"right"}, 1, 5, clock
	})
	send := func(peer, key string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, request(t, peer, "X-API-Key", key))
		return rec
	}
	var codes []int
	for i := range 8 {
		codes = append(codes, send("203.0.113.5:1", fmt.Sprintf("guess-%d", i)).Code)
	}
	if fmt.Sprint(codes) != "[401 401 401 401 401 429 429 429]" {
		t.Errorf("guesses: %v", codes)
	}
	if r := send("203.0.113.5:1", "right"); r.Code != 429 || r.Header().Get("Retry-After") == "" {
		t.Errorf("the right key from a throttled address: %d, Retry-After %q", r.Code, r.Header().Get("Retry-After"))
	}
	if r := send("203.0.113.6:1", "right"); r.Code != 200 {
		t.Errorf("another address: %d", r.Code)
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if r := send("203.0.113.5:1", "right"); r.Code != 200 {
		t.Errorf("after a pause, the right key: %d", r.Code)
	}
	// Successes cost nothing: many in a row stay 200.
	for range 20 {
		if r := send("203.0.113.5:1", "right"); r.Code != 200 {
			t.Fatalf("a valid key was limited: %d", r.Code)
		}
	}
}

// With API keys set, /metrics (which names the model, its version and
// run) needs an API key or the scrape-only key, which opens nothing else;
// /ready tells the model only to a request with a key. serve.metrics_auth
// public opens /metrics.
func TestMetricsAndReadyNeedAKey(t *testing.T) {
	s, _, _ := newServer(t, func(o *Options) { o.APIKeys, o.MetricsKeys = []string{"api"}, []string{"scrape"} })
	for _, tc := range []struct {
		method, path, key string
		want              int
	}{
		{"GET", "/metrics", "", 401},
		{"GET", "/metrics", "wrong", 401},
		{"GET", "/metrics", "scrape", 200},
		{"GET", "/metrics", "api", 200},
		{"POST", "/predict", "scrape", 401},
		{"GET", "/model", "scrape", 401},
		{"GET", "/health", "", 200},
		{"GET", "/ready", "", 200},
	} {
		var hdr []string
		if tc.key != "" {
			hdr = []string{"Authorization", "Bearer " + tc.key}
		}
		r := do(s, tc.method, tc.path, js, `{"a": 1, "b": 2, "c": 3}`, hdr...)
		if r.code != tc.want {
			t.Errorf("%s %s with key %q: %d, want %d", tc.method, tc.path, tc.key, r.code, tc.want)
		}
		if tc.path == "/metrics" && r.code == 401 && strings.Contains(r.body, "housectl_serve_model_info") {
			t.Errorf("a 401 leaked the metrics")
		}
	}
	if r := do(s, "GET", "/ready", "", ""); strings.Contains(r.body, `"model"`) || strings.Contains(r.body, `"version"`) {
		t.Errorf("/ready without a key names the model: %s", r.body)
	}
	if r := do(s, "GET", "/ready", "", "", "X-API-Key", "api"); !strings.Contains(r.body, `"model":"m"`) {
		t.Errorf("/ready with a key: %s", r.body)
	}
	pub, _, _ := newServer(t, func(o *Options) { o.APIKeys, o.MetricsPublic = []string{"api"}, true })
	if r := do(pub, "GET", "/metrics", "", ""); r.code != 200 {
		t.Errorf("public /metrics: %d", r.code)
	}
}

// Large bodies share the body budget: while it is taken, another large
// request waits, then gets 503; small ones are not held up.
func TestBodyBudget(t *testing.T) {
	s, _, _ := newServer(t, func(o *Options) {
		o.BodyLimit, o.BodyBudget, o.BodyWait, o.MaxBatchRows = 1<<20, 1<<20, 30*time.Millisecond, 100000
	})
	big := httptest.NewRequestWithContext(t.Context(), "POST", "/predict/batch", strings.NewReader("[]"))
	big.ContentLength = 1 << 20
	release, err := s.budget(big)
	if err != nil {
		t.Fatal(err)
	}
	row := `{"a": 1, "b": 2, "c": 3}`
	body := "[" + strings.TrimSuffix(strings.Repeat(row+",", 4000), ",") + "]"
	if r := do(s, "POST", "/predict/batch", js, body); r.code != 503 || !strings.Contains(r.body, "serve.body_budget") {
		t.Errorf("a large body while the budget is taken: %d %s", r.code, r.body)
	}
	if r := do(s, "POST", "/predict", js, row); r.code != 200 {
		t.Errorf("a small body while the budget is taken: %d", r.code)
	}
	release()
	if r := do(s, "POST", "/predict/batch", js, body); r.code != 200 {
		t.Errorf("a large body after the release: %d %s", r.code, r.body[:min(200, len(r.body))])
	}
}

// With API keys set, exactly the routes the README lists as open answer
// without a key; every other needs one.
func TestOpenRoutesAreTheREADMEs(t *testing.T) {
	s, _, _ := newServer(t, func(o *Options) { o.APIKeys = []string{"k"} })
	open := map[string]bool{"GET /health": true, "GET /ready": true, "GET /ping": true, "GET /version": true, "GET /v2": true,
		"GET /v2/health/live": true, "GET /v2/health/ready": true, "GET /openapi.json": true, "GET /docs": true}
	for _, route := range []string{"POST /predict", "POST /predict/batch", "POST /invocations", "POST /v2/models/m/infer",
		"POST /v2/models/m/versions/1/infer", "POST /feedback", "GET /model", "GET /v2/models/m", "GET /v2/models/m/ready", "GET /metrics",
		"GET /health", "GET /ready", "GET /ping", "GET /version", "GET /v2", "GET /v2/health/live", "GET /v2/health/ready", "GET /openapi.json", "GET /docs"} {
		method, path, _ := strings.Cut(route, " ")
		r := do(s, method, path, js, `{}`)
		if got := r.code != 401; got != open[route] {
			t.Errorf("%s without a key: %d; open in the README: %v", route, r.code, open[route])
		}
	}
}
