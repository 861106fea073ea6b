// Package deploy_test checks the deployment files against the real server
// and the real tools: the Grafana dashboard and the alert rules name only
// metrics housectl serve exports; promtool accepts the Prometheus config
// and passes the rule tests; docker-compose accepts the Compose file; the
// Dockerfile and the Kubernetes manifests carry their essentials; and a
// real Prometheus scrapes a real `housectl serve`.
package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/model/linear"
	"github.com/housectl/housectl/pkg/serve"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/store/storetest"
)

// exported returns every series name housectl serve exports (histograms
// with their _bucket, _sum and _count), after one request so that every
// labelled family has a child.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	feats := []string{"a", "b"}
	r := rand.New(rand.NewPCG(1, 2))
	n := 50
	X := model.Matrix{Rows: n, Cols: 2, Data: make([]float64, 2*n)}
	y := make([]float64, n)
	for i := range n {
		X.Data[i], X.Data[n+i] = r.Float64(), r.Float64()
		y[i] = X.Data[i] + 2*X.Data[n+i]
	}
	m, err := linear.Trainer{Params: linear.Defaults()}.Fit(t.Context(), X, y, model.FitOptions{Rand: r})
	if err != nil {
		t.Fatal(err)
	}
	art := &model.Artifact{Header: model.Header{Kind: linear.Kind, Features: feats, Target: "y", Training: model.Summarize(X, y, feats, "y")}, Model: m}
	reg := prometheus.NewRegistry()
	// A split of two variants and a shadow, so that every labelled
	// family has a child; a feedback for the live accuracy gauges.
	lg := &storetest.Memory{}
	s, err := serve.New(serve.Options{Registry: reg, Log: lg, LogOptions: store.WriterOptions{FlushInterval: time.Millisecond},
		Models: []serve.ModelOptions{{
			Variants: []serve.VariantOptions{{Name: "production", Source: fixed{art}, Weight: 1}, {Name: "challenger", Source: fixed{art}, Weight: 1}},
			Shadow:   &serve.VariantOptions{Name: "challenger", Source: fixed{art}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, body string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-ID", "q1")
		s.ServeHTTP(discard{http.Header{}}, req)
	}
	for _, body := range []string{`{"a": 0.5, "b": 0.5}`, `{"a": "x"}`} {
		post("/predict", body)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if n, _ := lg.Count(t.Context(), store.Query{}); n > 0 {
			break
		}
	}
	post("/feedback", `{"request_id": "q1", "actual": 1}`)
	if _, err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range fams {
		out[f.GetName()] = true
		switch f.GetType().String() {
		case "HISTOGRAM":
			out[f.GetName()+"_bucket"], out[f.GetName()+"_sum"], out[f.GetName()+"_count"] = true, true, true
		case "SUMMARY":
			out[f.GetName()+"_sum"], out[f.GetName()+"_count"] = true, true
		}
	}
	out["up"] = true // Prometheus's own
	return out
}

type fixed struct{ art *model.Artifact }

func (f fixed) Resolve() (serve.Ident, error) { return serve.Ident{Name: "m", Version: "1"}, nil }
func (f fixed) Load(serve.Ident) (*serve.Model, error) {
	return &serve.Model{Name: "m", Version: "1", Artifact: f.art, TestRMSE: 0.5}, nil
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (discard) Write(b []byte) (int, error)   { return len(b), nil }
func (discard) WriteHeader(int)               {}
func (d discard) Unwrap() http.ResponseWriter { return nil }

// metricNames are the identifiers in a PromQL expression that look like
// metric names (functions, keywords, label names and strings excluded).
func metricNames(expr string) []string {
	expr = regexp.MustCompile(`"[^"]*"|'[^']*'`).ReplaceAllString(expr, `""`)
	expr = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(expr, "{}")
	expr = regexp.MustCompile(`\[[^\]]*\]`).ReplaceAllString(expr, "[]")
	expr = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`).ReplaceAllString(expr, "")
	var out []string
	for _, m := range regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`).FindAllStringIndex(expr, -1) {
		id := expr[m[0]:m[1]]
		rest := strings.TrimLeft(expr[m[1]:], " ")
		if strings.HasPrefix(rest, "(") || slices.Contains([]string{"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "le", "inf", "Inf", "NaN"}, id) {
			continue // a function call or keyword
		}
		out = append(out, id)
	}
	return out
}

func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	have := exported(t)
	for _, want := range []string{"housectl_serve_requests_total", "housectl_serve_request_duration_seconds_bucket", "housectl_serve_predictions_total",
		"housectl_serve_prediction_value_bucket", "housectl_serve_model_info", "housectl_serve_validation_failures_total",
		"housectl_serve_prediction_log_queue_depth", "housectl_serve_prediction_log_written_total", "housectl_serve_prediction_log_dropped_total",
		"housectl_serve_model_reloads_total", "process_resident_memory_bytes", "go_goroutines"} {
		if !have[want] {
			t.Errorf("the server does not export %s", want)
		}
	}
	check := func(where, expr string) {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			if !have[n] {
				t.Errorf("%s: %q uses %s, which housectl serve does not export", where, expr, n)
			}
		}
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile("grafana/dashboards/housectl.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	titles := map[string]bool{}
	for _, p := range dash.Panels {
		titles[p.Title] = true
		for _, tg := range p.Targets {
			check("panel "+p.Title, tg.Expr)
		}
	}
	for _, want := range []string{"Requests per second by route", "Error rate (5xx / all)", "Latency p50 / p95 / p99 (predict routes)",
		"Predictions per second by model version", "Prediction value distribution", "Prediction log: queue depth, written, dropped",
		"Process memory (RSS) and goroutines"} {
		if !titles[want] {
			t.Errorf("the dashboard lacks the panel %q", want)
		}
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	b, err = os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			check("alert "+r.Alert, r.Expr)
		}
	}
	for _, want := range []string{"HousectlHighErrorRate", "HousectlHighLatencyP99", "HousectlNoPredictions", "HousectlModelLoadFailure", "HousectlPredictionLogDrops", "HousectlFeatureDrift"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
	// The check itself must catch a wrong name.
	if n := metricNames(`sum by (route) (rate(housectl_serve_requests_totl{code=~"5.."}[5m])) / on() up`); !slices.Contains(n, "housectl_serve_requests_totl") || slices.Contains(n, "route") || slices.Contains(n, "code") {
		t.Errorf("metricNames: %v", n)
	}
}

// tool returns the path of a command the deployment tests need; .ci/run
// and make test install them (scripts/deps-debian.sh).
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run scripts/deps-debian.sh %s (make test does)", name, pkg)
	}
	return p
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtool(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	// --syntax-only: the scrape key's file is a path in Prometheus's
	// container (TestPrometheusScrapesServe checks a real one).
	run(t, "prometheus", promtool, "check", "config", "--syntax-only", "prometheus.yml")
	if out := run(t, "prometheus", promtool, "check", "rules", "alerts.yml"); !strings.Contains(out, "SUCCESS: 8 rules found") {
		t.Errorf("promtool check rules: %s", out)
	}
	if out := run(t, "prometheus", promtool, "test", "rules", "alerts_test.yml"); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules: %s", out)
	}
}

func TestComposeFile(t *testing.T) {
	compose := tool(t, "docker-compose", "docker-compose")
	run(t, "..", compose, "config", "--quiet")
	services := strings.Fields(run(t, "..", compose, "--profile", "monitoring", "config", "--services"))
	slices.Sort(services)
	if !slices.Contains(services, "grafana") || !slices.Contains(services, "prometheus") || !slices.Contains(services, "housectl") {
		t.Errorf("services with the monitoring profile: %v", services)
	}
	services = strings.Fields(run(t, "..", compose, "--profile", "s3", "config", "--services"))
	if !slices.Contains(services, "seaweedfs") || !slices.Contains(services, "housectl-s3") {
		t.Errorf("services with the s3 profile: %v", services)
	}
	var c struct {
		Services map[string]struct {
			Profiles    []string          `yaml:"profiles"`
			Volumes     []string          `yaml:"volumes"`
			Environment map[string]string `yaml:"environment"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	h := c.Services["housectl"]
	if !slices.Contains(h.Healthcheck.Test, "health") || !slices.Contains(h.Volumes, "./experiments:/data/experiments:ro") || !slices.Contains(h.Volumes, "prediction-log:/data/log") {
		t.Errorf("housectl service: %+v", h)
	}
	if len(h.Profiles) != 0 || !slices.Contains(c.Services["prometheus"].Profiles, "monitoring") {
		t.Errorf("housectl must run without a profile, Prometheus and Grafana only with monitoring")
	}
	// The s3 profile's server follows the bucket of its S3 server, with
	// no volume for the registry.
	h3 := c.Services["housectl-s3"]
	if !slices.Contains(h3.Profiles, "s3") || !slices.Contains(c.Services["seaweedfs"].Profiles, "s3") ||
		!strings.HasPrefix(h3.Environment["HOUSECTL_TRACKING_URI"], "${HOUSECTL_TRACKING_URI:-s3://") ||
		h3.Environment["HOUSECTL_TRACKING_S3_ENDPOINT_URL"] != "http://seaweedfs:8333" ||
		slices.ContainsFunc(h3.Volumes, func(v string) bool { return strings.Contains(v, "experiments") }) {
		t.Errorf("housectl-s3 service: %+v", h3)
	}
	g := c.Services["grafana"]
	if !slices.Contains(g.Volumes, "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro") || !slices.Contains(g.Profiles, "monitoring") {
		t.Errorf("grafana service: %+v", g)
	}
	for _, f := range []string{"grafana/provisioning/datasources/prometheus.yml", "grafana/provisioning/dashboards/housectl.yml"} {
		var v map[string]any
		b, err := os.ReadFile(f)
		if err != nil || yaml.Unmarshal(b, &v) != nil || v["apiVersion"] != 1 {
			t.Errorf("%s: %v %v", f, err, v)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^FROM golang:\S+ AS build$`),
		regexp.MustCompile(`CGO_ENABLED=1 go build -trimpath`),
		regexp.MustCompile(`(?m)^FROM debian:\S+-slim$`),
		regexp.MustCompile(`(?m)^USER 10001:10001$`),
		regexp.MustCompile(`(?m)^HEALTHCHECK .*\n\s+CMD \["housectl", "health"`),
		regexp.MustCompile(`org\.opencontainers\.image\.version="\$\{VERSION\}"`),
		regexp.MustCompile(`org\.opencontainers\.image\.revision="\$\{COMMIT\}"`),
	} {
		if !want.MatchString(d) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	ign, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "data/", "experiments/", "bin/"} {
		if !slices.Contains(strings.Fields(string(ign)), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	docs := map[string]map[string]any{} // by kind, and by kind/name
	files, _ := filepath.Glob("k8s/*.yaml")
	var listed []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var v map[string]any
			if err := dec.Decode(&v); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kind := fmt.Sprint(v["kind"])
			meta, _ := v["metadata"].(map[string]any)
			if docs[kind] == nil || kind == "Service" && meta["name"] == "housectl" || kind == "Deployment" {
				docs[kind] = v
			}
			docs[kind+"/"+fmt.Sprint(meta["name"])] = v
		}
		if filepath.Base(f) != "kustomization.yaml" {
			listed = append(listed, filepath.Base(f))
		}
	}
	for _, k := range []string{"Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap", "Kustomization",
		"Secret/housectl-s3", "Secret/housectl-postgres", "StatefulSet/housectl-postgres", "Service/housectl-postgres"} {
		if docs[k] == nil {
			t.Errorf("no %s manifest", k)
		}
	}
	// kustomize applies every manifest of the directory.
	res, _ := docs["Kustomization"]["resources"].([]any)
	var applied []string
	for _, r := range res {
		applied = append(applied, fmt.Sprint(r))
	}
	slices.Sort(applied)
	if !slices.Equal(applied, listed) {
		t.Errorf("kustomization.yaml applies %v, the directory has %v", applied, listed)
	}
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				l, _ := v.([]any)
				if k >= len(l) {
					return nil
				}
				v = l[k]
			}
		}
		return v
	}
	dep := docs["Deployment"]
	c := get(dep, "spec", "template", "spec", "containers", 0)
	for _, tc := range []struct {
		path []any
		want any
	}{
		{[]any{"livenessProbe", "httpGet", "path"}, "/health"},
		{[]any{"readinessProbe", "httpGet", "path"}, "/ready"},
		{[]any{"securityContext", "allowPrivilegeEscalation"}, false},
		{[]any{"securityContext", "readOnlyRootFilesystem"}, true},
		{[]any{"args", 0}, "serve"},
	} {
		if got := get(c, tc.path...); got != tc.want {
			t.Errorf("container %v = %v, want %v", tc.path, got, tc.want)
		}
	}
	if get(c, "resources", "requests", "cpu") == nil || get(c, "resources", "limits", "memory") == nil {
		t.Error("the container has no resource requests and limits")
	}
	if get(dep, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("the pod may run as root")
	}
	if get(docs["HorizontalPodAutoscaler"], "spec", "scaleTargetRef", "name") != "housectl" || get(docs["Service"], "spec", "ports", 0, "targetPort") != "http" {
		t.Error("the HPA or the Service does not point at the Deployment")
	}
	cfg, _ := get(docs["ConfigMap"], "data", "housectl.yaml").(string)
	l, err := config.LoadReader(strings.NewReader(cfg), "ConfigMap housectl-config", config.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("housectl refuses the ConfigMap's housectl.yaml: %v", err)
	}
	if l.Config.Serve.Addr != "0.0.0.0:8080" || !strings.HasPrefix(l.Config.Store(), "s3://") || l.Config.Tracking.CacheDir == "" {
		t.Errorf("the ConfigMap's housectl.yaml: serve.addr %q, store %q, cache %q", l.Config.Serve.Addr, l.Config.Store(), l.Config.Tracking.CacheDir)
	}
	// The registry comes from the bucket, not a volume claim; the cache is
	// the pod's own, and the prediction log is PostgreSQL's.
	spec := get(dep, "spec", "template", "spec")
	vols, _ := get(spec, "volumes").([]any)
	mounts := map[string]string{}
	for _, m := range get(c, "volumeMounts").([]any) {
		mounts[fmt.Sprint(get(m, "name"))] = fmt.Sprint(get(m, "mountPath"))
	}
	for _, v := range vols {
		if get(v, "persistentVolumeClaim") != nil {
			t.Errorf("the Deployment mounts a volume claim: %v", v)
		}
		if get(v, "name") == "cache" && (get(v, "emptyDir") == nil || mounts["cache"] != l.Config.Tracking.CacheDir) {
			t.Errorf("the cache volume %v is not an emptyDir at tracking.cache_dir %s", v, l.Config.Tracking.CacheDir)
		}
	}
	if get(c, "envFrom", 0, "secretRef", "name") != "housectl-s3" {
		t.Error("the container does not take the bucket's credentials from the Secret housectl-s3")
	}
	dsn := false
	for _, e := range get(c, "env").([]any) {
		if get(e, "name") == "HOUSECTL_PREDICTIONS_DSN" && get(e, "valueFrom", "secretKeyRef", "name") == "housectl-postgres" {
			dsn = true
		}
	}
	if !dsn || get(docs["Secret/housectl-postgres"], "stringData", "dsn") == nil {
		t.Error("the prediction log's DSN does not come from the Secret housectl-postgres")
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if get(docs["Secret/housectl-s3"], "stringData", k) == nil {
			t.Errorf("the Secret housectl-s3 has no %s", k)
		}
	}
	readme, err := os.ReadFile("k8s/README.md")
	if err != nil || !strings.Contains(string(readme), "PostgreSQL") {
		t.Error("k8s/README.md should say how replicas share the prediction log")
	}
}

