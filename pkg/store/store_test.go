package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/testenv"
)

// backend opens a store: "sqlite" in a temporary file, "postgres" in a
// fresh database of a real PostgreSQL (internal/testenv). open may be
// called again to reopen the same store.
type backend struct {
	name string
	open func(t *testing.T) (*SQL, error)
}

func backends(t *testing.T) []backend {
	path := filepath.Join(t.TempDir(), "log", "predictions.db")
	var dsn string
	return []backend{
		{"sqlite", func(t *testing.T) (*SQL, error) { return OpenSQLite(t.Context(), path) }},
		{"postgres", func(t *testing.T) (*SQL, error) {
			if dsn == "" {
				dsn = testenv.Postgres(t)
			}
			return OpenPostgres(t.Context(), dsn)
		}},
	}
}

// eachBackend runs f on SQLite and on PostgreSQL.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// openStore opens b's store, closed when the test ends.
func openStore(t *testing.T, b backend) *SQL {
	t.Helper()
	s, err := b.open(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func rec(i int) Record {
	return Record{Time: time.Unix(1764000000, int64(i)*1e6).UTC(), RequestID: fmt.Sprintf("r%d", i), Model: "california", Version: "1",
		Features: map[string]float64{"MedInc": float64(i), "HouseAge": 41}, Prediction: float64(i) / 10, Latency: time.Duration(i) * time.Microsecond}
}

func TestRoundTripAndMigrations(t *testing.T) { eachBackend(t, testRoundTrip) }

func testRoundTrip(t *testing.T, b backend) {
	ctx := t.Context()
	s, err := b.open(t)
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for i := range 10 {
		r := rec(i)
		if i >= 5 {
			r.Version = "2"
		}
		recs = append(recs, r)
	}
	if err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening applies no migration twice.
	s = openStore(t, b)
	rows, err := s.Rows(ctx, Query{Version: "2", Ascending: true})
	if err != nil || len(rows) != 5 || rows[0].RequestID != "r5" || rows[0].Features["MedInc"] != 5 || rows[0].Latency != 5*time.Microsecond {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	if !rows[0].Time.Equal(recs[5].Time) {
		t.Errorf("time %v, want %v", rows[0].Time, recs[5].Time)
	}
	n, err := s.Count(ctx, Query{From: recs[3].Time, To: recs[8].Time})
	if err != nil || n != 5 {
		t.Errorf("count in window %d, %v", n, err)
	}
	last, _ := s.Rows(ctx, Query{Limit: 2})
	if len(last) != 2 || last[0].RequestID != "r9" {
		t.Errorf("newest first: %+v", last)
	}
	tail, _ := s.Rows(ctx, Query{AfterID: last[1].ID, Ascending: true})
	if len(tail) != 1 || tail[0].RequestID != "r9" {
		t.Errorf("after id: %+v", tail)
	}
	st := Summarize(rows, 4)
	if st.Count != 5 || st.ByVersion["california@2"] != 5 || st.Prediction["min"] != 0.5 || st.Latency["max"] != 0.009 || len(st.Histogram) != 4 {
		t.Errorf("stats %+v", st)
	}
}

// Many producers, a small queue, Close: every record is in the database.
func TestWriterLosesNothingOnClose(t *testing.T) { eachBackend(t, testWriterLosesNothing) }

func testWriterLosesNothing(t *testing.T, b backend) {
	ctx := t.Context()
	s := openStore(t, b)
	var written atomic.Int64
	w := NewWriter(s, WriterOptions{QueueSize: 16, BatchSize: 7, FlushInterval: time.Millisecond, OnWritten: func(n int) { written.Add(int64(n)) }})
	var wg sync.WaitGroup
	const producers, each = 8, 250
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if !w.Enqueue(rec(p*each + i)) {
					t.Error("a blocking writer dropped a record")
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := s.Count(ctx, Query{})
	if err != nil || n != producers*each || written.Load() != n {
		t.Fatalf("%d rows (%v), %d reported written, want %d", n, err, written.Load(), producers*each)
	}
	if w.Enqueue(rec(0)) {
		t.Error("a closed writer took a record")
	}
}

type slowStore struct {
	Store
	gate chan struct{}
}

func (s slowStore) Insert(ctx context.Context, recs []Record) error {
	<-s.gate
	return nil
}

// With the drop policy a full queue drops and counts; it never blocks.
func TestWriterDropPolicy(t *testing.T) {
	gate := make(chan struct{})
	var dropped atomic.Int64
	w := NewWriter(slowStore{gate: gate}, WriterOptions{QueueSize: 4, BatchSize: 1, Overflow: OverflowDrop, OnDropped: func(n int) { dropped.Add(int64(n)) }})
	ok := 0
	for i := range 20 {
		if w.Enqueue(rec(i)) {
			ok++
		}
	}
	close(gate)
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ok+int(dropped.Load()) != 20 || dropped.Load() == 0 || ok < 4 {
		t.Errorf("%d queued, %d dropped", ok, dropped.Load())
	}
}

// batchStore records the size of every Insert.
type batchStore struct {
	Store
	mu    sync.Mutex
	sizes []int
	rows  atomic.Int64
}

func (s *batchStore) Insert(ctx context.Context, recs []Record) error {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(recs))
	s.mu.Unlock()
	s.rows.Add(int64(len(recs)))
	return nil
}

func (s *batchStore) batches() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.sizes...)
}

// The writer wakes for a full batch, not for every record, and writes
// transactions of at most BatchSize records.
func TestWriterWritesFullBatches(t *testing.T) {
	s := &batchStore{}
	w := NewWriter(s, WriterOptions{QueueSize: 1000, BatchSize: 100, FlushInterval: time.Hour})
	for i := range 99 {
		w.Enqueue(rec(i))
	}
	time.Sleep(50 * time.Millisecond)
	if b := s.batches(); len(b) != 0 {
		t.Fatalf("99 records of a 100-record batch were written before the flush interval: %v", b)
	}
	if w.Depth() != 99 {
		t.Errorf("depth %d, want 99", w.Depth())
	}
	for i := 99; i < 350; i++ {
		w.Enqueue(rec(i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.rows.Load() < 300 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range s.batches() {
		if n < 1 || n > 100 {
			t.Errorf("a batch of %d records, want 1..100: %v", n, s.batches())
		}
		total += n
	}
	if total != 350 || w.Depth() != 0 {
		t.Errorf("%d records written, depth %d; want 350 and 0", total, w.Depth())
	}
}

// Records being written count against the queue: with the database stuck,
// a blocking writer holds exactly QueueSize records and the producer waits.
func TestWriterQueueBoundIncludesRecordsInFlight(t *testing.T) {
	gate := make(chan struct{})
	w := NewWriter(slowStore{gate: gate}, WriterOptions{QueueSize: 8, BatchSize: 4, FlushInterval: time.Millisecond})
	var accepted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			if w.Enqueue(rec(i)) {
				accepted.Add(1)
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for accepted.Load() < 8 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if a, d := accepted.Load(), w.Depth(); a != 8 || d != 8 {
		t.Fatalf("database stuck: %d records accepted, depth %d; want 8 and 8", a, d)
	}
	close(gate)
	<-done
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if accepted.Load() != 20 || w.Depth() != 0 {
		t.Errorf("%d accepted, depth %d after Close", accepted.Load(), w.Depth())
	}
}

type failStore struct{ Store }

func (failStore) Insert(context.Context, []Record) error { return errors.New("disk full") }

func TestWriterReportsLostBatches(t *testing.T) {
	var lost atomic.Int64
	var msg atomic.Value
	w := NewWriter(failStore{}, WriterOptions{BatchSize: 3, OnDropped: func(n int) { lost.Add(int64(n)) }, OnError: func(err error) { msg.Store(err.Error()) }})
	for i := range 3 {
		w.Enqueue(rec(i))
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if lost.Load() != 3 || msg.Load() == nil {
		t.Errorf("lost %d, error %v", lost.Load(), msg.Load())
	}
}

func TestNamesAndValuesAreStoredAsFeatures(t *testing.T) { eachBackend(t, testNamesAndValues) }

func testNamesAndValues(t *testing.T, b backend) {
	ctx := t.Context()
	s := openStore(t, b)
	r := rec(1)
	r.Features, r.Names, r.Values = nil, []string{"MedInc", "Lat\"itude"}, []float64{8.3252, -1e-7}
	if err := s.Insert(ctx, []Record{r}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Rows(ctx, Query{})
	if err != nil || len(rows) != 1 || rows[0].Features["MedInc"] != 8.3252 || rows[0].Features["Lat\"itude"] != -1e-7 {
		t.Fatalf("%+v %v", rows, err)
	}
	r.Values = []float64{1}
	if err := s.Insert(ctx, []Record{r}); err == nil {
		t.Error("mismatched names and values were stored")
	}
}

// Rows keep their own model and version, their features and their order,
// across full and partial chunks, when every row of a chunk shares one
// version (bound once per statement) and when a version changes inside a
// chunk, as during a hot swap.
func TestInsertChunksKeepEachRowsVersion(t *testing.T) { eachBackend(t, testInsertChunks) }

func testInsertChunks(t *testing.T, b backend) {
	ctx := t.Context()
	s := openStore(t, b)
	names := []string{"MedInc", "HouseAge"}
	var recs []Record
	for i := range 3*insertChunk + 5 {
		r := rec(i)
		r.Features, r.Names, r.Values = nil, names, []float64{float64(i), float64(i % 7)}
		switch {
		case i >= insertChunk+10 && i < 2*insertChunk+3: // a swap inside the second chunk
			r.Version = "2"
		case i >= 2*insertChunk+3:
			r.Model, r.Version = "other", "7"
		}
		recs = append(recs, r)
	}
	if err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Rows(ctx, Query{Ascending: true})
	if err != nil || len(rows) != len(recs) {
		t.Fatalf("%d rows, %v; want %d", len(rows), err, len(recs))
	}
	for i, r := range rows {
		w := recs[i]
		if r.RequestID != w.RequestID || r.Model != w.Model || r.Version != w.Version || r.Prediction != w.Prediction ||
			r.Features["MedInc"] != w.Values[0] || r.Features["HouseAge"] != w.Values[1] || len(r.Features) != 2 {
			t.Fatalf("row %d: %+v, want %+v", i, r, w)
		}
	}
}

// Feedback joins exactly on (request id, row); a later value replaces an
// earlier; unmatched feedback is kept but not joined.
func TestFeedbackJoins(t *testing.T) { eachBackend(t, testFeedbackJoins) }

func testFeedbackJoins(t *testing.T, b backend) {
	ctx := t.Context()
	s := openStore(t, b)
	var recs []Record
	for i := range 3 {
		r := rec(i)
		r.RequestID, r.Row, r.Prediction = "batch", i, float64(10+i)
		recs = append(recs, r)
	}
	single := rec(9)
	recs = append(recs, single)
	if err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1764000100, 0)
	m, err := s.AddFeedback(ctx, []Feedback{
		{RequestID: "batch", Row: 2, Actual: 1, Time: now},
		{RequestID: "batch", Row: 2, Actual: 12.5, Time: now}, // replaces
		{RequestID: "r9", Row: 0, Actual: 0.5, Time: now},
		{RequestID: "batch", Row: 7, Actual: 3, Time: now}, // no such row
	})
	if err != nil || m != 3 {
		t.Fatalf("matched %d, %v", m, err)
	}
	js, err := s.Joined(ctx, Query{})
	if err != nil || len(js) != 2 {
		t.Fatalf("%+v %v", js, err)
	}
	if js[0].RequestID != "batch" || js[0].Row.Row != 2 || js[0].Prediction != 12 || js[0].Actual != 12.5 || js[1].RequestID != "r9" || js[1].Actual != 0.5 {
		t.Errorf("joined %+v", js)
	}
	if js, _ := s.Joined(ctx, Query{Version: "2"}); len(js) != 0 {
		t.Errorf("version filter: %+v", js)
	}
	if _, err := s.AddFeedback(ctx, []Feedback{{RequestID: "x", Actual: math.NaN()}}); err == nil {
		t.Error("NaN feedback accepted")
	}
}

// BenchmarkInsertSQLite measures the prediction log's write cost per row, in
// the serve writer's batches of 512 into a file database.
func BenchmarkInsertSQLite(b *testing.B) {
	s, err := Open(b.Context(), "", filepath.Join(b.TempDir(), "p.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	names := []string{"MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"}
	batch := make([]Record, 512)
	seq := 0
	for b.Loop() {
		for i := range batch {
			seq++
			batch[i] = Record{Time: time.Unix(0, int64(seq)), RequestID: fmt.Sprintf("0a1b2c3d-%x", seq), Model: "california", Version: "1",
				Names: names, Values: []float64{8.3252, 41, 6.98, 1.02, 322, 2.55, 37.88, -122.23}, Prediction: 4.5, Latency: time.Millisecond}
		}
		if err := s.Insert(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/row")
}

// Every SQLite connection checkpoints its WAL every checkpointPages pages.
func TestSQLiteCheckpointInterval(t *testing.T) {
	s, err := Open(t.Context(), "", filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pages int
	if err := s.db.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages != checkpointPages {
		t.Errorf("wal_autocheckpoint = %d, want %d", pages, checkpointPages)
	}
}

// A model's rows over a time window are found through predictions_ts, the
// one index besides the request id's that the log keeps (migration 0003).
func TestWindowedQueriesUseTheTimeIndex(t *testing.T) {
	ctx := t.Context()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'predictions_model_ts'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("predictions_model_ts: %d (%v), want dropped", n, err)
	}
	w, args := where(Query{From: time.Unix(1, 0), To: time.Unix(2, 0), Model: "california", Version: "1"})
	rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT id, prediction FROM predictions`+w, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || !strings.Contains(plan[0], "USING INDEX predictions_ts") {
		t.Errorf("plan %q, want a search of predictions_ts", plan)
	}
}

// Enqueue from many goroutines into a writer whose store discards: the
// cost of logging one prediction on the request path.
func BenchmarkWriterEnqueue(b *testing.B) {
	s := &batchStore{}
	w := NewWriter(s, WriterOptions{})
	r := rec(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Enqueue(r)
		}
	})
	if err := w.Close(b.Context()); err != nil {
		b.Fatal(err)
	}
}

// A log written by an older housectl (schema version 2: the model index,
// features as objects, no feature_names) is upgraded on open; its rows are
// kept and still read, and new rows are written as arrays.
func TestUpgradeFromSchema2(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, []Record{rec(1), rec(2)}); err != nil {
		t.Fatal(err)
	}
	// Back to version 2, as the older binary left it.
	for _, q := range []string{
		`DELETE FROM schema_migrations WHERE version > 2`,
		`CREATE INDEX predictions_model_ts ON predictions (model, version, ts_ns)`,
		`DROP VIEW prediction_features`, `DROP TABLE feature_names`,
		`UPDATE predictions SET features = '{"HouseAge":41,"MedInc":' || id || '}'`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version, indexes int
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'predictions_model_ts'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	n, err := s.Count(ctx, Query{Model: "california"})
	if version != 4 || indexes != 0 || n != 2 || err != nil {
		t.Fatalf("after the upgrade: schema %d, model index present %d, %d rows (%v); want 4, 0, 2", version, indexes, n, err)
	}
	if err := s.Insert(ctx, []Record{rec(3)}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Rows(ctx, Query{})
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		i := float64(r.ID)
		if r.Features["MedInc"] != i || r.Features["HouseAge"] != 41 || len(r.Features) != 2 {
			t.Errorf("row %d: features %v, want MedInc %v and HouseAge 41", r.ID, r.Features, i)
		}
	}
	var forms string
	if err := s.db.QueryRowContext(ctx, `SELECT group_concat(substr(features, 1, 1), '') FROM (SELECT features FROM predictions ORDER BY id)`).Scan(&forms); err != nil || forms != "{{[" {
		t.Errorf("feature forms by row %q (%v), want the old objects and a new array: {{[", forms, err)
	}
}

// Features are written as an array of values in the order feature_names
// registers for the model version (on its first row); a row whose names
// differ keeps an object. Both read back as name: value, and the
// prediction_features view gives one (id, name, value) row per feature.
func TestFeatureForms(t *testing.T) { eachBackend(t, testFeatureForms) }

func testFeatureForms(t *testing.T, b backend) {
	ctx := t.Context()
	s := openStore(t, b)
	names := []string{"MedInc", "HouseAge"}
	a := rec(1)
	a.Features, a.Names, a.Values = nil, names, []float64{8.5, 41}
	c := rec(2) // the same names, from another slice
	c.Features, c.Names, c.Values = nil, []string{"MedInc", "HouseAge"}, []float64{3.25, 12}
	d := rec(3) // other names for the same version
	d.Features, d.Names, d.Values = nil, []string{"Latitude"}, []float64{37.88}
	e := rec(4) // a map with the registered names
	e.Features = map[string]float64{"HouseAge": 7, "MedInc": 1.5}
	f := rec(5) // another version: its own names
	f.Version, f.Features, f.Names, f.Values = "2", nil, []string{"Latitude", "MedInc"}, []float64{-1e-7, 2}
	if err := s.Insert(ctx, []Record{a, c, d}); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, []Record{e, f}); err != nil {
		t.Fatal(err)
	}
	stored := func() []string {
		rs, err := s.db.QueryContext(ctx, `SELECT features FROM predictions ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			var fj string
			if err := rs.Scan(&fj); err != nil {
				t.Fatal(err)
			}
			out = append(out, fj)
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}()
	want := []string{`[8.5,41]`, `[3.25,12]`, `{"Latitude":37.88}`, `{"HouseAge":7,"MedInc":1.5}`, `[-1e-07,2]`}
	if !slices.Equal(stored, want) {
		t.Errorf("stored features\n%q\nwant\n%q", stored, want)
	}
	// A store opened afresh reads the names back from the database.
	s2 := openStore(t, b)
	rows, err := s2.Rows(ctx, Query{})
	if err != nil || len(rows) != 5 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	wantF := []map[string]float64{
		{"MedInc": 8.5, "HouseAge": 41}, {"MedInc": 3.25, "HouseAge": 12}, {"Latitude": 37.88},
		{"HouseAge": 7, "MedInc": 1.5}, {"Latitude": -1e-7, "MedInc": 2},
	}
	for _, r := range rows {
		if !maps.Equal(r.Features, wantF[r.ID-1]) {
			t.Errorf("row %d: %v, want %v", r.ID, r.Features, wantF[r.ID-1])
		}
	}
	vr, err := s2.db.QueryContext(ctx, `SELECT id, name, value FROM prediction_features ORDER BY id, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer vr.Close()
	var got []string
	for vr.Next() {
		var id int64
		var name string
		var v float64
		if err := vr.Scan(&id, &name, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s %g", id, name, v))
	}
	if err := vr.Err(); err != nil {
		t.Fatal(err)
	}
	wantV := []string{"1 HouseAge 41", "1 MedInc 8.5", "2 HouseAge 12", "2 MedInc 3.25", "3 Latitude 37.88",
		"4 HouseAge 7", "4 MedInc 1.5", "5 Latitude -1e-07", "5 MedInc 2"}
	if !slices.Equal(got, wantV) {
		t.Errorf("prediction_features\n%q\nwant\n%q", got, wantV)
	}
}

// A log whose path holds characters that mean something in a SQLite URI
// ('%', '?', '#') opens at that path, not at a decoded or cut one.
func TestSQLitePathIsEscaped(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "100%01 sure?#x")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "p.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	rec := Record{Time: time.Unix(1, 0), RequestID: "r", Model: "m", Version: "1", Names: []string{"a"}, Values: []float64{1}, Prediction: 2}
	if err := s.Insert(t.Context(), []Record{rec}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the log is not at its path: %v", err)
	}
	s, err = OpenExisting(t.Context(), "", path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Rows(t.Context(), Query{})
	if err != nil || len(got) != 1 {
		t.Fatalf("read back %d rows, %v; want 1", len(got), err)
	}
}

// Between statements the writer always lets runnable goroutines run; it
// parks only when nothing else ran, so that the scheduler polls the
// network; and once a park overruns tenfold (an idle poller sleeps in
// whole milliseconds), it stops parking for the rest of the transaction.
func TestYielderParksOnlyWhenNothingElseRan(t *testing.T) {
	var clock time.Time
	var ran, slept time.Duration // what the next Gosched and Sleep take
	var goscheds, sleeps int
	y := newYielder()
	y.now = func() time.Time { return clock }
	y.gosched = func() { goscheds++; clock = clock.Add(ran) }
	y.sleep = func(d time.Duration) { sleeps++; clock = clock.Add(slept) }

	ran, slept = 40*time.Microsecond, yieldPark // requests ran
	y.between()
	if goscheds != 1 || sleeps != 0 {
		t.Fatalf("others ran: %d Gosched, %d sleeps; want 1, 0", goscheds, sleeps)
	}
	ran = 300 * time.Nanosecond // nothing else was runnable
	y.between()
	y.between()
	if goscheds != 3 || sleeps != 2 || !y.park {
		t.Fatalf("nothing ran: %d Gosched, %d sleeps, park %v; want 3, 2, true", goscheds, sleeps, y.park)
	}
	slept = time.Millisecond // the poller slept: nothing is coming
	y.between()
	y.between()
	y.between()
	if goscheds != 6 || sleeps != 3 || y.park {
		t.Errorf("after an overrun: %d Gosched, %d sleeps, park %v; want 6, 3, false", goscheds, sleeps, y.park)
	}
}
