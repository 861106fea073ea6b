// Command mlflowload drives an MLflow tracking server (a real MLflow, or
// housectl ui) with the requests the MLflow Python client sends, and
// times them, so the two can be measured side by side with the same
// stream:
//
//   - log: N runs as the fluent client logs them (runs/create, a log-batch
//     of params, a log-batch of metrics, runs/get, runs/update), from C
//     concurrent clients; prints the requests per second;
//
//   - search: search_runs with a filter and an order over the experiment,
//     as many times as asked; prints the median and the worst latency.
//
//   - page: GET -page (a UI page) as many times; prints the median.
//
//     go run ./scripts/mlflowload -url http://127.0.0.1:5000 -runs 10000 -clients 4 log
//     go run ./scripts/mlflowload -url http://127.0.0.1:5000 -repeat 20 search
//
// startup is apart: it starts -cmd (a server listening on -url) -repeat
// times and times each start to its first 200 on /health.
//
//	go run ./scripts/mlflowload -url http://127.0.0.1:5000 -cmd "housectl ui" -repeat 10 startup
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	base       = flag.String("url", "http://127.0.0.1:5000", "tracking server")
	runs       = flag.Int("runs", 1000, "runs to log")
	params     = flag.Int("params", 10, "params per run")
	metrics    = flag.Int("metrics", 5, "metrics per run")
	clients    = flag.Int("clients", 4, "concurrent clients")
	experiment = flag.String("experiment", "mlflowload", "experiment name")
	repeat     = flag.Int("repeat", 20, "searches to time")
	maxResults = flag.Int("max-results", 1000, "search_runs max_results")
	filter     = flag.String("filter", "metrics.m0 < 0.5 and params.p1 = 'v1'", "search_runs filter")
	orderBy    = flag.String("order-by", "metrics.m1 DESC", "search_runs order_by")
	page       = flag.String("page", "/runs", "the UI page the page step gets")
	command    = flag.String("cmd", "", "startup: the server command, split on spaces")
)

// startup starts the server -repeat times and times each start to its
// first 200 on /health.
func startup() error {
	var times []time.Duration
	args := strings.Fields(*command)
	if len(args) == 0 {
		return fmt.Errorf("startup needs -cmd")
	}
	for range *repeat {
		cmd := exec.CommandContext(context.Background(), args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		t := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		ready := false
		for time.Since(t) < 60*time.Second {
			resp, err := get("/health")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ready = true
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		d := time.Since(t)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if !ready {
			return fmt.Errorf("%s: no 200 on /health in 60 s", *command)
		}
		times = append(times, d)
		time.Sleep(200 * time.Millisecond)
	}
	slices.Sort(times)
	fmt.Printf("start to the first 200 on /health: median %.1f ms, best %.1f ms, worst %.1f ms over %d starts\n",
		ms(times[len(times)/2]), ms(times[0]), ms(times[len(times)-1]), len(times))
	return nil
}

func get(p string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), "GET", *base+p, nil)
	if err != nil {
		return nil, err
	}
	return client.Do(req)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func getPage() error {
	var times []time.Duration
	for range *repeat {
		t := time.Now()
		resp, err := get(*page)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: %d", *page, resp.StatusCode)
		}
		times = append(times, time.Since(t))
	}
	slices.Sort(times)
	fmt.Printf("GET %s: median %.1f ms, worst %.1f ms over %d\n", *page, ms(times[len(times)/2]), ms(times[len(times)-1]), len(times))
	return nil
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func call(method, path string, body any) (map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, *base+"/api/2.0/mlflow/"+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mlflow-python-client/2.17.2")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var out map[string]any
	err = json.Unmarshal(raw, &out)
	return out, err
}

func experimentID() (string, error) {
	out, err := call("GET", "experiments/get-by-name?experiment_name="+*experiment, nil)
	if err == nil {
		return out["experiment"].(map[string]any)["experiment_id"].(string), nil
	}
	out, err = call("POST", "experiments/create", map[string]any{"name": *experiment})
	if err != nil {
		return "", err
	}
	return out["experiment_id"].(string), nil
}

// logRun logs one run as mlflow.start_run(); log_params; log_metrics;
// end_run() does: five requests.
func logRun(exp string, i int) error {
	now := time.Now().UnixMilli()
	out, err := call("POST", "runs/create", map[string]any{"experiment_id": exp, "run_name": "run-" + strconv.Itoa(i), "start_time": now,
		"tags": []map[string]string{{"key": "mlflow.user", "value": "bench"}, {"key": "mlflow.source.name", "value": "mlflowload"}, {"key": "mlflow.source.type", "value": "LOCAL"}}})
	if err != nil {
		return err
	}
	id := out["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	ps := make([]map[string]string, *params)
	for k := range ps {
		ps[k] = map[string]string{"key": "p" + strconv.Itoa(k), "value": "v" + strconv.Itoa((i+k)%3)}
	}
	if _, err := call("POST", "runs/log-batch", map[string]any{"run_id": id, "params": ps}); err != nil {
		return err
	}
	ms := make([]map[string]any, *metrics)
	for k := range ms {
		ms[k] = map[string]any{"key": "m" + strconv.Itoa(k), "value": float64((i*7919+k*104729)%1000) / 1000, "timestamp": now, "step": 0}
	}
	if _, err := call("POST", "runs/log-batch", map[string]any{"run_id": id, "metrics": ms}); err != nil {
		return err
	}
	if _, err := call("GET", "runs/get?run_id="+id+"&run_uuid="+id, nil); err != nil {
		return err
	}
	_, err = call("POST", "runs/update", map[string]any{"run_id": id, "run_uuid": id, "status": "FINISHED", "end_time": time.Now().UnixMilli()})
	return err
}

func logAll(exp string) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	start := time.Now()
	for range *clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= *runs {
					return
				}
				if err := logRun(exp, i); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	d := time.Since(start)
	fmt.Printf("logged %d runs (%d params, %d metrics; 5 requests each) from %d clients in %.2f s: %.0f requests/s, %.0f runs/s\n",
		*runs, *params, *metrics, *clients, d.Seconds(), float64(5**runs)/d.Seconds(), float64(*runs)/d.Seconds())
	return nil
}

func searchAll(exp string) error {
	var times []time.Duration
	var n int
	for range *repeat {
		t := time.Now()
		out, err := call("POST", "runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": *filter,
			"run_view_type": "ACTIVE_ONLY", "max_results": *maxResults, "order_by": []string{*orderBy}})
		if err != nil {
			return err
		}
		times = append(times, time.Since(t))
		rs, _ := out["runs"].([]any)
		n = len(rs)
	}
	slices.Sort(times)
	fmt.Printf("search_runs %q order by %q, max_results %d: %d runs back; median %.1f ms, worst %.1f ms over %d searches\n",
		*filter, *orderBy, *maxResults, n, ms(times[len(times)/2]), ms(times[len(times)-1]), len(times))
	return nil
}

func main() {
	flag.Parse()
	if slices.Equal(flag.Args(), []string{"startup"}) {
		if err := startup(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	exp, err := experimentID()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, what := range flag.Args() {
		switch what {
		case "log":
			err = logAll(exp)
		case "search":
			err = searchAll(exp)
		case "page":
			err = getPage()
		default:
			err = fmt.Errorf("unknown step %q: log or search", what)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
