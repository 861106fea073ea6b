// Package store is the prediction log: every prediction the server makes
// (time, request id, model, version, features, prediction, latency), kept
// in a database behind the Store interface. SQLite (mattn/go-sqlite3, WAL)
// is the implementation here; the schema is applied by numbered, embedded
// migrations so that a PostgreSQL store can follow with the same ones.
//
// Nouns:
//   - Record: one logged prediction.
//   - Store: where records go and how they are queried.
//   - Writer: a bounded queue and a background goroutine that writes
//     records in batches, off the request path.
package store

import (
	"context"
	"errors"
	"time"
)

// Record is one logged prediction.
type Record struct {
	Time      time.Time          `json:"time"`
	RequestID string             `json:"request_id"`
	Model     string             `json:"model"`
	Version   string             `json:"version"`
	Features  map[string]float64 `json:"features"`
	// Names and Values give the features without a map, for writers on a
	// hot path; Insert uses them when Features is nil.
	Names  []string  `json:"-"`
	Values []float64 `json:"-"`
	// Prediction is the model's output.
	Prediction float64 `json:"prediction"`
	// Latency is the time spent serving the request the prediction was
	// part of (decode, validate, predict).
	Latency time.Duration `json:"latency_ns"`
	// Row is the row's index within its request (0 for /predict).
	Row int `json:"row"`
}

// Feedback is the actual value of a logged prediction.
type Feedback struct {
	RequestID string    `json:"request_id"`
	Row       int       `json:"row"`
	Actual    float64   `json:"actual"`
	Time      time.Time `json:"time"`
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
}

// Row is a record with its id in the store (ids grow with insertion).
type Row struct {
	ID int64 `json:"id"`
	Record
}

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
	// a logged prediction.
	AddFeedback(ctx context.Context, fb []Feedback) (matched int, err error)
	// Joined returns the predictions q selects that have an actual value.
	Joined(ctx context.Context, q Query) ([]Joined, error)
	Close() error
}

// ErrClosed is returned by a Writer after Close.
var ErrClosed = errors.New("prediction log is closed")
