package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed migrations
var migrations embed.FS

// Dialect is the SQL of a database: its placeholders and migrations.
type Dialect string

// The dialects DB speaks.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the prediction log in a SQL database: one SQLite file (WAL mode)
// for one server, or PostgreSQL for replicas that share a log. The
// queries are written once, with ? placeholders rebound per dialect, and
// each dialect has its own numbered migrations.
type DB struct {
	db      *sql.DB
	dialect Dialect

	mu    sync.Mutex
	full  *sql.Stmt            // the insertChunk-row INSERT, prepared once
	names map[nameKey][]string // feature_names, as far as this store has read or written it
}

// nameKey is a model version, the key of feature_names.
type nameKey struct{ model, version string }

// New makes a DB of an open database/sql handle (store/sqlite and
// store/postgres open it) and migrates it to the newest schema; name is
// the log for messages.
func New(ctx context.Context, db *sql.DB, dialect Dialect, name string) (*DB, error) {
	s := &DB{db: db, dialect: dialect, names: map[nameKey][]string{}}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("prediction log %s: %w", name, err)
	}
	return s, nil
}

// Raw is the database handle, for a driver's own checks and for tests.
func (s *DB) Raw() *sql.DB { return s.db }

// q rebinds ? placeholders to the dialect's ($1, $2, ... for PostgreSQL).
func (s *DB) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := range len(query) {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Close closes the database.
func (s *DB) Close() error {
	s.mu.Lock()
	if s.full != nil {
		_ = s.full.Close()
		s.full = nil
	}
	s.mu.Unlock()
	return s.db.Close()
}

// fullInsert returns the INSERT of insertChunk rows of one model version,
// prepared on first use. Preparing its placeholders took ~0.1 ms of cgo
// per transaction.
func (s *DB) fullInsert(ctx context.Context) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full == nil {
		st, err := s.db.PrepareContext(ctx, insertSQL(string(s.dialect), insertChunk, true))
		if err != nil {
			return nil, err
		}
		s.full = st
	}
	return s.full, nil
}

// inTx runs fn in a transaction, rolled back if fn fails.
func (s *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// migrate applies every embedded migration newer than the database's
// version, each in its own transaction.
func (s *DB) migrate(ctx context.Context) error {
	if s.dialect == Postgres {
		// Replicas starting together migrate one at a time.
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7310591)`); err != nil {
			return err
		}
		defer func() { _, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7310591)`) }()
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	files, err := fs.Glob(migrations, "migrations/"+string(s.dialect)+"/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(files)
	known := 0
	for _, f := range files {
		name := filepath.Base(f)
		n, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: no number", name)
		}
		known = n
		if n <= current {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), n, name, time.Now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return err
		}
	}
	if current > known {
		return fmt.Errorf("the database is at schema version %d, newer than this housectl knows (%d): upgrade housectl", current, known)
	}
	return nil
}

// insertChunk is the most rows one INSERT statement carries: fewer
// statements mean fewer cgo calls and parses per row.
const insertChunk = 64

