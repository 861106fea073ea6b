package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/housectl/housectl/pkg/store"
)

// Memory is a store.Store in memory, for the tests of the packages that
// log (serve, monitor): it keeps what it is given and answers queries as
// the DB does, without a database.
type Memory struct {
	mu       sync.Mutex
	rows     []store.Row
	feedback map[[2]any]float64
	closed   bool
	// Fail, when set, is returned by Insert.
	Fail error
}

// Insert implements store.Store.
func (m *Memory) Insert(_ context.Context, recs []store.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return store.ErrClosed
	}
	if m.Fail != nil {
		return m.Fail
	}
	for _, r := range recs {
		if r.Features == nil || len(r.Features.Names) != len(r.Values) {
			return fmt.Errorf("record %s: feature names and values disagree", r.RequestID)
		}
	}
	for _, r := range recs {
		f := make(map[string]float64, len(r.Values))
		for i, n := range r.Features.Names {
			f[n] = r.Values[i]
		}
		m.rows = append(m.rows, store.Row{ID: int64(len(m.rows) + 1), Time: r.Time, RequestID: r.RequestID, Model: r.Model, Version: r.Version,
			Features: f, Prediction: r.Prediction, Latency: r.Latency, Row: r.Row, Variant: r.Variant, Shadow: r.Shadow})
	}
	return nil
}

func match(q store.Query, r store.Row) bool {
	return (q.From.IsZero() || !r.Time.Before(q.From)) && (q.To.IsZero() || r.Time.Before(q.To)) &&
		(q.Model == "" || r.Model == q.Model) && (q.Version == "" || r.Version == q.Version) && r.ID > q.AfterID &&
		(q.Variant == "" || r.Variant == q.Variant) &&
		(q.Shadows == store.WithShadows || (q.Shadows == store.OnlyShadows) == r.Shadow)
}

// Rows implements store.Store.
func (m *Memory) Rows(_ context.Context, q store.Query) ([]store.Row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Row
	for _, r := range m.rows {
		if match(q, r) {
			r.Features = maps.Clone(r.Features)
			out = append(out, r)
		}
	}
	if !q.Ascending {
		slices.Reverse(out)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Count implements store.Store.
func (m *Memory) Count(ctx context.Context, q store.Query) (int64, error) {
	q.Limit = 0
	rows, err := m.Rows(ctx, q)
	return int64(len(rows)), err
}

// AddFeedback implements store.Store.
func (m *Memory) AddFeedback(_ context.Context, fb []store.Feedback) (store.FeedbackResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.feedback == nil {
		m.feedback = map[[2]any]float64{}
	}
	var res store.FeedbackResult
	for _, f := range fb {
		m.feedback[[2]any{f.RequestID, f.Row}] = f.Actual
		n := 0
		for _, r := range m.rows {
			if r.RequestID == f.RequestID && r.Row == f.Row {
				r.Features = nil
				res.Joined = append(res.Joined, store.Joined{Row: r, Actual: f.Actual})
				n++
			}
		}
		if n > 0 {
			res.Matched++
		}
	}
	return res, nil
}

// Joined implements store.Store.
func (m *Memory) Joined(ctx context.Context, q store.Query) ([]store.Joined, error) {
	q.Ascending, q.Limit = true, 0
	rows, _ := m.Rows(ctx, q)
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Joined
	for _, r := range rows {
		if a, ok := m.feedback[[2]any{r.RequestID, r.Row}]; ok {
			out = append(out, store.Joined{Row: r, Actual: a})
		}
	}
	return out, nil
}

// Close implements store.Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Len is the number of records kept.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}
