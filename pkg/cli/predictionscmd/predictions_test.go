package predictionscmd

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/store/sqlite"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/ui"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// newOptions returns Options over a fresh SQLite log holding n
// predictions of california@1, one a minute up to now, then one of
// california@2. The log's path is returned too.
func newOptions(t *testing.T, n int) (*Options, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "predictions.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	names := store.NewFeatureSet([]string{"MedInc", "HouseAge"})
	var recs []store.Record
	for i := range n {
		recs = append(recs, store.Record{Time: now.Add(-time.Duration(n-i) * time.Minute), RequestID: "r" + string(rune('a'+i)),
			Model: "california", Version: "1", Features: names, Values: []float64{float64(i), 41}, Prediction: float64(i) / 2, Latency: time.Millisecond})
	}
	recs = append(recs, store.Record{Time: now, RequestID: "v2", Model: "california", Version: "2", Features: names, Values: []float64{9, 9}, Prediction: 7, Latency: 2 * time.Millisecond})
	if err := db.Insert(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Predictions.Path = path
	io, _, out, errOut := ui.Test()
	o := &Options{IO: io, Now: func() time.Time { return now }, Context: t.Context(),
		Config: func() (*config.Loaded, error) { return &config.Loaded{Config: cfg}, nil }}
	return o, out, errOut, path
}

func isFlagError(err error) bool {
	var fe *cmdutil.FlagError
	return errors.As(err, &fe)
}

func TestTail(t *testing.T) {
	tests := []struct {
		name      string
		limit     int
		json      bool
		wantLines int
		wantFirst string // substring of the first line
	}{
		{"newest two, oldest first", 2, false, 2, "\tre\tcalifornia@1\t2\t1.000ms\tHouseAge=41 MedInc=4"},
		{"more than there are", 50, false, 6, "\tra\tcalifornia@1\t0\t"},
		{"none", 0, false, 0, ""},
		{"json", 1, true, 1, `"request_id":"v2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, out, _, _ := newOptions(t, 5)
			o.Limit, o.JSON = tt.limit, tt.json
			if err := tailRun(o); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if out.Len() == 0 {
				lines = nil
			}
			if len(lines) != tt.wantLines {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), tt.wantLines, out)
			}
			if tt.wantLines > 0 && !strings.Contains(lines[0], tt.wantFirst) {
				t.Errorf("first line %q, want it to contain %q", lines[0], tt.wantFirst)
			}
			if tt.json {
				var row store.Row
				if err := json.Unmarshal([]byte(lines[0]), &row); err != nil || row.Features["MedInc"] != 9 {
					t.Errorf("JSON line %q: %+v, %v", lines[0], row, err)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer that a command writes from one goroutine
// while the test reads it from another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With -n 0 --follow, tail prints the predictions logged after it
// started, and none of the older ones.
func TestTailFollowPrintsOnlyNewRows(t *testing.T) {
	o, _, _, path := newOptions(t, 3)
	out := &syncBuffer{}
	o.IO.Out = out
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	o.Context, o.Limit, o.Follow = ctx, 0, true
	done := make(chan error, 1)
	go func() { done <- tailRun(o) }()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Rows logged before tail has read where the log ends are old rows
	// to it, so keep logging until one shows.
	deadline := time.After(20 * time.Second)
	for i := 0; !strings.Contains(out.String(), "\tlate-"); i++ {
		rec := store.Record{Time: now.Add(time.Duration(i) * time.Second), RequestID: "late-" + strconv.Itoa(i), Model: "california", Version: "2",
			Features: store.NewFeatureSet([]string{"MedInc", "HouseAge"}), Values: []float64{1, 2}, Prediction: 3}
		if err := db.Insert(t.Context(), []store.Record{rec}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-deadline:
			t.Fatalf("no new row printed; output %q", out)
		case err := <-done:
			t.Fatalf("tail returned %v before printing a new row", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"\tra\t", "\trb\t", "\trc\t", "\tv2\t"} {
		if strings.Contains(out.String(), old) {
			t.Errorf("printed an old row (%q): %q", old, out)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Options)
		run  func(*Options) error
		want string
	}{
		{"negative -n", func(o *Options) { o.Limit = -3 }, tailRun, "-n/--lines must be 0 or more"},
		{"negative --since", func(o *Options) { o.Since = -time.Hour }, statsRun, "--since must be positive"},
		{"--since and --from", func(o *Options) { o.Since, o.From = time.Hour, "2026-11-28T00:00:00Z" }, statsRun, "not both"},
		{"bad --to", func(o *Options) { o.To = "yesterday" }, statsRun, `--to: "yesterday" is not an RFC 3339 time`},
		{"bad --format", func(o *Options) { o.Format = "xml" }, exportRun, `--format must be csv or json, got "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, out, _, _ := newOptions(t, 1)
			o.Format = "csv"
			tt.set(o)
			err := tt.run(o)
			if err == nil || !isFlagError(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a usage error containing %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q on a usage error", out)
			}
		})
	}
}