func freePort(t *testing.T) int {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A real Prometheus scrapes a real housectl serve, loads the alert rules,
// and answers a query for the predictions the test made.
func TestPrometheusScrapesServe(t *testing.T) {
	prom := tool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	bin := filepath.Join(dir, "housectl")
	run(t, "..", "go", "build", "-o", bin, "./cmd/housectl")
	proj := filepath.Join(dir, "proj")
	run(t, dir, bin, "init", "proj")
	run(t, proj, bin, "data", "fetch", "--url", "file://"+testenv.CalHousingArchive(t))
	run(t, proj, bin, "train", "--model", "gradient_boosting", "--cv-folds", "0", "--set", "gradient_boosting.max_iter=10",
		"--register", "california", "--promote", "production")

	port := freePort(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	srv.Dir = proj
	// API keys on: Prometheus scrapes with the scrape-only key, as
	// deploy/prometheus/prometheus.yml does.
	srv.Env = append(os.Environ(), "HOUSECTL_API_KEYS=api-key", "HOUSECTL_METRICS_KEY=scrape-key")
	srv.Stderr = io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitOK(t, base+"/ready")
	const n = 25
	body := `{"MedInc": 8.3252, "HouseAge": 41, "AveRooms": 6.98, "AveBedrms": 1.02, "Population": 322, "AveOccup": 2.55, "Latitude": 37.88, "Longitude": -122.23}`
	for range n {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/predict", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer api-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("predict: %v %v", resp, err)
		}
		_ = resp.Body.Close()
	}

	rules, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "housectl-metrics-key"), []byte("scrape-key"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [alerts.yml]
scrape_configs:
  - job_name: housectl
    authorization: {type: Bearer, credentials_file: housectl-metrics-key}
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, port)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	pport := freePort(t)
	p := exec.CommandContext(ctx, prom, "--config.file=prometheus.yml", "--storage.tsdb.path=data",
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", pport))
	p.Dir = dir
	var plog strings.Builder
	p.Stdout, p.Stderr = &plog, &plog
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Process.Kill(); _ = p.Wait() }()
	papi := fmt.Sprintf("http://127.0.0.1:%d", pport)
	query := func(q string) (string, bool) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", papi+"/api/v1/query?query="+url.QueryEscape(q), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", false
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) == 0 || len(r.Data.Result[0].Value) != 2 {
			return "", false
		}
		return fmt.Sprint(r.Data.Result[0].Value[1]), true
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if v, ok := query(`sum(housectl_serve_predictions_total{model="california",version="1"})`); ok && v == fmt.Sprint(n) {
			break
		}
		if time.Now().After(deadline) {
			v, _ := query(`sum(housectl_serve_predictions_total)`)
			t.Fatalf("Prometheus never saw %d predictions (last %q); its log:\n%s", n, v, plog.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	if v, ok := query(`housectl_serve_model_info{name="california"}`); !ok || v != "1" {
		t.Errorf("model info through Prometheus: %q", v)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", papi+"/api/v1/rules", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "HousectlModelLoadFailure") || !strings.Contains(string(b), `"health":"ok"`) {
		t.Errorf("rules not loaded or unhealthy: %.500s", b)
	}
}

func waitOK(t *testing.T, u string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", u, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s never answered 200", u)
}
