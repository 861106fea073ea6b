// Package store is the prediction log: every prediction the server makes
// (time, request id, model, version, features, prediction, latency), kept
// in a database behind the Store interface. This package is the core and
// needs no cgo: the record types, the Store interface, the batch Writer
// that takes records off the request path, and DB, the store over any
// database/sql database with its numbered, embedded migrations. The
// drivers are packages of their own: store/sqlite (mattn/go-sqlite3, WAL)
// and store/postgres (pgx); store/all opens the configured one.
//
// Nouns:
//   - FeatureSet: a model's feature names, in order, with an explicit id;
//     the log stores each set once per model version.
//   - Record: one prediction to log; Row: one read back.
//   - Store: where records go and how they are queried; DB implements it.
//   - Writer: a bounded queue and a background goroutine that writes
//     records in batches.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
)

// FeatureSet is a model's feature names in their order. Make one per
// loaded model with NewFeatureSet and give it to every record: its ID,
// not the identity of a slice, is what the log's caches are keyed on.
type FeatureSet struct {
	// ID identifies the names and their order (a digest of them): two
	// sets with equal names have equal IDs.
	ID    string
	Names []string
	// quoted holds each name as a JSON string, for writing objects.
	quoted [][]byte
}

// NewFeatureSet returns the set of names (the slice is the set's to keep).
func NewFeatureSet(names []string) *FeatureSet {
	h := sha256.Sum256([]byte(strings.Join(names, "\x00")))
	fs := &FeatureSet{ID: hex.EncodeToString(h[:8]), Names: names, quoted: make([][]byte, len(names))}
	for i, n := range names {
		fs.quoted[i], _ = json.Marshal(n)
	}
	return fs
}

// Record is one prediction to log: Values are the features of its
// FeatureSet, in that order.
type Record struct {
	Time      time.Time
	RequestID string
	Model     string
	Version   string
	Features  *FeatureSet
	Values    []float64
	// Prediction is the model's output.
	Prediction float64
	// Latency is the time spent serving the request the prediction was
	// part of (decode, validate, predict).
	Latency time.Duration
	// Row is the row's index within its request (0 for /predict).
	Row int
	// Variant is the alias that served the row when a model is served as
	// several variants (a split, a shadow); "" otherwise.
	Variant string
	// Shadow marks a shadow's prediction: made off the response path for
	// the same request and row as a served one, never returned.
	Shadow bool
}

// Row is a logged prediction read back, with its id in the store (ids
// grow with insertion).
type Row struct {
	ID         int64              `json:"id"`
	Time       time.Time          `json:"time"`
	RequestID  string             `json:"request_id"`
	Model      string             `json:"model"`
	Version    string             `json:"version"`
	Features   map[string]float64 `json:"features"`
	Prediction float64            `json:"prediction"`
	Latency    time.Duration      `json:"latency_ns"`
	Row        int                `json:"row"`
	Variant    string             `json:"variant,omitempty"`
	Shadow     bool               `json:"shadow,omitempty"`
}

// MarshalJSON writes a missing feature value (NaN) as null, which JSON
// has for it.
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	out := struct {
		plain
		Features map[string]*float64 `json:"features"`
	}{plain: plain(r), Features: make(map[string]*float64, len(r.Features))}
	for k, v := range r.Features {
		if !math.IsNaN(v) {
			out.Features[k] = &v
		} else {
			out.Features[k] = nil
		}
	}
	return json.Marshal(out)
}

// MarshalJSON writes the row as Row does, with its actual value (Row's
// method, promoted, would leave it out).
func (j Joined) MarshalJSON() ([]byte, error) {
	row, err := j.Row.MarshalJSON()
	if err != nil {
		return nil, err
	}
	actual, err := json.Marshal(j.Actual)
	if err != nil {
		return nil, err
	}
	return append(append(append(row[:len(row)-1], `,"actual":`...), actual...), '}'), nil
}

