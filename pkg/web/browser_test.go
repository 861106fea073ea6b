package web_test

// The UI in a real browser: Debian's headless Chromium, driven over the
// DevTools protocol (chromedp), against a real project made in the test by
// the real binary (data fetched from the shared archive, models trained,
// registered and promoted, predictions served and logged, an external run
// logged through the MLflow API). Every page is loaded; the filter, the
// comparison and a promotion are used as a user would; any console error
// or failed request fails the test. Screenshots of each page are kept in
// bin/screenshots.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/housectl/housectl/internal/testenv"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// housectl returns the binary under test: $HOUSECTL_TEST_BIN (make test
// sets it), else one built once for this test binary.
func housectl(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("HOUSECTL_TEST_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "housectl-web-test")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "housectl")
		out, err := exec.CommandContext(context.Background(), "go", "build", "-o", builtBin, "../../cmd/housectl").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: make test installs Debian's chromium (scripts/deps-debian.sh chromium)")
	return ""
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type project struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

func (p *project) run(args ...string) string {
	p.t.Helper()
	cmd := exec.CommandContext(p.t.Context(), p.bin, args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("housectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start runs a long-lived housectl command until the test ends, and waits
// for addr's /health.
func (p *project) start(addr string, args ...string) *exec.Cmd {
	p.t.Helper()
	cmd := exec.CommandContext(context.Background(), p.bin, args...) // stopped by the cleanup
	cmd.Dir, cmd.Env = p.dir, p.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	for i := 0; ; i++ {
		req, _ := http.NewRequestWithContext(p.t.Context(), "GET", "http://"+addr+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		if i > 300 {
			p.t.Fatalf("housectl %s did not come up: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func post(t *testing.T, url string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// makeProject builds a project with runs of every kind, a registered
// model with an alias, a prediction log with feedback, and an external
// run logged through the MLflow API of the ui at uiAddr.
func makeProject(t *testing.T) (*project, string) {
	p := &project{t: t, bin: housectl(t), dir: t.TempDir()}
	p.env = append(os.Environ(), "HOUSECTL_DATA_URL=file://"+testenv.CalHousingArchive(t), "NO_COLOR=1")
	p.run("init")
	p.run("data", "fetch")
	p.run("train", "--cv-folds", "2", "--register", "california", "--promote", "production")
	p.run("train", "--model", "gradient_boosting", "--set", "gradient_boosting.learning_rate=0.1", "--cv-folds", "0", "--register", "california")
	// Predictions and feedback in the log.
	serveAddr := freePort(t)
	srv := p.start(serveAddr, "serve", "--addr", serveAddr)
	for i := range 40 {
		row := map[string]any{"MedInc": 2 + float64(i)/10, "HouseAge": 30, "AveRooms": 5, "AveBedrms": 1, "Population": 900, "AveOccup": 3, "Latitude": 34.1, "Longitude": -118.3}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", "http://"+serveAddr+"/predict", bytes.NewReader(mustJSON(row)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-ID", fmt.Sprintf("req-%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post(t, "http://"+serveAddr+"/feedback", map[string]any{"feedback": []map[string]any{{"request_id": "req-1", "actual": 1.5}, {"request_id": "req-2", "actual": 2.5}, {"request_id": "req-3", "actual": 1.9}}})
	_ = srv.Process.Signal(syscall.SIGTERM)
	_ = srv.Wait()
	uiAddr := freePort(t)
	p.start(uiAddr, "ui", "--addr", uiAddr)
	// An external run, as mlflow.start_run() and log_metric would make.
	api := "http://" + uiAddr + "/api/2.0/mlflow/"
	exp := post(t, api+"experiments/create", map[string]any{"name": "notebook experiments"})["experiment_id"]
	run := post(t, api+"runs/create", map[string]any{"experiment_id": exp, "run_name": "my-sklearn", "start_time": time.Now().UnixMilli()})["run"].(map[string]any)["info"].(map[string]any)["run_id"]
	var metrics []map[string]any
	for step := range 20 {
		metrics = append(metrics, map[string]any{"key": "rmse", "value": 0.9 - float64(step)/50, "timestamp": time.Now().UnixMilli(), "step": step})
	}
	post(t, api+"runs/log-batch", map[string]any{"run_id": run, "params": []map[string]any{{"key": "alpha", "value": "0.5"}}, "metrics": metrics})
	post(t, api+"runs/update", map[string]any{"run_id": run, "status": "FINISHED", "end_time": time.Now().UnixMilli()})
	// The CLI sees it like its own runs: listed, filtered, gated.
	if out := p.run("runs", "list", "--filter", "params.model = 'external' and metrics.rmse < 0.6"); !strings.Contains(out, "my-sklearn") {
		t.Fatalf("runs list does not show the external run:\n%s", out)
	}
	cmd := exec.CommandContext(t.Context(), p.bin, "runs", "compare", "my-sklearn", "--fail-if", "metrics.rmse > 0.5")
	cmd.Dir, cmd.Env = p.dir, p.env
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "rmse") {
		t.Fatalf("the gate let an external run with rmse 0.52 through: %v\n%s", err, out)
	}
	return p, uiAddr
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestBrowser(t *testing.T) {
	chrome := chromium(t)
	_, addr := makeProject(t)
	base := "http://" + addr
	shots := filepath.Join("..", "..", "bin", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true))
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	// Every console error, uncaught exception, failed load or error
	// status fails the test.
	var mu sync.Mutex
	var problems []string
	report := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	console := chromedp.Console(ctx)
	failed := chromedp.Events(ctx, network.LoadingFailed)
	responses := chromedp.Events(ctx, network.ResponseReceived)
	var watchers sync.WaitGroup
	watchers.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				report("console %s (%s:%d)", m, m.URL, m.Line+1)
			}
		}
	})
	watchers.Go(func() {
		for ev, err := range failed {
			if err != nil {
				return
			}
			if !ev.Canceled {
				report("request failed: %s (%s)", ev.ErrorText, ev.Type)
			}
		}
	})
	watchers.Go(func() {
		for ev, err := range responses {
			if err != nil {
				return
			}
			if ev.Response.Status >= 400 {
				report("status %d for %s", ev.Response.Status, ev.Response.URL)
			}
		}
	})
	defer watchers.Wait()
	defer cancel()
	check := func(step string) {
		t.Helper()
		time.Sleep(50 * time.Millisecond) // the step's last events
		mu.Lock()
		defer mu.Unlock()
		if len(problems) > 0 {
			t.Fatalf("%s: %s", step, strings.Join(problems, "; "))
		}
	}
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		check(step)
	}
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	eval := func(expr string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return n
	}
	const rowsJS = `document.querySelectorAll("#runs tbody input[name=run]").length`

	do("runs page", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.ID("runs")))
	shot("runs")
	if n := eval(rowsJS); n != 5 {
		t.Fatalf("the runs page lists %d runs, want 5 (4 trained, 1 external)", n)
	}

	// The keyboard: "/" focuses the filter box; Tab goes on to the
	// order box, then the view, the Apply button and the column chooser.
	focused := func() string {
		t.Helper()
		f, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.tagName`))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	var path []string
	do("keyboard", chromedp.KeyEvent("/"))
	path = append(path, focused())
	for range 4 {
		do("tab", chromedp.KeyEvent("\t"))
		path = append(path, focused())
	}
	if got := strings.Join(path, " "); got != "filter order view BUTTON SUMMARY" {
		t.Errorf(`"/" then Tab visit %q, want "filter order view BUTTON SUMMARY"`, got)
	}

	// A filter in MLflow's grammar changes the rows.
	do("filter", chromedp.SetValue(chromedp.ID("filter"), "params.model = 'gradient_boosting'"),
		chromedp.Submit(chromedp.ID("filter")), chromedp.Sleep(300*time.Millisecond), chromedp.WaitVisible(chromedp.ID("runs")))
	if n := eval(rowsJS); n != 2 {
		t.Errorf("the filter left %d rows, want the 2 gradient boosting runs", n)
	}

	// A malformed filter shows its error under the box, at its position.
	do("bad filter", chromedp.SetValue(chromedp.ID("filter"), "metrics.rmse <"), chromedp.Submit(chromedp.ID("filter")),
		chromedp.WaitVisible(chromedp.ID("filter-error")))
	shot("runs-filter-error")
	if e := text("#filter-error"); !strings.Contains(e, "position") || !strings.Contains(e, "^") {
		t.Errorf("the filter error reads %q", e)
	}

	// Tick two runs and open the comparison: the URL holds them.
	do("compare", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.ID("runs")),
		chromedp.Click(chromedp.CSS(`#runs tbody tr:nth-child(2) input[name=run]`)), chromedp.Click(chromedp.CSS(`#runs tbody tr:nth-child(3) input[name=run]`)),
		chromedp.Click(chromedp.ID("compare")), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)))
	shot("compare")
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || strings.Count(loc, "run=") != 2 {
		t.Errorf("the comparison's URL %s does not hold the two runs (%v)", loc, err)
	}

	// A run's page, and the external run's with its metric's history.
	do("run page", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.ID("runs")),
		chromedp.Click(chromedp.CSS(`#runs tbody tr:nth-child(2) td:nth-child(2) a`)), chromedp.WaitVisible(chromedp.ID("h-lineage")))
	shot("run")
	do("run with folds", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.ID("runs")),
		chromedp.Click(chromedp.CSS(`#runs tbody tr:nth-child(3) td:nth-child(2) a`)), chromedp.WaitVisible(chromedp.ID("h-metrics")))
	if m := text("section table"); !strings.Contains(m, "fold 2") || !strings.Contains(m, "cv_rmse") {
		t.Errorf("the metrics of a cross-validated run lack its folds: %q", m)
	}
	do("external run", chromedp.Navigate(base+"/runs?filter="+urlq("params.model = 'external'")), chromedp.WaitVisible(chromedp.ID("runs")),
		chromedp.Click(chromedp.CSS(`#runs tbody tr:nth-child(1) td:nth-child(2) a`)), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)))
	shot("run-external")

	// Promote through the form: a confirmation, then the move in the
	// history.
	do("registry", chromedp.Navigate(base+"/models"), chromedp.WaitVisible(chromedp.CSS(`main h2`)))
	shot("models")
	do("promote", chromedp.Navigate(base+"/models/california"), chromedp.WaitVisible(chromedp.CSS(`main`)),
		chromedp.Click(chromedp.CSS(`a[href="/models/california/promote?version=2"]`)), chromedp.WaitVisible(chromedp.ID("alias")))
	shot("promote-confirm")
	do("confirm", chromedp.SetValue(chromedp.ID("alias"), "staging"), chromedp.SetValue(chromedp.ID("reason"), "browser test"),
		chromedp.Click(chromedp.CSS(`button[name=confirm]`)), chromedp.WaitVisible(chromedp.CSS(`.note.ok`)))
	shot("model")
	if flash, aliases := text(".note.ok"), text("main table"); !strings.Contains(flash, "@staging → version 2") || !strings.Contains(aliases, "@staging") {
		t.Errorf("after the promotion: flash %q, aliases %q", flash, aliases)
	}

	// Monitoring: the served version's view with its charts and drift.
	do("monitor", chromedp.Navigate(base+"/monitor?model=california&window=24h"), chromedp.WaitVisible(chromedp.CSS(`section svg.chart`)))
	shot("monitor")
	if n := eval(`document.querySelectorAll("section table tbody tr").length`); n < 9 {
		t.Errorf("the monitoring page shows %d drift rows, want the 8 features and the prediction", n)
	}
}

func urlq(s string) string {
	r := strings.NewReplacer(" ", "+", "'", "%27", "=", "%3D")
	return r.Replace(s)
}
