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

// Writer logs records in the background: Enqueue puts a record on a
// bounded queue; one goroutine writes batches. Close writes whatever is
// queued before it returns.
type Writer struct {
	s    Store
	o    WriterOptions
	ch   chan Record
	mu   sync.RWMutex // held for reading by Enqueue, for writing by Close
	done chan struct{}
	shut bool
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
	w := &Writer{s: s, o: o, ch: make(chan Record, o.QueueSize), done: make(chan struct{})}
	go w.loop()
	return w
}

// Enqueue queues a record. With OverflowDrop a full queue drops it and
// Enqueue returns false; after Close every record is refused.
func (w *Writer) Enqueue(r Record) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.shut {
		w.dropped(1)
		return false
	}
	if w.o.Overflow == OverflowDrop {
		select {
		case w.ch <- r:
			return true
		default:
			w.dropped(1)
			return false
		}
	}
	w.ch <- r
	return true
}

// Depth is the number of queued records.
func (w *Writer) Depth() int { return len(w.ch) }

// Capacity is the queue's size.
func (w *Writer) Capacity() int { return cap(w.ch) }

func (w *Writer) dropped(n int) {
	if w.o.OnDropped != nil {
		w.o.OnDropped(n)
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	batch := make([]Record, 0, w.o.BatchSize)
	t := time.NewTimer(w.o.FlushInterval)
	defer t.Stop()
	for {
		select {
		case r, ok := <-w.ch:
			if !ok {
				w.flush(batch)
				return
			}
			batch = append(batch, r)
			if len(batch) >= w.o.BatchSize {
				w.flush(batch)
				batch = batch[:0]
			}
		case <-t.C:
			w.flush(batch)
			batch = batch[:0]
			t.Reset(w.o.FlushInterval)
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
	if !w.shut {
		w.shut = true
		close(w.ch)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("prediction log: %d records still queued: %w", len(w.ch), ctx.Err())
	}
}