// insertSQL returns the INSERT of n rows, its placeholders numbered in
// the dialect's form (?N for SQLite, $N for PostgreSQL). When shared, every
// row takes its model and version from the first two parameters: a chunk
// of one model version binds six values a row instead of eight, which
// with the chunk's features in one string makes a row's insert cheaper
// (BenchmarkInsertSQLite).
func insertSQL(dialect string, n int, shared bool) string {
	mark := "?"
	if dialect == "postgres" {
		mark = "$"
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO predictions (ts_ns, request_id, model, version, variant, shadow, features, prediction, latency_ns, row_index) VALUES `)
	p := 0
	next := func() string { p++; return mark + strconv.Itoa(p) }
	var model, version, variant, shadow string
	if shared {
		model, version, variant, shadow = next(), next(), next(), next()
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		ts, id := next(), next()
		if !shared {
			model, version, variant, shadow = next(), next(), next(), next()
		}
		b.WriteString("(" + ts + ", " + id + ", " + model + ", " + version + ", " + variant + ", " + shadow + ", " + next() + ", " + next() + ", " + next() + ", " + next() + ")")
	}
	return b.String()
}

// oneVersion reports whether the records share their model, version,
// variant and kind.
func oneVersion(recs []Record) bool {
	for _, r := range recs[1:] {
		if r.Model != recs[0].Model || r.Version != recs[0].Version || r.Variant != recs[0].Variant || r.Shadow != recs[0].Shadow {
			return false
		}
	}
	return true
}

func shadowInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Insert implements Store.
func (s *DB) Insert(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	// Feature names this transaction registers are remembered once it
	// commits.
	pending := map[nameKey][]string{}
	defer func() {
		if len(pending) > 0 {
			s.mu.Lock()
			defer s.mu.Unlock()
			for k, v := range pending {
				if v != nil {
					s.names[k] = v
				}
			}
		}
	}()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var full *sql.Stmt
		defer func() {
			if full != nil {
				_ = full.Close() // the transaction's handle, not the prepared statement
			}
		}()
		y := newYielder()
		args := make([]any, 0, 10*insertChunk)
		ends := make([]int, 0, insertChunk)
		var fj []byte
		var form featureForm
		for len(recs) > 0 {
			n := min(len(recs), insertChunk)
			chunk := recs[:n]
			// The chunk's features go into one string, each row's a
			// slice of it: one allocation a chunk instead of a row.
			fj, ends = fj[:0], ends[:0]
			for _, r := range chunk {
				order, err := form.of(ctx, s, tx, pending, r)
				if err != nil {
					return err
				}
				if fj, err = featuresJSON(fj, r, order); err != nil {
					return err
				}
				ends = append(ends, len(fj))
			}
			feats := string(fj)
			shared := oneVersion(chunk)
			args = args[:0]
			if shared {
				args = append(args, chunk[0].Model, chunk[0].Version, chunk[0].Variant, shadowInt(chunk[0].Shadow))
			}
			start := 0
			for i, r := range chunk {
				args = append(args, r.Time.UnixNano(), r.RequestID)
				if !shared {
					args = append(args, r.Model, r.Version, r.Variant, shadowInt(r.Shadow))
				}
				args = append(args, feats[start:ends[i]], r.Prediction, int64(r.Latency), r.Row)
				start = ends[i]
			}
			var err error
			if n == insertChunk && shared {
				if full == nil {
					st, err := s.fullInsert(ctx)
					if err != nil {
						return err
					}
					full = tx.StmtContext(ctx, st)
				}
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, insertSQL(string(s.dialect), n, shared), args...)
			}
			if err != nil {
				return err
			}
			recs = recs[n:]
			y.between()
		}
		return nil
	})
	if err != nil {
		clear(pending)
	}
	return err
}

// yielder lets requests run between a transaction's statements. On a
// single P the writer would otherwise hold it for the whole batch (about a
// millisecond of cgo calls at 512 rows).
//
// runtime.Gosched lets goroutines that are already runnable run. But the
// writer stays runnable, and Go's scheduler polls the network only when
// nothing is: a request whose bytes arrived during the batch would wait
// for all of it. So when Gosched comes straight back (nothing else was
// ready to run), the writer parks for a moment, and the scheduler, with
// nothing to run, polls the network and serves what arrived.
//
// Parking only when nothing else ran, not at every statement, is the
// point: parking always keeps requests that are ready waiting behind the
// parks under load. An idle poller sleeps in whole milliseconds, so a park
// that overruns tenfold means no request is coming: the rest of the
// transaction only calls Gosched.
type yielder struct {
	park bool
	// The scheduler and the clock, replaced in tests.
	gosched func()
	sleep   func(time.Duration)
	now     func() time.Time
}

func newYielder() *yielder {
	return &yielder{park: true, gosched: runtime.Gosched, sleep: time.Sleep, now: time.Now}
}

func (y *yielder) between() {
	t := y.now()
	y.gosched()
	if !y.park || y.now().Sub(t) > yieldRan {
		return
	}
	t = y.now()
	y.sleep(yieldPark)
	if y.now().Sub(t) > 10*yieldPark {
		y.park = false
	}
}

const (
	// yieldRan is how long a Gosched takes when other goroutines ran: a
	// request takes tens of microseconds of CPU.
	yieldRan = 5 * time.Microsecond
	// yieldPark is how long the writer parks when nothing else ran.
	yieldPark = 20 * time.Microsecond
)

func where(q Query) (string, []any) {
	var conds []string
	var args []any
	if !q.From.IsZero() {
		conds, args = append(conds, "ts_ns >= ?"), append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		conds, args = append(conds, "ts_ns < ?"), append(args, q.To.UnixNano())
	}
	if q.Model != "" {
		conds, args = append(conds, "model = ?"), append(args, q.Model)
	}
	if q.Version != "" {
		conds, args = append(conds, "version = ?"), append(args, q.Version)
	}
	if q.AfterID > 0 {
		conds, args = append(conds, "id > ?"), append(args, q.AfterID)
	}
	if q.Variant != "" {
		conds, args = append(conds, "variant = ?"), append(args, q.Variant)
	}
	switch q.Shadows {
	case NoShadows:
		conds = append(conds, "shadow = 0")
	case OnlyShadows:
		conds = append(conds, "shadow = 1")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Rows implements Store.
func (s *DB) Rows(ctx context.Context, q Query) ([]Row, error) {
	w, args := where(q)
	order := " ORDER BY id DESC"
	if q.Ascending {
		order = " ORDER BY id ASC"
	}
	limit := ""
	if q.Limit > 0 {
		limit = " LIMIT " + strconv.Itoa(q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, ts_ns, request_id, model, version, variant, shadow, features, prediction, latency_ns, row_index FROM predictions`+w+order+limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var ts, lat int64
		var fj string
		var shadow int
		if err := rows.Scan(&r.ID, &ts, &r.RequestID, &r.Model, &r.Version, &r.Variant, &shadow, &fj, &r.Prediction, &lat, &r.Row); err != nil {
			return nil, err
		}
		r.Shadow = shadow != 0
		r.Time, r.Latency = time.Unix(0, ts).UTC(), time.Duration(lat)
		if r.Features, err = s.decodeFeatures(ctx, fj, r.Model, r.Version); err != nil {
			return nil, fmt.Errorf("prediction %d: features: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Count implements Store.
func (s *DB) Count(ctx context.Context, q Query) (int64, error) {
	w, args := where(q)
	var n int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM predictions`+w), args...).Scan(&n)
	return n, err
}

// featuresJSON appends the record's features: a JSON array of the values
// in the given order (the model version's feature_names, which are the
// record's names), or, with no order, a JSON object of name: value.
func featuresJSON(b []byte, r Record, order []string) ([]byte, error) {
	fs := r.Features
	if fs == nil || len(fs.Names) != len(r.Values) {
		n := 0
		if fs != nil {
			n = len(fs.Names)
		}
		return nil, fmt.Errorf("record %s: %d feature names for %d values", r.RequestID, n, len(r.Values))
	}
	open, closing := byte('{'), byte('}')
	if order != nil {
		open, closing = '[', ']'
	}
	b = append(b, open)
	for i, v := range r.Values {
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("record %s: feature %s is %v", r.RequestID, fs.Names[i], v)
		}
		if i > 0 {
			b = append(b, ',')
		}
		if order == nil {
			b = append(b, fs.quoted[i]...)
			b = append(b, ':')
		}
		if math.IsNaN(v) { // a missing value of a nullable feature
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, closing), nil
}

// featureForm decides, record by record, how a transaction writes the
// features: as an array in the order feature_names gives for the record's
// model version (registering the record's names when the version has none
// yet), or as an object when the record's names are not that order. It
// remembers its last answer, keyed on the model version and the feature
// set's id: a batch's records share their model's set.
type featureForm struct {
	key   nameKey
	set   string   // the FeatureSet.ID the answer is for
	order []string // the answer: nil for an object
	ok    bool
}

func (f *featureForm) of(ctx context.Context, s *DB, tx *sql.Tx, pending map[nameKey][]string, r Record) ([]string, error) {
	if r.Features == nil || len(r.Features.Names) == 0 || len(r.Features.Names) != len(r.Values) {
		return nil, nil // featuresJSON reports it, or there is nothing
	}
	k := nameKey{r.Model, r.Version}
	if f.ok && f.key == k && f.set == r.Features.ID {
		return f.order, nil
	}
	reg, err := s.registeredNames(ctx, tx, pending, k, r.Features.Names)
	if err != nil {
		return nil, err
	}
	var order []string
	if slices.Equal(reg, r.Features.Names) {
		order = reg
	}
	f.key, f.set, f.order, f.ok = k, r.Features.ID, order, true
	return order, nil
}

// registeredNames returns the feature names registered for the model
// version, registering names when it has none.
func (s *DB) registeredNames(ctx context.Context, tx *sql.Tx, pending map[nameKey][]string, k nameKey, names []string) ([]string, error) {
	if reg, ok := pending[k]; ok {
		return reg, nil
	}
	s.mu.Lock()
	reg, ok := s.names[k]
	s.mu.Unlock()
	if ok {
		return reg, nil
	}
	js, err := json.Marshal(names)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO feature_names (model, version, names) VALUES (?, ?, ?) ON CONFLICT (model, version) DO NOTHING`), k.model, k.version, string(js)); err != nil {
		return nil, fmt.Errorf("register the features of %s version %s: %w", k.model, k.version, err)
	}
	var stored string
	if err := tx.QueryRowContext(ctx, s.q(`SELECT names FROM feature_names WHERE model = ? AND version = ?`), k.model, k.version).Scan(&stored); err != nil {
		return nil, fmt.Errorf("read the features of %s version %s: %w", k.model, k.version, err)
	}
	if err := json.Unmarshal([]byte(stored), &reg); err != nil {
		return nil, fmt.Errorf("feature_names of %s version %s: %w", k.model, k.version, err)
	}
	pending[k] = reg
	return reg, nil
}

// namesFor returns the feature names registered for a model version, for
// reading its rows' arrays.
func (s *DB) namesFor(ctx context.Context, k nameKey) ([]string, error) {
	s.mu.Lock()
	reg, ok := s.names[k]
	s.mu.Unlock()
	if ok {
		return reg, nil
	}
	var stored string
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT names FROM feature_names WHERE model = ? AND version = ?`), k.model, k.version).Scan(&stored); err != nil {
		return nil, fmt.Errorf("the feature names of %s version %s: %w", k.model, k.version, err)
	}
	if err := json.Unmarshal([]byte(stored), &reg); err != nil {
		return nil, fmt.Errorf("feature_names of %s version %s: %w", k.model, k.version, err)
	}
	s.mu.Lock()
	s.names[k] = reg
	s.mu.Unlock()
	return reg, nil
}

// decodeFeatures reads a row's features: an object of name: value, or an
// array of values in its model version's feature_names order.
func (s *DB) decodeFeatures(ctx context.Context, fj, model, version string) (map[string]float64, error) {
	// A missing value (null) reads as NaN.
	val := func(v *float64) float64 {
		if v == nil {
			return math.NaN()
		}
		return *v
	}
	if !strings.HasPrefix(fj, "[") {
		var raw map[string]*float64
		if err := json.Unmarshal([]byte(fj), &raw); err != nil {
			return nil, err
		}
		m := make(map[string]float64, len(raw))
		for k, v := range raw {
			m[k] = val(v)
		}
		return m, nil
	}
	names, err := s.namesFor(ctx, nameKey{model, version})
	if err != nil {
		return nil, err
	}
	var vals []*float64
	if err := json.Unmarshal([]byte(fj), &vals); err != nil {
		return nil, err
	}
	if len(vals) != len(names) {
		return nil, fmt.Errorf("%d values for the %d feature names of %s version %s", len(vals), len(names), model, version)
	}
	m := make(map[string]float64, len(names))
	for i, n := range names {
		m[n] = val(vals[i])
	}
	return m, nil
}

// AddFeedback implements Store.
func (s *DB) AddFeedback(ctx context.Context, fb []Feedback) (FeedbackResult, error) {
	var res FeedbackResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, s.q(`INSERT INTO feedback (request_id, row_index, actual, ts_ns) VALUES (?, ?, ?, ?)
			ON CONFLICT (request_id, row_index) DO UPDATE SET actual = excluded.actual, ts_ns = excluded.ts_ns`))
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, f := range fb {
			if math.IsNaN(f.Actual) || math.IsInf(f.Actual, 0) || f.RequestID == "" || f.Row < 0 {
				return fmt.Errorf("feedback for %q row %d: want a request id, a row >= 0 and a finite actual value, got %v", f.RequestID, f.Row, f.Actual)
			}
			if _, err := ins.ExecContext(ctx, f.RequestID, f.Row, f.Actual, f.Time.UnixNano()); err != nil {
				return err
			}
			before := len(res.Joined)
			if res.Joined, err = s.matching(ctx, tx, f, res.Joined); err != nil {
				return err
			}
			if len(res.Joined) > before {
				res.Matched++
			}
		}
		return nil
	})
	if err != nil {
		return FeedbackResult{}, err
	}
	return res, nil
}

// matching appends the logged predictions (served and shadow) that a
// feedback item is the actual value of.
func (s *DB) matching(ctx context.Context, tx *sql.Tx, f Feedback, out []Joined) ([]Joined, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT id, ts_ns, model, version, variant, shadow, prediction FROM predictions WHERE request_id = ? AND row_index = ?`), f.RequestID, f.Row)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		j := Joined{Actual: f.Actual}
		j.RequestID, j.Row.Row = f.RequestID, f.Row
		var ts int64
		var shadow int
		if err := rows.Scan(&j.ID, &ts, &j.Model, &j.Version, &j.Variant, &shadow, &j.Prediction); err != nil {
			return out, err
		}
		j.Time, j.Shadow = time.Unix(0, ts).UTC(), shadow != 0
		out = append(out, j)
	}
	return out, rows.Err()
}

