package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testSet = NewFeatureSet([]string{"MedInc", "HouseAge"})

func rec(i int) Record {
	return Record{Time: time.Unix(1764000000, int64(i)*1e6).UTC(), RequestID: fmt.Sprintf("r%d", i), Model: "california", Version: "1",
		Features: testSet, Values: []float64{float64(i), 41}, Prediction: float64(i) / 10, Latency: time.Duration(i) * time.Microsecond}
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

// A missing feature value is null in JSON, and a joined row keeps its
// actual value.
func TestRowJSON(t *testing.T) {
	r := Row{ID: 1, Model: "m", Version: "1", Features: map[string]float64{"a": 1, "b": math.NaN()}, Prediction: 2}
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"features":{"a":1,"b":null}`) || !strings.Contains(string(b), `"model":"m"`) {
		t.Errorf("%s %v", b, err)
	}
	b, err = json.Marshal(Joined{Row: r, Actual: 3})
	if err != nil || !strings.Contains(string(b), `"actual":3}`) || !strings.Contains(string(b), `"b":null`) {
		t.Errorf("joined: %s %v", b, err)
	}
}
