// Package storetest is the conformance suite of the prediction log: every
// driver (store/sqlite, store/postgres) runs it against a real database.
package storetest

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/store"
)

// Open opens the driver's store; called again, it reopens the same one.
type Open func(t *testing.T) (*store.DB, error)

// Set is the feature set of Rec.
var Set = store.NewFeatureSet([]string{"MedInc", "HouseAge"})

// Rec is the i-th test record.
func Rec(i int) store.Record {
	return store.Record{Time: time.Unix(1764000000, int64(i)*1e6).UTC(), RequestID: fmt.Sprintf("r%d", i), Model: "california", Version: "1",
		Features: Set, Values: []float64{float64(i), 41}, Prediction: float64(i) / 10, Latency: time.Duration(i) * time.Microsecond}
}

// Run runs the suite; each test opens the store afresh.
func Run(t *testing.T, open func(t *testing.T) Open) {
	for name, f := range map[string]func(*testing.T, Open){
		"RoundTripAndMigrations":  roundTrip,
		"WriterLosesNothing":      writerLosesNothing,
		"ValuesNeedTheirNames":    valuesNeedTheirNames,
		"InsertChunksKeepVersion": insertChunks,
		"FeedbackJoins":           feedbackJoins,
		"FeatureForms":            featureForms,
		"VariantsAndShadows":      variantsAndShadows,
	} {
		t.Run(name, func(t *testing.T) { f(t, open(t)) })
	}
}