// Joined implements Store.
func (s *DB) Joined(ctx context.Context, q Query) ([]Joined, error) {
	w, args := where(q)
	w = strings.NewReplacer("ts_ns", "p.ts_ns", "model", "p.model", "version", "p.version", "id >", "p.id >", "variant", "p.variant", "shadow", "p.shadow").Replace(w)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT p.id, p.ts_ns, p.request_id, p.model, p.version, p.variant, p.shadow, p.features, p.prediction, p.latency_ns, p.row_index, f.actual
		FROM predictions p JOIN feedback f ON f.request_id = p.request_id AND f.row_index = p.row_index`+w+` ORDER BY p.id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Joined
	for rows.Next() {
		var j Joined
		var ts, lat int64
		var fj string
		var shadow int
		if err := rows.Scan(&j.ID, &ts, &j.RequestID, &j.Model, &j.Version, &j.Variant, &shadow, &fj, &j.Prediction, &lat, &j.Row.Row, &j.Actual); err != nil {
			return nil, err
		}
		j.Shadow = shadow != 0
		j.Time, j.Latency = time.Unix(0, ts).UTC(), time.Duration(lat)
		if j.Features, err = s.decodeFeatures(ctx, fj, j.Model, j.Version); err != nil {
			return nil, fmt.Errorf("prediction %d: features: %w", j.ID, err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
