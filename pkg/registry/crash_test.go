package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/housectl/housectl/pkg/blob"
	"github.com/housectl/housectl/pkg/tracking"
)

var errCrash = errors.New("crashed")

// crashStore is a blob.Store whose process "dies" at its n-th write (Put
// or Delete): that write is done or not (done), and every call after it
// fails, as nothing more reaches the disk after a kill -9. Each write of
// the real store is atomic (its own tests and the kill tests of
// cmd/housectl show it), so crashing between writes covers every state a
// crash can leave.
type crashStore struct {
	blob.Store
	n, writes int
	done      bool
	crashed   bool
}

func (c *crashStore) write(f func() error) error {
	if c.crashed {
		return errCrash
	}
	c.writes++
	if c.writes == c.n {
		c.crashed = true
		if c.done {
			_ = f()
		}
		return errCrash
	}
	return f()
}

func (c *crashStore) Get(ctx context.Context, key string) ([]byte, string, error) {
	if c.crashed {
		return nil, "", errCrash
	}
	return c.Store.Get(ctx, key)
}

func (c *crashStore) List(ctx context.Context, prefix string) ([]blob.Info, error) {
	if c.crashed {
		return nil, errCrash
	}
	return c.Store.List(ctx, prefix)
}

func (c *crashStore) Put(ctx context.Context, key string, data []byte, cond blob.Cond) (string, error) {
	var tag string
	err := c.write(func() (err error) { tag, err = c.Store.Put(ctx, key, data, cond); return err })
	return tag, err
}

func (c *crashStore) Delete(ctx context.Context, key string) error {
	return c.write(func() error { return c.Store.Delete(ctx, key) })
}

// view is what a model's registry says: its committed state.
type view struct {
	versions int
	aliases  map[string]int
	events   int
}

func (v view) String() string {
	return fmt.Sprintf("%d versions, aliases %v, %d events", v.versions, v.aliases, v.events)
}

func viewOf(t *testing.T, g *Registry) view {
	t.Helper()
	m, err := g.Get("california")
	if errors.Is(err, ErrNotFound) {
		return view{aliases: map[string]int{}}
	}
	if err != nil {
		t.Fatalf("after the crash: %v", err)
	}
	return view{versions: len(m.Versions), aliases: maps.Clone(m.Aliases), events: len(m.History)}
}

// scenario is a sequence of registry commands, each a step.
func scenario(ctx context.Context, g *Registry, runs []*tracking.Run) []func() error {
	return []func() error{
		func() error { _, err := g.Register(ctx, runs[0], "california", ""); return err },
		func() error { _, err := g.Register(ctx, runs[1], "california", ""); return err },
		func() error {
			_, err := g.Promote(ctx, "california", "production", 1, PromoteOptions{})
			return err
		},
		func() error {
			_, err := g.Promote(ctx, "california", "production", 2, PromoteOptions{})
			return err
		},
		func() error {
			_, err := g.Promote(ctx, "california", "staging", 1, PromoteOptions{})
			return err
		},
		func() error { _, err := g.Rollback(ctx, "california", "production", ""); return err },
		func() error { _, err := g.Register(ctx, runs[2], "california", ""); return err },
		func() error {
			_, err := g.Promote(ctx, "california", "production", 3, PromoteOptions{})
			return err
		},
	}
}

// A crash at every write of every command leaves the registry as it was
// before the command or as it is after it; every command works on it
// afterwards, and the aliases are what the history replays to (read
// checks that on every call).
func TestCrashAtEveryWrite(t *testing.T) {
	for _, start := range []string{"empty", "format 1, history one move ahead"} {
		t.Run(start, func(t *testing.T) {
			setup := func(t *testing.T) (*Registry, []*tracking.Run) {
				g, runs := newRuns(t, 3)
				if start != "empty" {
					for _, r := range runs[:2] {
						if _, err := g.Register(t.Context(), r, "california", ""); err != nil {
							t.Fatal(err)
						}
					}
					legacy(t, filepath.Join(g.Dir(), "california"), `{"production": 1}`, ev1, ev2)
					runs = append(runs[2:], runs[2], runs[2]) // the scenario registers these
				}
				return g, runs
			}
			// The states a run without crashes passes through.
			g, runs := setup(t)
			var states []view
			states = append(states, viewOf(t, g))
			for i, step := range scenario(t.Context(), g, runs) {
				if err := step(); err != nil {
					t.Fatalf("step %d: %v", i+1, err)
				}
				states = append(states, viewOf(t, g))
			}
			crashes := 0
			for n := 1; ; n++ {
				finished := false
				for _, done := range []bool{false, true} {
					g, runs := setup(t)
					cs := &crashStore{Store: &blob.Dir{Root: g.Dir()}, n: n, done: done}
					g.Blob = cs
					step := 0
					for i, f := range scenario(t.Context(), g, runs) {
						step = i
						if err := f(); errors.Is(err, errCrash) {
							break
						} else if err != nil {
							t.Fatalf("write %d: step %d: %v", n, i+1, err)
						}
					}
					if !cs.crashed {
						finished = true
						break
					}
					crashes++
					// The process is gone; the next one reads the disk.
					g.Blob = nil
					got := viewOf(t, g)
					if !sameView(got, states[step]) && !sameView(got, states[step+1]) {
						t.Fatalf("crash at write %d (done: %v) during step %d left %v; want %v or %v", n, done, step+1, got, states[step], states[step+1])
					}
					// Every command works afterwards.
					for _, r := range runs[:2] {
						if _, err := g.Register(t.Context(), r, "california", ""); err != nil {
							t.Fatalf("crash at write %d: register: %v", n, err)
						}
					}
					if _, err := g.Promote(t.Context(), "california", "canary", 1, PromoteOptions{}); err != nil {
						t.Fatalf("crash at write %d: promote: %v", n, err)
					}
					if _, err := g.Promote(t.Context(), "california", "canary", 2, PromoteOptions{}); err != nil {
						t.Fatalf("crash at write %d: promote: %v", n, err)
					}
					if _, err := g.Rollback(t.Context(), "california", "canary", ""); err != nil {
						t.Fatalf("crash at write %d: rollback: %v", n, err)
					}
					if a, err := g.Alias("california", "canary"); err != nil || a.Version != 1 {
						t.Fatalf("crash at write %d: canary: %v, %v", n, a, err)
					}
					assertNoLeftovers(t, g.Dir())
				}
				if finished {
					break
				}
			}
			if crashes < 2*len(scenario(t.Context(), g, runs)) {
				t.Errorf("only %d crashes injected", crashes)
			}
			t.Logf("%d crashes, each recovered", crashes)
		})
	}
}

func sameView(a, b view) bool {
	return a.versions == b.versions && a.events == b.events && maps.Equal(a.aliases, b.aliases)
}

// assertNoLeftovers fails if the registry holds a temporary file or a
// format-1 history after a locked command.
func assertNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	var left []string
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (filepath.Ext(p) == ".tmp" || e.Name() == "history.jsonl") {
			left = append(left, p)
		}
		return err
	})
	if len(left) > 0 {
		t.Errorf("left behind: %v", slices.Sorted(slices.Values(left)))
	}
}