func TestStats(t *testing.T) {
	o, out, _, _ := newOptions(t, 5)
	o.JSON = true
	o.Since = 3*time.Minute + 30*time.Second // the last three of version 1, and version 2's
	if err := statsRun(o); err != nil {
		t.Fatal(err)
	}
	var got struct {
		All struct {
			Count  int64  `json:"count"`
			Window string `json:"window"`
		} `json:"all"`
		ByVersion []struct {
			Version string `json:"version"`
			Stats   struct {
				Count int64 `json:"count"`
			} `json:"stats"`
		} `json:"by_version"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if got.All.Count != 4 || got.All.Window != "3m30s" {
		t.Errorf("all: %+v, want 4 predictions over 3m30s", got.All)
	}
	if len(got.ByVersion) != 2 || got.ByVersion[0].Version != "california@1" || got.ByVersion[0].Stats.Count != 3 ||
		got.ByVersion[1].Version != "california@2" || got.ByVersion[1].Stats.Count != 1 {
		t.Errorf("by version: %+v", got.ByVersion)
	}

	o, out, errOut, _ := newOptions(t, 2)
	o.Version = "3"
	if err := statsRun(o); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 || !strings.Contains(errOut.String(), "no predictions in that window") {
		t.Errorf("empty window: stdout %q, stderr %q", out, errOut)
	}
}

func TestExport(t *testing.T) {
	t.Run("csv to a file", func(t *testing.T) {
		o, out, errOut, _ := newOptions(t, 2)
		o.Format, o.Output = "csv", filepath.Join(t.TempDir(), "log.csv")
		if err := exportRun(o); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 || !strings.Contains(errOut.String(), "wrote 3 predictions to ") {
			t.Errorf("stdout %q, stderr %q", out, errOut)
		}
		b, err := os.ReadFile(o.Output)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"id", "time", "request_id", "model", "version", "prediction", "latency_ms", "HouseAge", "MedInc"}
		if len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(want, ",") {
			t.Fatalf("csv %q", recs)
		}
		if got := strings.Join(recs[1][2:], ","); got != "ra,california,1,0,1.000,41,0" {
			t.Errorf("first row %q, oldest first", got)
		}
		if recs[3][2] != "v2" || recs[3][4] != "2" {
			t.Errorf("last row %q", recs[3])
		}
	})
	t.Run("json lines, one version", func(t *testing.T) {
		o, out, _, _ := newOptions(t, 2)
		o.Format, o.Version = "json", "1"
		if err := exportRun(o); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines:\n%s", len(lines), out)
		}
		for _, l := range lines {
			var r store.Row
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.Version != "1" {
				t.Errorf("line %q: %+v %v", l, r, err)
			}
		}
	})
	t.Run("no log yet", func(t *testing.T) {
		o, _, _, path := newOptions(t, 1)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		o.Format = "csv"
		err := exportRun(o)
		if !errors.Is(err, store.ErrNoLog) || !strings.Contains(err.Error(), "housectl serve writes it") {
			t.Errorf("err = %v, want ErrNoLog saying who writes the log", err)
		}
	})
}

func TestFeedback(t *testing.T) {
	tests := []struct {
		name, csv string
		wantOut   string // stdout on success
		wantErr   string // else a substring of the error
		wantLog   string // and of stderr
	}{
		{"matched and not", "request_id,actual,row\nra,1.5,0\nnope,2,\n", "stored 2 actual value(s): 1 matched a logged prediction, 1 did not (yet)", "", ""},
		{"spreadsheet byte-order mark", "\xef\xbb\xbfrequest_id,actual\nrb,3\n", "stored 1 actual value(s): 1 matched", "", ""},
		{"bad lines", "request_id,actual,row\n,1,0\nra,NaN,0\nra,1,-1\n", "", "3 bad line(s); nothing was stored", "line 2, column request_id: empty"},
		{"wrong header", "id,value\nra,1\n", "", "the header needs request_id and actual", ""},
		{"no rows", "request_id,actual\n", "", "has no rows", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, out, errOut, _ := newOptions(t, 2)
			path := filepath.Join(t.TempDir(), "actuals.csv")
			if err := os.WriteFile(path, []byte(tt.csv), 0o644); err != nil {
				t.Fatal(err)
			}
			err := feedbackRun(o, path)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, dataset.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want invalid data saying %q", err, tt.wantErr)
				}
				if !strings.Contains(errOut.String(), tt.wantLog) {
					t.Errorf("stderr %q, want %q", errOut, tt.wantLog)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
		})
	}
}
