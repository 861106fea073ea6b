package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Open {
		path := filepath.Join(t.TempDir(), "log", "predictions.db")
		return func(t *testing.T) (*store.DB, error) { return Open(t.Context(), path) }
	})
}

// BenchmarkInsertSQLite measures the prediction log's write cost per row, in
// the serve writer's batches of 512 into a file database.
func BenchmarkInsertSQLite(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "p.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	set := store.NewFeatureSet([]string{"MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"})
	batch := make([]store.Record, 512)
	seq := 0
	for b.Loop() {
		for i := range batch {
			seq++
			batch[i] = store.Record{Time: time.Unix(0, int64(seq)), RequestID: fmt.Sprintf("0a1b2c3d-%x", seq), Model: "california", Version: "1",
				Features: set, Values: []float64{8.3252, 41, 6.98, 1.02, 322, 2.55, 37.88, -122.23}, Prediction: 4.5, Latency: time.Millisecond}
		}
		if err := s.Insert(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/row")
}

// Every connection checkpoints its WAL every CheckpointPages pages.
func TestCheckpointInterval(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pages int
	if err := s.Raw().QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages != CheckpointPages {
		t.Errorf("wal_autocheckpoint = %d, want %d", pages, CheckpointPages)
	}
}

// A model's rows over a time window are found through predictions_ts, the
// one index besides the request id's that the log keeps (migration 0003).
func TestWindowedQueriesUseTheTimeIndex(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.Raw().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'predictions_model_ts'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("predictions_model_ts: %d (%v), want dropped", n, err)
	}
	// The WHERE clause DB.Rows builds for a window of one model version.
	rows, err := s.Raw().QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT id, prediction FROM predictions WHERE ts_ns >= ? AND ts_ns < ? AND model = ? AND version = ?`, 1, 2, "california", "1")
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

// A log written by an older housectl (schema version 2: the model index,
// features as objects, no feature_names) is upgraded on open; its rows are
// kept and still read, and new rows are written as arrays.
func TestUpgradeFromSchema2(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, []store.Record{storetest.Rec(1), storetest.Rec(2)}); err != nil {
		t.Fatal(err)
	}
	// Back to version 2, as the older binary left it.
	for _, q := range []string{
		`DELETE FROM schema_migrations WHERE version > 2`,
		`ALTER TABLE predictions DROP COLUMN variant`, `ALTER TABLE predictions DROP COLUMN shadow`,
		`CREATE INDEX predictions_model_ts ON predictions (model, version, ts_ns)`,
		`DROP VIEW prediction_features`, `DROP TABLE feature_names`,
		`UPDATE predictions SET features = '{"HouseAge":41,"MedInc":' || id || '}'`,
	} {
		if _, err := s.Raw().ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version, indexes int
	if err := s.Raw().QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := s.Raw().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'predictions_model_ts'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	n, err := s.Count(ctx, store.Query{Model: "california"})
	if version != 5 || indexes != 0 || n != 2 || err != nil {
		t.Fatalf("after the upgrade: schema %d, model index present %d, %d rows (%v); want 5, 0, 2", version, indexes, n, err)
	}
	if err := s.Insert(ctx, []store.Record{storetest.Rec(3)}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Rows(ctx, store.Query{})
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
	if err := s.Raw().QueryRowContext(ctx, `SELECT group_concat(substr(features, 1, 1), '') FROM (SELECT features FROM predictions ORDER BY id)`).Scan(&forms); err != nil || forms != "{{[" {
		t.Errorf("feature forms by row %q (%v), want the old objects and a new array: {{[", forms, err)
	}
}

// A log whose path holds characters that mean something in a SQLite URI
// ('%', '?', '#') opens at that path, not at a decoded or cut one.
func TestPathIsEscaped(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "100%01 sure?#x")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "p.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(t.Context(), []store.Record{storetest.Rec(1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the log is not at its path: %v", err)
	}
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Rows(t.Context(), store.Query{})
	if err != nil || len(got) != 1 {
		t.Fatalf("read back %d rows, %v; want 1", len(got), err)
	}
}