// Feedback is the actual value of a logged prediction.
type Feedback struct {
	RequestID string    `json:"request_id"`
	Row       int       `json:"row"`
	Actual    float64   `json:"actual"`
	Time      time.Time `json:"time"`
}

// FeedbackResult is what AddFeedback joined.
type FeedbackResult struct {
	// Matched counts the feedback items that match a logged prediction.
	Matched int
	// Joined are the predictions they match, with the actual value.
	Joined []Joined
}

// Joined is a logged prediction with its actual value.
type Joined struct {
	Row
	Actual float64 `json:"actual"`
}

// Query selects records: a time window, a model and version, newest first
// unless Ascending, at most Limit (0: no limit).
type Query struct {
	From, To  time.Time // zero: unbounded
	Model     string
	Version   string
	Limit     int
	Ascending bool
	// AfterID returns records with a larger id only (for tailing).
	AfterID int64
	// Variant selects one variant ("": any).
	Variant string
	// Shadows says whether shadow rows are selected: by default they are
	// not, so that what was served is what is counted.
	Shadows ShadowRows
}

// ShadowRows selects rows by whether they are a shadow's.
type ShadowRows int

// The choices of Query.Shadows.
const (
	NoShadows   ShadowRows = iota // served rows only
	WithShadows                   // both
	OnlyShadows                   // shadow rows only
)

// Stats summarises the records a query selects.
type Stats struct {
	Count      int64              `json:"count"`
	From       time.Time          `json:"from"`
	To         time.Time          `json:"to"`
	Latency    map[string]float64 `json:"latency_ms"`       // p50, p90, p99, max
	Prediction map[string]float64 `json:"prediction"`       // mean, std, min, p10, p50, p90, max
	ByVersion  map[string]int64   `json:"by_version"`       // model@version -> count
	PerSecond  float64            `json:"per_second"`       // count over the window
	Histogram  []Bucket           `json:"histogram"`        // of predictions
	Window     string             `json:"window,omitempty"` // as asked, for display
}

// Bucket is one histogram bin [Lo, Hi).
type Bucket struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int64   `json:"count"`
}

// Store is a prediction log.
type Store interface {
	// Insert writes the records in one transaction: all or none.
	Insert(ctx context.Context, recs []Record) error
	// Rows returns the records q selects.
	Rows(ctx context.Context, q Query) ([]Row, error)
	// Count returns how many records q selects (Limit ignored).
	Count(ctx context.Context, q Query) (int64, error)
	// AddFeedback stores actual values (a later one for the same
	// prediction replaces the earlier) and returns how many of them match
	// a logged prediction, with the predictions they match (served and
	// shadow rows; their features left out).
	AddFeedback(ctx context.Context, fb []Feedback) (FeedbackResult, error)
	// Joined returns the predictions q selects that have an actual value.
	Joined(ctx context.Context, q Query) ([]Joined, error)
	Close() error
}

// ErrClosed is returned by a Writer after Close.
var ErrClosed = errors.New("prediction log is closed")

// ErrNoLog is returned when there is no log to read yet.
var ErrNoLog = errors.New("no prediction log")

// Where names a log for messages: the DSN without its password, or the
// file.
func Where(dsn, path string) string {
	if dsn != "" {
		return Redact(dsn)
	}
	return path
}

// Redact hides a DSN's password.
func Redact(dsn string) string {
	if at := strings.LastIndexByte(dsn, '@'); at > 0 {
		if i := strings.Index(dsn, "://"); i > 0 {
			if c := strings.IndexByte(dsn[i+3:at], ':'); c >= 0 {
				return dsn[:i+3+c+1] + "***" + dsn[at:]
			}
		}
	}
	if i := strings.Index(dsn, "password="); i >= 0 {
		end := strings.IndexByte(dsn[i:], ' ')
		if end < 0 {
			end = len(dsn) - i
		}
		return dsn[:i] + "password=***" + dsn[i+end:]
	}
	return dsn
}