func opened(t *testing.T, open Open) *store.DB {
	t.Helper()
	s, err := open(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func roundTrip(t *testing.T, open Open) {
	ctx := t.Context()
	s, err := open(t)
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.Record
	for i := range 10 {
		r := Rec(i)
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
	s = opened(t, open)
	rows, err := s.Rows(ctx, store.Query{Version: "2", Ascending: true})
	if err != nil || len(rows) != 5 || rows[0].RequestID != "r5" || rows[0].Features["MedInc"] != 5 || rows[0].Latency != 5*time.Microsecond {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	if !rows[0].Time.Equal(recs[5].Time) {
		t.Errorf("time %v, want %v", rows[0].Time, recs[5].Time)
	}
	n, err := s.Count(ctx, store.Query{From: recs[3].Time, To: recs[8].Time})
	if err != nil || n != 5 {
		t.Errorf("count in window %d, %v", n, err)
	}
	last, _ := s.Rows(ctx, store.Query{Limit: 2})
	if len(last) != 2 || last[0].RequestID != "r9" {
		t.Errorf("newest first: %+v", last)
	}
	tail, _ := s.Rows(ctx, store.Query{AfterID: last[1].ID, Ascending: true})
	if len(tail) != 1 || tail[0].RequestID != "r9" {
		t.Errorf("after id: %+v", tail)
	}
	st := store.Summarize(rows, 4)
	if st.Count != 5 || st.ByVersion["california@2"] != 5 || st.Prediction["min"] != 0.5 || st.Latency["max"] != 0.009 || len(st.Histogram) != 4 {
		t.Errorf("stats %+v", st)
	}
}

// Many producers, a small queue, Close: every record is in the database.
func writerLosesNothing(t *testing.T, open Open) {
	ctx := t.Context()
	s := opened(t, open)
	var written atomic.Int64
	w := store.NewWriter(s, store.WriterOptions{QueueSize: 16, BatchSize: 7, FlushInterval: time.Millisecond, OnWritten: func(n int) { written.Add(int64(n)) }})
	var wg sync.WaitGroup
	const producers, each = 8, 250
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if !w.Enqueue(Rec(p*each + i)) {
					t.Error("a blocking writer dropped a record")
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := s.Count(ctx, store.Query{})
	if err != nil || n != producers*each || written.Load() != n {
		t.Fatalf("%d rows (%v), %d reported written, want %d", n, err, written.Load(), producers*each)
	}
	if w.Enqueue(Rec(0)) {
		t.Error("a closed writer took a record")
	}
}

// Names that need escaping round-trip; values without their names (or
// more of one than the other) are refused, and nothing is written.
func valuesNeedTheirNames(t *testing.T, open Open) {
	ctx := t.Context()
	s := opened(t, open)
	r := Rec(1)
	r.Features, r.Values = store.NewFeatureSet([]string{"MedInc", "Lat\"itude"}), []float64{8.3252, -1e-7}
	if err := s.Insert(ctx, []store.Record{r}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Rows(ctx, store.Query{})
	if err != nil || len(rows) != 1 || rows[0].Features["MedInc"] != 8.3252 || rows[0].Features["Lat\"itude"] != -1e-7 {
		t.Fatalf("%+v %v", rows, err)
	}
	for _, bad := range []store.Record{{RequestID: "x", Features: Set, Values: []float64{1}}, {RequestID: "y", Values: []float64{1, 2}}} {
		if err := s.Insert(ctx, []store.Record{Rec(2), bad}); err == nil {
			t.Errorf("%+v was stored", bad)
		}
	}
	if n, _ := s.Count(ctx, store.Query{}); n != 1 {
		t.Errorf("a refused batch left %d rows", n-1)
	}
}

// Rows keep their own model and version, their features and their order,
// across full and partial chunks, when every row of a chunk shares one
// version (bound once per statement) and when a version changes inside a
// chunk, as during a hot swap.
func insertChunks(t *testing.T, open Open) {
	ctx := t.Context()
	s := opened(t, open)
	const chunk = 64 // the DB's rows per INSERT
	var recs []store.Record
	for i := range 3*chunk + 5 {
		r := Rec(i)
		r.Values = []float64{float64(i), float64(i % 7)}
		switch {
		case i >= chunk+10 && i < 2*chunk+3: // a swap inside the second chunk
			r.Version = "2"
		case i >= 2*chunk+3:
			r.Model, r.Version = "other", "7"
		}
		recs = append(recs, r)
	}
	if err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Rows(ctx, store.Query{Ascending: true})
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
func feedbackJoins(t *testing.T, open Open) {
	ctx := t.Context()
	s := opened(t, open)
	var recs []store.Record
	for i := range 3 {
		r := Rec(i)
		r.RequestID, r.Row, r.Prediction = "batch", i, float64(10+i)
		recs = append(recs, r)
	}
	recs = append(recs, Rec(9))
	if err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1764000100, 0)
	res, err := s.AddFeedback(ctx, []store.Feedback{
		{RequestID: "batch", Row: 2, Actual: 1, Time: now},
		{RequestID: "batch", Row: 2, Actual: 12.5, Time: now}, // replaces
		{RequestID: "r9", Row: 0, Actual: 0.5, Time: now},
		{RequestID: "batch", Row: 7, Actual: 3, Time: now}, // no such row
	})
	if err != nil || res.Matched != 3 || len(res.Joined) != 3 || res.Joined[0].Prediction != 12 || res.Joined[0].Actual != 1 || res.Joined[1].Actual != 12.5 || res.Joined[2].RequestID != "r9" {
		t.Fatalf("matched %+v, %v", res, err)
	}
	js, err := s.Joined(ctx, store.Query{})
	if err != nil || len(js) != 2 {
		t.Fatalf("%+v %v", js, err)
	}
	if js[0].RequestID != "batch" || js[0].Row.Row != 2 || js[0].Prediction != 12 || js[0].Actual != 12.5 || js[1].RequestID != "r9" || js[1].Actual != 0.5 {
		t.Errorf("joined %+v", js)
	}
	if js, _ := s.Joined(ctx, store.Query{Version: "2"}); len(js) != 0 {
		t.Errorf("version filter: %+v", js)
	}
	if _, err := s.AddFeedback(ctx, []store.Feedback{{RequestID: "x", Actual: math.NaN()}}); err == nil {
		t.Error("NaN feedback accepted")
	}
}

// Features are written as an array of values in the order feature_names
// registers for the model version (on its first row); a row whose names
// differ keeps an object. Both read back as name: value, and the
// prediction_features view gives one (id, name, value) row per feature.
func featureForms(t *testing.T, open Open) {
	ctx := t.Context()
	s := opened(t, open)
	a := Rec(1)
	a.Values = []float64{8.5, 41}
	c := Rec(2) // the same names, from another set with the same id
	c.Features, c.Values = store.NewFeatureSet([]string{"MedInc", "HouseAge"}), []float64{3.25, 12}
	d := Rec(3) // other names for the same version
	d.Features, d.Values = store.NewFeatureSet([]string{"Latitude"}), []float64{37.88}
	e := Rec(4) // the same names in another order
	e.Features, e.Values = store.NewFeatureSet([]string{"HouseAge", "MedInc"}), []float64{7, 1.5}
	f := Rec(5) // another version: its own names
	f.Version, f.Features, f.Values = "2", store.NewFeatureSet([]string{"Latitude", "MedInc"}), []float64{-1e-7, 2}
	if err := s.Insert(ctx, []store.Record{a, c, d}); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, []store.Record{e, f}); err != nil {
		t.Fatal(err)
	}
	stored := column[string](t, s, `SELECT features FROM predictions ORDER BY id`)
	want := []string{`[8.5,41]`, `[3.25,12]`, `{"Latitude":37.88}`, `{"HouseAge":7,"MedInc":1.5}`, `[-1e-07,2]`}
	if !slices.Equal(stored, want) {
		t.Errorf("stored features\n%q\nwant\n%q", stored, want)
	}
	// A store opened afresh reads the names back from the database.
	s2 := opened(t, open)
	rows, err := s2.Rows(ctx, store.Query{})
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
	got := column[string](t, s2, `SELECT id || ' ' || name || ' ' || CAST(value AS TEXT) FROM prediction_features ORDER BY id, name`)
	wantV := []string{"1 HouseAge 41", "1 MedInc 8.5", "2 HouseAge 12", "2 MedInc 3.25", "3 Latitude 37.88",
		"4 HouseAge 7", "4 MedInc 1.5", "5 Latitude -1e-07", "5 MedInc 2"}
	if !slices.Equal(normalize(got), wantV) {
		t.Errorf("prediction_features\n%q\nwant\n%q", got, wantV)
	}
}

// normalize rewrites "id name value" lines with the value in Go's %g, so
// that SQLite's and PostgreSQL's texts of a float compare.
func normalize(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		var id int
		var name string
		var v float64
		if _, err := fmt.Sscanf(l, "%d %s %g", &id, &name, &v); err != nil {
			out[i] = l
			continue
		}
		out[i] = fmt.Sprintf("%d %s %g", id, name, v)
	}
	return out
}

// column reads one column of a query on the store's database.
func column[T any](t *testing.T, s *store.DB, query string) []T {
	t.Helper()
	rs, err := s.Raw().QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []T
	for rs.Next() {
		var v T
		if err := rs.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Rows carry their variant and whether they are a shadow's, in chunks of
// one variant and mixed ones; queries leave shadow rows out unless asked,
// and a feedback joins the served row and its shadow pair.
func variantsAndShadows(t *testing.T, open Open) {
	ctx := t.Context()
	s := opened(t, open)
	var recs []store.Record
	for i := range 70 { // past one chunk of one variant
		r := Rec(i)
		r.Variant = "production"
		recs = append(recs, r)
	}
	mixed := Rec(100)
	mixed.Variant, mixed.Version = "challenger", "2"
	shadow := Rec(100)
	shadow.Variant, shadow.Version, shadow.Shadow, shadow.Prediction = "challenger", "2", true, 7
	recs = append(recs, mixed, shadow)
	if err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	count := func(q store.Query) int64 {
		n, err := s.Count(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(store.Query{}); n != 71 {
		t.Errorf("served rows %d, want 71", n)
	}
	if n := count(store.Query{Shadows: store.WithShadows}); n != 72 {
		t.Errorf("all rows %d, want 72", n)
	}
	if n := count(store.Query{Variant: "production"}); n != 70 {
		t.Errorf("production rows %d, want 70", n)
	}
	rows, err := s.Rows(ctx, store.Query{Shadows: store.OnlyShadows})
	if err != nil || len(rows) != 1 || !rows[0].Shadow || rows[0].Variant != "challenger" || rows[0].Version != "2" || rows[0].Prediction != 7 {
		t.Fatalf("shadow rows %+v %v", rows, err)
	}
	if res, err := s.AddFeedback(ctx, []store.Feedback{{RequestID: "r100", Actual: 1, Time: time.Unix(1764000100, 0)}}); err != nil || res.Matched != 1 || len(res.Joined) != 2 {
		t.Fatalf("feedback on a served row and its shadow: %+v %v", res, err)
	}
	js, err := s.Joined(ctx, store.Query{Shadows: store.WithShadows, Variant: "challenger"})
	if err != nil || len(js) != 2 || js[0].Shadow == js[1].Shadow {
		t.Fatalf("the served row and its shadow, joined: %+v %v", js, err)
	}
	if js, _ := s.Joined(ctx, store.Query{}); len(js) != 1 || js[0].Shadow {
		t.Errorf("joined without shadows: %+v", js)
	}
}
