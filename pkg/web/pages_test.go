package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/tracking"
)

func testServer(t *testing.T, o Options) (*Server, *httptest.Server) {
	t.Helper()
	store := &tracking.Store{Dir: t.TempDir(), Now: time.Now}
	o.Store, o.Registry = store, registry.Over(store, registry.Options{})
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func do(t *testing.T, method, u string, body string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// With API keys, the API wants a key (MLflow's token as a bearer) and
// the pages send a browser to sign in; a signed-in cookie opens them;
// /health stays open.
func TestAPIKeys(t *testing.T) {
	_, ts := testServer(t, Options{APIKeys: []string{"s3cret"}})
	if st, _, _ := do(t, "GET", ts.URL+"/health", "", nil); st != 200 {
		t.Errorf("/health: %d", st)
	}
	st, body, _ := do(t, "GET", ts.URL+"/api/2.0/mlflow/experiments/get?experiment_id=0", "", nil)
	if st != 401 || !strings.Contains(body, "UNAUTHENTICATED") || !strings.Contains(body, "MLFLOW_TRACKING_TOKEN") {
		t.Errorf("API without a key: %d %s", st, body)
	}
	if st, _, _ := do(t, "GET", ts.URL+"/api/2.0/mlflow/experiments/get?experiment_id=0", "", map[string]string{"Authorization": "Bearer s3cret"}); st != 200 {
		t.Errorf("API with the key: %d", st)
	}
	if st, _, _ := do(t, "GET", ts.URL+"/api/2.0/mlflow/experiments/get?experiment_id=0", "", map[string]string{"Authorization": "Bearer wrong"}); st != 401 {
		t.Errorf("API with a wrong key: %d", st)
	}
	st, _, h := do(t, "GET", ts.URL+"/runs?filter=x", "", nil)
	if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login?next=") {
		t.Fatalf("a page without a key: %d %s", st, h.Get("Location"))
	}
	if st, _, _ := do(t, "POST", ts.URL+"/login", "key=wrong&next=/runs", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); st != 401 {
		t.Errorf("a wrong sign-in: %d", st)
	}
	st, _, h = do(t, "POST", ts.URL+"/login", "key=s3cret&next=//evil.example/", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if st != http.StatusSeeOther || h.Get("Location") != "/runs" {
		t.Fatalf("sign-in: %d, to %q (an off-site next must not be followed)", st, h.Get("Location"))
	}
	cookie := h.Get("Set-Cookie")
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") || strings.Contains(cookie, "s3cret") {
		t.Errorf("cookie %q", cookie)
	}
	if st, _, _ := do(t, "GET", ts.URL+"/runs", "", map[string]string{"Cookie": strings.Split(cookie, ";")[0]}); st != 200 {
		t.Errorf("a page signed in: %d", st)
	}
}

// A promotion needs this server's form token and a confirmation; a
// cross-site post is refused before either; read-only refuses all.
func TestPromotionForms(t *testing.T) {
	s, ts := testServer(t, Options{})
	r, err := s.store.CreateRun("exp", tracking.CreateOptions{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.PutArtifact(r, "model/file.txt", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.store.Finish(r, tracking.StatusFinished, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.reg.RegisterExternal(context.Background(), r, "m", "model", ""); err != nil {
		t.Fatal(err)
	}
	form := func(v url.Values) string { return v.Encode() }
	ct := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	v := url.Values{"version": {"1"}, "alias": {"staging"}, "confirm": {"yes"}}
	if st, body, _ := do(t, "POST", ts.URL+"/models/m/promote", form(v), ct); st != 403 || !strings.Contains(body, "token") {
		t.Errorf("no token: %d %s", st, body)
	}
	cross := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}
	v.Set("csrf", s.csrfToken())
	if st, _, _ := do(t, "POST", ts.URL+"/models/m/promote", form(v), cross); st != 403 {
		t.Errorf("a cross-site post: %d", st)
	}
	st, _, h := do(t, "POST", ts.URL+"/models/m/promote", form(v), ct)
	if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=") {
		t.Fatalf("promote: %d %s", st, h.Get("Location"))
	}
	m, err := s.reg.Get("m")
	if err != nil || m.Aliases["staging"] != 1 {
		t.Fatalf("after the promotion: %+v, %v", m, err)
	}
	// Roll back: the alias had no earlier holder, which the page says.
	rb := url.Values{"alias": {"staging"}, "confirm": {"yes"}, "csrf": {s.csrfToken()}}
	st, _, h = do(t, "POST", ts.URL+"/models/m/rollback", form(rb), ct)
	if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "refused=") {
		t.Errorf("rollback without an earlier holder: %d %s", st, h.Get("Location"))
	}
	if st, body, _ := do(t, "GET", ts.URL+"/models/m/rollback?alias=staging", "", nil); st != 200 || !strings.Contains(body, `name="csrf"`) {
		t.Errorf("the rollback's confirmation: %d", st)
	}
	s.o.ReadOnly = true
	if st, _, _ := do(t, "POST", ts.URL+"/models/m/promote", form(v), ct); st != 403 {
		t.Errorf("read-only: %d", st)
	}
	if st, body, _ := do(t, "POST", ts.URL+"/api/2.0/mlflow/experiments/create", `{"name":"x"}`, map[string]string{"Content-Type": "application/json"}); st != 403 || !strings.Contains(body, "read-only") {
		t.Errorf("read-only API write: %d %s", st, body)
	}
}

// The runs page shows a malformed filter's error at its position, and
// pages 10,000 runs on the server.
func TestRunsPage(t *testing.T) {
	s, ts := testServer(t, Options{})
	for i := range 120 {
		r, err := s.store.CreateRun("exp", tracking.CreateOptions{Name: "r"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.store.Log(r, tracking.Event{Metrics: []tracking.MetricPoint{{Key: "rmse", Value: float64(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Refresh(); err != nil {
		t.Fatal(err)
	}
	st, body, _ := do(t, "GET", ts.URL+"/runs?filter="+url.QueryEscape("metrics.rmse <"), "", nil)
	if st != 200 || !strings.Contains(body, `id="filter-error"`) || !strings.Contains(body, "position 15") {
		t.Errorf("bad filter: %d %s", st, body)
	}
	_, body, _ = do(t, "GET", ts.URL+"/runs?filter="+url.QueryEscape("metrics.rmse >= 100")+"&order="+url.QueryEscape("metrics.rmse DESC"), "", nil)
	if n := strings.Count(body, `name="run"`); n != 20 || !strings.Contains(body, "20 of 120 runs matched") {
		t.Errorf("filtered: %d rows", n)
	}
	_, body, _ = do(t, "GET", ts.URL+"/runs?page=3", "", nil)
	if n := strings.Count(body, `name="run"`); n != 20 || !strings.Contains(body, "page 3 of 3") {
		t.Errorf("page 3: %d rows", n)
	}
}

// logStub is a prediction log with fixed rows, for the monitoring page.
type logStub struct {
	rows   []store.Row
	joined []store.Joined
}

func (l *logStub) Insert(context.Context, []store.Record) error { return nil }
func (l *logStub) Rows(_ context.Context, q store.Query) ([]store.Row, error) {
	return l.rows, nil
}
func (l *logStub) Count(context.Context, store.Query) (int64, error) { return int64(len(l.rows)), nil }
func (l *logStub) AddFeedback(context.Context, []store.Feedback) (store.FeedbackResult, error) {
	return store.FeedbackResult{}, nil
}
func (l *logStub) Joined(context.Context, store.Query) ([]store.Joined, error) { return l.joined, nil }
func (l *logStub) Close() error                                                { return nil }

// With a split and a shadow, the monitoring page has one view per
// version and variant, each with its counts, latencies and live error.
func TestMonitoringViewsPerVariant(t *testing.T) {
	now := time.Now()
	log := &logStub{}
	add := func(version, variant string, shadow bool, n int) {
		for i := range n {
			r := store.Row{Time: now.Add(-time.Duration(i) * time.Minute), RequestID: fmt.Sprintf("%s-%s-%v-%d", version, variant, shadow, i), Model: "m",
				Version: version, Variant: variant, Shadow: shadow, Prediction: 1, Latency: time.Millisecond, Features: map[string]float64{"a": 1}}
			log.rows = append(log.rows, r)
			log.joined = append(log.joined, store.Joined{Row: r, Actual: 1.5})
		}
	}
	add("1", "production", false, 90)
	add("2", "challenger", false, 10)
	add("2", "challenger", true, 90)
	s, ts := testServer(t, Options{Log: log})
	if _, err := s.reg.CreateModel(t.Context(), "m", "", nil); err != nil {
		t.Fatal(err)
	}
	st, body, _ := do(t, "GET", ts.URL+"/monitor?model=m&window=24h", "", nil)
	if st != 200 {
		t.Fatalf("monitor: %d", st)
	}
	for _, want := range []string{"version 2 (@challenger)", "version 2 (@challenger), shadow", "version 1 (@production)", "90 predictions, 90 with feedback", "live RMSE <strong>0.5</strong>", "p99 1 ms"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(body, "<section"); n != 3 {
		t.Errorf("%d views, want 3", n)
	}
}
