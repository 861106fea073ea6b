package tracking

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Catalog keeps every run of a store in memory for a long-running reader
// (housectl ui and its MLflow API), so a search over 10,000 runs costs a
// filter and a sort, not 10,000 file reads. Refresh brings it up to date
// with the directory: a run is read again only when one of its files
// changed (run.json, the journal, the notes). Writes made through the
// catalog's owner are put in at once (Put). The runs it returns are
// snapshots: never modify them.
type Catalog struct {
	Store *Store
	// ResyncEvery is how often a refresh of a store kept in a bucket
	// lists the bucket again for what others published (default 30 s;
	// between those, a refresh rereads the local copy only).
	ResyncEvery time.Duration
	resynced    time.Time

	mu      sync.RWMutex
	entries map[string]*catEntry // by run directory
	byID    map[string]*Run
	// runs is every run, newest first, rebuilt by Runs after a Put
	// (dirty): a write costs a map update, not a copy of the catalog.
	runs    []*Run
	dirty   bool
	errs    []error
	scanned time.Time
}

type catEntry struct {
	run   *Run
	stamp runStamp
}

// runStamp is what tells that a run's files changed.
type runStamp struct {
	runMod, journalMod, notesMod time.Time
	runSize, journalSize         int64
}

func stampOf(dir string) (runStamp, error) {
	var s runStamp
	st, err := os.Stat(filepath.Join(dir, RunFile))
	if err != nil {
		return s, err
	}
	s.runMod, s.runSize = st.ModTime(), st.Size()
	if st, err := os.Stat(filepath.Join(dir, JournalFile)); err == nil {
		s.journalMod, s.journalSize = st.ModTime(), st.Size()
	}
	if st, err := os.Stat(filepath.Join(dir, NotesDir)); err == nil {
		s.notesMod = st.ModTime()
	}
	return s, nil
}

// NewCatalog returns an empty catalog of the store; call Refresh.
func NewCatalog(s *Store) *Catalog {
	return &Catalog{Store: s, entries: map[string]*catEntry{}, byID: map[string]*Run{}}
}

// Refresh rereads what changed in the store since the last refresh, on
// every CPU. A run that cannot be read is left out and reported by Errors.
func (c *Catalog) Refresh() error {
	if c.Store.Remote != nil {
		every := c.ResyncEvery
		if every <= 0 {
			every = 30 * time.Second
		}
		if time.Since(c.resynced) >= every {
			if err := c.Store.Resync(context.Background()); err != nil {
				return err
			}
			c.resynced = time.Now()
		}
	}
	var dirs []string
	ents, err := os.ReadDir(c.Store.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() || e.Name() == RegistryDir || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		runs, err := os.ReadDir(filepath.Join(c.Store.Dir, e.Name()))
		if err != nil {
			return err
		}
		for _, r := range runs {
			if r.IsDir() && r.Name() != NotesDir && !strings.HasPrefix(r.Name(), ".") {
				dirs = append(dirs, filepath.Join(c.Store.Dir, e.Name(), r.Name()))
			}
		}
	}
	c.mu.RLock()
	old := maps.Clone(c.entries)
	c.mu.RUnlock()
	next := make([]*catEntry, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	work := make(chan int, len(dirs))
	for i := range dirs {
		work <- i
	}
	close(work)
	for range min(runtime.GOMAXPROCS(0), max(1, len(dirs)/256)) {
		wg.Go(func() {
			for i := range work {
				st, err := stampOf(dirs[i])
				if errors.Is(err, fs.ErrNotExist) {
					continue // not a run directory
				}
				if err != nil {
					errs[i] = err
					continue
				}
				if e := old[dirs[i]]; e != nil && e.stamp == st {
					next[i] = e
					continue
				}
				r, err := Load(dirs[i])
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					errs[i] = err
					continue
				}
				next[i] = &catEntry{run: r, stamp: st}
			}
		})
	}
	wg.Wait()
	entries := make(map[string]*catEntry, len(dirs))
	var bad []error
	for i, e := range next {
		if errs[i] != nil {
			bad = append(bad, errs[i])
		}
		if e != nil {
			entries[dirs[i]] = e
		}
	}
	c.mu.Lock()
	// A run put while the scan ran keeps the copy put.
	for d, e := range c.entries {
		if old[d] != e {
			entries[d] = e
		}
	}
	c.entries, c.errs, c.scanned = entries, bad, time.Now()
	c.byID = make(map[string]*Run, len(entries))
	for _, e := range entries {
		c.byID[e.run.ID] = e.run
	}
	c.dirty = true
	c.mu.Unlock()
	return nil
}

// Put replaces a run's snapshot after a write (r is cloned).
func (c *Catalog) Put(r *Run) {
	cl := r.Clone()
	st, _ := stampOf(r.dir)
	c.mu.Lock()
	c.entries[r.dir] = &catEntry{run: cl, stamp: st}
	c.byID[cl.ID] = cl
	c.dirty = true
	c.mu.Unlock()
}

// Runs returns every run, newest first (a snapshot; do not modify). After
// writes it is rebuilt once, here.
func (c *Catalog) Runs() []*Run {
	c.mu.RLock()
	if !c.dirty {
		defer c.mu.RUnlock()
		return c.runs
	}
	c.mu.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dirty {
		runs := make([]*Run, 0, len(c.entries))
		for _, e := range c.entries {
			runs = append(runs, e.run)
		}
		slices.SortFunc(runs, func(a, b *Run) int { return strings.Compare(b.ID, a.ID) })
		c.runs, c.dirty = runs, false
	}
	return c.runs
}

// Errors are the runs the last refresh could not read.
func (c *Catalog) Errors() []error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.errs
}

// Scanned is when the last refresh ended.
func (c *Catalog) Scanned() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.scanned
}

// Get returns the run of an id, or nil.
func (c *Catalog) Get(id string) *Run {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byID[id]
}

// View is which runs a search sees, by lifecycle, as MLflow's
// run_view_type says.
type View int

// The views.
const (
	ActiveOnly View = iota
	DeletedOnly
	AllRuns
)

// Query is a search over the catalog.
type Query struct {
	Experiments []string // directories; none: all
	Filter      *Filter
	Order       []OrderBy
	View        View
	Offset      int
	Limit       int // 0: all
}

// Search returns one page of the runs that match, and how many match in
// all.
func (c *Catalog) Search(q Query) ([]*Run, int) {
	all := c.Runs()
	var out []*Run
	for _, r := range all {
		switch {
		case q.View == ActiveOnly && r.Deleted, q.View == DeletedOnly && !r.Deleted:
			continue
		case len(q.Experiments) > 0 && !slices.Contains(q.Experiments, r.Experiment):
			continue
		case q.Filter != nil && !q.Filter.Match(r):
			continue
		}
		out = append(out, r)
	}
	SortRuns(out, q.Order)
	total := len(out)
	out = out[min(q.Offset, len(out)):]
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, total
}

// Clone is a deep copy of the run.
func (r *Run) Clone() *Run {
	c := *r
	c.Params = maps.Clone(r.Params)
	c.Metrics = maps.Clone(r.Metrics)
	c.Tags = maps.Clone(r.Tags)
	c.CV = slices.Clone(r.CV)
	c.Artifacts = slices.Clone(r.Artifacts)
	c.Latest = slices.Clone(r.Latest)
	if r.EndTime != nil {
		t := *r.EndTime
		c.EndTime = &t
	}
	if r.Journal != nil {
		j := *r.Journal
		c.Journal = &j
	}
	return &c
}
