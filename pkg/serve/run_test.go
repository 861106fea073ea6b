package serve

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/store/storetest"
)

// running starts s.Run on a loopback listener and returns its URL and a
// stop that cancels it and returns what Run returned.
func running(t *testing.T, s *Server) (string, func() error) {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

// Run owns the whole life of the server: under load, a promotion found
// by the reload timer is swapped in without a failed request, and on
// shutdown every prediction answered is in the log, none more.
func TestRunSwapsUnderLoadAndLosesNoRow(t *testing.T) {
	s, src, lg := newServer(t, func(o *Options) { o.ReloadInterval = 5 * time.Millisecond })
	url, stop := running(t, s)
	var ok, failed atomic.Int64
	var sawV2 atomic.Bool
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				req, _ := http.NewRequestWithContext(context.Background(), "POST", url+"/predict", strings.NewReader(`{"a": 1, "b": 2, "c": 3}`))
				req.Header.Set("Content-Type", js)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				var body struct{ Version string }
				err = json.NewDecoder(resp.Body).Decode(&body)
				_ = resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				if body.Version == "2" {
					sawV2.Store(true)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	src.mu.Lock()
	src.version, src.art = "2", fitModel(t, 100)
	src.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); !sawV2.Load() && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
	}
	time.Sleep(50 * time.Millisecond)
	close(done)
	wg.Wait()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !sawV2.Load() || failed.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d answered, %d failed, version 2 seen: %v", ok.Load(), failed.Load(), sawV2.Load())
	}
	// After Run returned, the log is complete without waiting.
	if n := lg.Len(); int64(n) != ok.Load() {
		t.Errorf("%d predictions answered, %d logged", ok.Load(), n)
	}
}

// The reload hook (SIGHUP, as the command wires it) checks the source at
// once, with no timer.
func TestRunReloadsOnTheSignalHook(t *testing.T) {
	hup := make(chan os.Signal, 1)
	s, src, _ := newServer(t, func(o *Options) { o.Reload = hup })
	url, stop := running(t, s)
	src.mu.Lock()
	src.version, src.art = "2", fitModel(t, 100)
	src.mu.Unlock()
	hup <- syscall.SIGHUP
	for deadline := time.Now().Add(10 * time.Second); s.Current().Version != "2" && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
	}
	if v := s.Current().Version; v != "2" {
		t.Fatalf("after the hook: version %s", v)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"/ready", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(b), `"version":"2"`) {
		t.Errorf("/ready: %s", b)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// A request in flight at shutdown is answered and logged; the drift loop
// runs while serving.
func TestRunDrainsInFlightRequests(t *testing.T) {
	var slow atomic.Bool
	lg := &storetest.Memory{}
	s, _, _ := newServer(t, func(o *Options) {
		o.Log, o.DriftInterval, o.DriftWindow = lg, time.Millisecond, 100
		now := o.Now
		o.Now = func() time.Time {
			if slow.Load() {
				time.Sleep(200 * time.Millisecond) // the request takes a while
			}
			if now != nil {
				return now()
			}
			return time.Now()
		}
	})
	url, stop := running(t, s)
	slow.Store(true)
	got := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", url+"/predict", strings.NewReader(`{"a": 1, "b": 2, "c": 3}`))
		req.Header.Set("Content-Type", js)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- 0
			return
		}
		_ = resp.Body.Close()
		got <- resp.StatusCode
	}()
	time.Sleep(50 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	if code := <-got; code != 200 {
		t.Errorf("the request in flight at shutdown: %d", code)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run: %v", err)
	}
	if lg.Len() != 1 {
		t.Errorf("%d rows logged, want the one answered", lg.Len())
	}
}
