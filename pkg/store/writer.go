package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Overflow policies of a full queue.
const (
	// OverflowBlock makes the request wait for room: no prediction is lost,
	// latency grows while the database is slow.
	OverflowBlock = "block"
	// OverflowDrop drops the record and counts it: latency never waits on
	// the database.
	OverflowDrop = "drop"
)

// WriterOptions tune a Writer. Zero values take the defaults.
type WriterOptions struct {
	QueueSize     int           // records waiting, default 10,000
	BatchSize     int           // records per transaction, default 512
	FlushInterval time.Duration // longest wait before a partial batch is written, default 200 ms
	Overflow      string        // OverflowBlock (default) or OverflowDrop
	// Callbacks for metrics and logs; each may be nil.
	OnWritten func(n int)
	OnDropped func(n int)
	OnError   func(error)
}

// Writer logs records in the background: Enqueue appends a record to a
// bounded queue; one goroutine takes the whole queue at a time and writes
// it in batches. Close writes whatever is queued before it returns.
//
// Producers only take a mutex to append; the writer is woken when a
// batch is ready (or the queue is full, or Close) and by a ticker every
// FlushInterval. So the writer runs tens of times a second, not once per
// prediction: a channel send per record would wake it for every request,
// a scheduling delay on the request path.
type Writer struct {
	s    Store
	o    WriterOptions
	mu   sync.Mutex
	room sync.Cond // signalled when records leave the queue, and on Close
	buf  []Record  // queued, not yet taken by the writer
	busy int       // taken by the writer and not yet written
	shut bool
	kick chan struct{} // one pending wake-up for the writer
	done chan struct{}
}

// NewWriter starts the background writer.
func NewWriter(s Store, o WriterOptions) *Writer {
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.Overflow == "" {
		o.Overflow = OverflowBlock
	}
	w := &Writer{s: s, o: o, kick: make(chan struct{}, 1), done: make(chan struct{})}
	w.room.L = &w.mu
	go w.loop()
	return w
}

// Enqueue queues a record. When the queue is full, OverflowBlock waits
// for room and OverflowDrop drops the record, counts it and returns
// false. After Close every record is refused.
func (w *Writer) Enqueue(r Record) bool {
	w.mu.Lock()
	for !w.shut && len(w.buf)+w.busy >= w.o.QueueSize {
		if w.o.Overflow == OverflowDrop {
			w.mu.Unlock()
			w.dropped(1)
			return false
		}
		w.room.Wait()
	}
	if w.shut {
		w.mu.Unlock()
		w.dropped(1)
		return false
	}
	w.buf = append(w.buf, r)
	wake := len(w.buf) >= w.o.BatchSize || len(w.buf)+w.busy >= w.o.QueueSize
	w.mu.Unlock()
	if wake {
		w.wake()
	}
	return true
}

// wake leaves the writer a wake-up unless one is already pending.
func (w *Writer) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// AddFeedback stores actual values in the writer's store (Store.AddFeedback).
func (w *Writer) AddFeedback(ctx context.Context, fb []Feedback) (FeedbackResult, error) {
	return w.s.AddFeedback(ctx, fb)
}

// Depth is the number of records queued and not yet written.
func (w *Writer) Depth() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf) + w.busy
}

// Capacity is the queue's size.
func (w *Writer) Capacity() int { return w.o.QueueSize }

func (w *Writer) dropped(n int) {
	if w.o.OnDropped != nil {
		w.o.OnDropped(n)
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.o.FlushInterval)
	defer tick.Stop()
	var batch []Record
	for {
		select {
		case <-w.kick:
		case <-tick.C:
		}
		for {
			w.mu.Lock()
			batch, w.buf = w.buf, batch[:0]
			w.busy = len(batch)
			shut := w.shut
			w.mu.Unlock()
			for rest := batch; len(rest) > 0; {
				n := min(len(rest), w.o.BatchSize)
				w.flush(rest[:n])
				rest = rest[n:]
				w.mu.Lock()
				w.busy -= n
				w.room.Broadcast()
				w.mu.Unlock()
			}
			clear(batch) // drop references to the written records
			if !shut {
				break
			}
			if len(batch) == 0 {
				return
			}
		}
	}
}

// flush writes a batch, retrying a failed transaction a few times before
// it counts the batch as dropped.
func (w *Writer) flush(batch []Record) {
	if len(batch) == 0 {
		return
	}
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = w.s.Insert(ctx, batch)
		cancel()
		if err == nil {
			if w.o.OnWritten != nil {
				w.o.OnWritten(len(batch))
			}
			return
		}
	}
	if w.o.OnError != nil {
		w.o.OnError(fmt.Errorf("prediction log: %d records lost: %w", len(batch), err))
	}
	w.dropped(len(batch))
}

// Close stops taking records, writes every queued one and waits for the
// writer, or gives up when ctx ends.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	w.shut = true
	w.room.Broadcast()
	w.mu.Unlock()
	w.wake()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("prediction log: %d records still queued: %w", w.Depth(), ctx.Err())
	}
}
