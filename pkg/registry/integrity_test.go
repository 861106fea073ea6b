package registry

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/tracking"
)

// registered makes a registry with two versions and production → 1.
func registered(t *testing.T) (*Registry, []*tracking.Run, string) {
	t.Helper()
	g, runs := newRuns(t, 2)
	for _, r := range runs {
		if _, err := g.Register(t.Context(), r, "california", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Promote(t.Context(), "california", "production", 1, PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	return g, runs, filepath.Join(g.Dir(), "california")
}

// rewrite replaces old with new in a (read-only) file.
func rewrite(t *testing.T, p, old, new string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q:\n%s", p, old, b)
	}
	_ = os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// editJSON decodes a JSON file into v, lets edit change it and writes it
// back as the registry would.
func editJSON[T any](t *testing.T, p string, edit func(*T)) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	edit(&v)
	out, _ := json.MarshalIndent(&v, "", "  ")
	_ = os.Chmod(p, 0o644)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Every hand edit is an integrity error that names the file, for reads
// and for writes, and nothing is written.
func TestHandEditsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
		edit             func(t *testing.T, dir string, runs []*tracking.Run)
	}{
		{"alias to a missing version", "aliases.json", "alias production → version 9, which does not exist", func(t *testing.T, dir string, _ []*tracking.Run) {
			rewrite(t, filepath.Join(dir, "aliases.json"), `"aliases": {"production":1}`, `"aliases": {"production":9}`)
		}},
		{"alias the history never set", "aliases.json", "alias production → version 2, but its history ends at version 1", func(t *testing.T, dir string, _ []*tracking.Run) {
			rewrite(t, filepath.Join(dir, "aliases.json"), `"aliases": {"production":1}`, `"aliases": {"production":2}`)
		}},
		{"history event changed", "aliases.json", "history ends at version 2", func(t *testing.T, dir string, _ []*tracking.Run) {
			rewrite(t, filepath.Join(dir, "aliases.json"), `"from":0,"to":1`, `"from":0,"to":2`)
		}},
		{"alias added without history", "aliases.json", "holds 2 alias(es), the history 1", func(t *testing.T, dir string, _ []*tracking.Run) {
			rewrite(t, filepath.Join(dir, "aliases.json"), `"aliases": {"production":1}`, `"aliases": {"production":1,"staging":2}`)
		}},
		{"newer head format", "aliases.json", "format 3; this housectl reads format 2", func(t *testing.T, dir string, _ []*tracking.Run) {
			rewrite(t, filepath.Join(dir, "aliases.json"), `"format": 2`, `"format": 3`)
		}},
		{"unknown field in a version", "versions/1.json", "unknown field", func(t *testing.T, dir string, _ []*tracking.Run) {
			rewrite(t, filepath.Join(dir, "versions", "1.json"), `"name"`, `"title"`)
		}},
		{"version number changed", "versions/2.json", "version 1 in file 2.json", func(t *testing.T, dir string, _ []*tracking.Run) {
			rewrite(t, filepath.Join(dir, "versions", "2.json"), `"version": 2`, `"version": 1`)
		}},
		// The forgery of issue 17: a better test RMSE written into the
		// version, so that --if-better would promote it.
		{"metric forged", "versions/2.json", "does not match its seal", func(t *testing.T, dir string, _ []*tracking.Run) {
			editJSON(t, filepath.Join(dir, "versions", "2.json"), func(v *Version) { v.Metrics["rmse"] = 0.1 })
		}},
		{"metric forged and resealed", "versions/2.json", "its metrics differ from its run's record", func(t *testing.T, dir string, _ []*tracking.Run) {
			editJSON(t, filepath.Join(dir, "versions", "2.json"), func(v *Version) {
				v.Metrics["rmse"] = 0.1
				v.Seal, _ = v.seal()
			})
		}},
		{"metric forged without a seal", "versions/2.json", "its metrics differ from its run's record", func(t *testing.T, dir string, _ []*tracking.Run) {
			editJSON(t, filepath.Join(dir, "versions", "2.json"), func(v *Version) { v.Metrics["rmse"], v.Seal = 0.1, "" })
		}},
		{"params forged and resealed", "versions/2.json", "its params differ", func(t *testing.T, dir string, _ []*tracking.Run) {
			editJSON(t, filepath.Join(dir, "versions", "2.json"), func(v *Version) { v.Params["max_iter"] = "500"; v.Seal, _ = v.seal() })
		}},
		{"lineage forged and resealed", "versions/2.json", "its lineage differ", func(t *testing.T, dir string, _ []*tracking.Run) {
			editJSON(t, filepath.Join(dir, "versions", "2.json"), func(v *Version) { v.Lineage.Seed = 7; v.Seal, _ = v.seal() })
		}},
		{"artifact checksum forged and resealed", "versions/2.json", "its artifact and its sha256 differ", func(t *testing.T, dir string, _ []*tracking.Run) {
			editJSON(t, filepath.Join(dir, "versions", "2.json"), func(v *Version) { v.SHA256 = strings.Repeat("0", 64); v.Seal, _ = v.seal() })
		}},
		{"run's metric edited", "versions/2.json", "its metrics differ from its run's record", func(t *testing.T, _ string, runs []*tracking.Run) {
			editJSON(t, filepath.Join(runs[1].Dir(), tracking.RunFile), func(r *map[string]any) {
				(*r)["metrics"].(map[string]any)["rmse"] = 0.1
				delete(*r, "seal")
			})
		}},
		{"run gone", "versions/2.json", "its run", func(t *testing.T, _ string, runs []*tracking.Run) {
			if err := os.RemoveAll(runs[1].Dir()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, runs, dir := registered(t)
			tc.edit(t, dir, runs)
			before := snapshot(t, dir)
			var ce *CorruptError
			_, err := g.Get("california")
			if !errors.As(err, &ce) || ce.Path != filepath.Join(dir, filepath.FromSlash(tc.file)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Get: %v\nwant a CorruptError of %s saying %q", err, tc.file, tc.want)
			}
			if _, err := g.Promote(t.Context(), "california", "production", 2, PromoteOptions{}); !errors.As(err, &ce) {
				t.Errorf("Promote: %v, want a CorruptError", err)
			}
			if _, err := g.Rollback(t.Context(), "california", "production", ""); !errors.As(err, &ce) {
				t.Errorf("Rollback: %v, want a CorruptError", err)
			}
			if _, err := g.Register(t.Context(), runs[0], "california", ""); !errors.As(err, &ce) {
				t.Errorf("Register: %v, want a CorruptError", err)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("a refused command changed the registry:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// snapshot renders a model directory's files (not the lock).
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() == ".lock" {
			return err
		}
		c, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		b.WriteString("== " + rel + "\n" + string(c) + "\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// legacy rewrites a model in format 1: versions without seals,
// aliases.json as a bare map, and history.jsonl with the given lines.
func legacy(t *testing.T, dir, aliases string, history ...string) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(dir, "versions"))
	for _, e := range ents {
		editJSON(t, filepath.Join(dir, "versions", e.Name()), func(v *Version) { v.Seal = "" })
	}
	if aliases == "" {
		_ = os.Remove(filepath.Join(dir, "aliases.json"))
	} else if err := os.WriteFile(filepath.Join(dir, "aliases.json"), []byte(aliases), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte(strings.Join(history, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	ev1 = `{"time":"2026-11-28T12:00:05Z","user":"ana","action":"promote","alias":"production","from":0,"to":1}` + "\n"
	ev2 = `{"time":"2026-11-28T12:00:06Z","user":"ana","action":"promote","alias":"production","from":1,"to":2}` + "\n"
)

// Format 1 is read, the two states its crashes left are recovered, the
// next locked command converts it to format 2, and real hand edits are
// still refused.
func TestLegacyFormat(t *testing.T) {
	for _, tc := range []struct {
		name       string
		aliases    string
		history    []string
		production int    // after recovery; 0: unset
		events     int    // after recovery
		corrupt    string // a hand edit: refused with this message
	}{
		{name: "consistent", aliases: `{"production": 2}`, history: []string{ev1, ev2}, production: 2, events: 2},
		{name: "history one move ahead (crash before the rename)", aliases: `{"production": 1}`, history: []string{ev1, ev2}, production: 2, events: 2},
		{name: "first move, no aliases.json yet", aliases: "", history: []string{ev1}, production: 1, events: 1},
		{name: "part-written last line (crash during the append)", aliases: `{"production": 1}`, history: []string{ev1, `{"time":"2026-11-28T12:00:06Z","us`}, production: 1, events: 1},
		{name: "alias to a missing version", aliases: `{"production": 9}`, history: []string{ev1}, corrupt: "alias production → version 9, which does not exist"},
		{name: "history two moves ahead", aliases: `{}`, history: []string{ev1, ev2}, corrupt: "holds 0 alias(es), the history 1"},
		{name: "alias the history never set", aliases: `{"production": 2}`, history: []string{ev1}, corrupt: "but its history ends at version 1"},
		{name: "broken line in the middle", aliases: `{"production": 2}`, history: []string{ev1, "{not json\n", ev2}, corrupt: "line 2"},
		{name: "complete but invalid last line", aliases: `{"production": 1}`, history: []string{ev1, "{not json\n"}, corrupt: "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, runs, dir := registered(t)
			legacy(t, dir, tc.aliases, tc.history...)
			m, err := g.Get("california")
			if tc.corrupt != "" {
				var ce *CorruptError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.corrupt) {
					t.Fatalf("Get: %v, want a CorruptError saying %q", err, tc.corrupt)
				}
				before := snapshot(t, dir)
				if _, err := g.Register(t.Context(), runs[0], "california", ""); !errors.As(err, &ce) {
					t.Errorf("Register: %v, want a CorruptError", err)
				}
				if snapshot(t, dir) != before {
					t.Error("a refused command changed the registry")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Aliases["production"] != tc.production || len(m.History) != tc.events {
				t.Fatalf("read: aliases %v, %d events; want production → %d, %d events", m.Aliases, len(m.History), tc.production, tc.events)
			}
			if _, err := os.Stat(filepath.Join(dir, "history.jsonl")); err != nil {
				t.Fatal("a read changed the files")
			}
			// A locked command that moves nothing converts the model.
			if _, err := g.Promote(t.Context(), "california", "production", tc.production, PromoteOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "history.jsonl")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("history.jsonl is still there: %v", err)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "aliases.json"))
			if !strings.Contains(string(b), `"format": 2`) {
				t.Errorf("aliases.json not converted:\n%s", b)
			}
			m2, err := g.Get("california")
			if err != nil || m2.Aliases["production"] != tc.production || len(m2.History) != tc.events {
				t.Fatalf("after conversion: %+v, %v", m2, err)
			}
			// And the model works on: a move and a rollback.
			if _, err := g.Promote(t.Context(), "california", "staging", 1, PromoteOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A history.jsonl that a conversion left behind (a crash between writing
// the format-2 head and deleting it) is ignored, then deleted.
func TestLeftoverLegacyHistory(t *testing.T) {
	g, _, dir := registered(t)
	if err := os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte(ev1), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := g.Get("california")
	if err != nil || m.Aliases["production"] != 1 || len(m.History) != 1 {
		t.Fatalf("Get: %+v, %v", m, err)
	}
	if _, err := g.Promote(t.Context(), "california", "production", 2, PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "history.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("history.jsonl is still there: %v", err)
	}
}

// A locked command removes the temporary files of interrupted writes.
func TestStaleTemporaryFilesAreRemoved(t *testing.T) {
	g, runs, dir := registered(t)
	for _, p := range []string{filepath.Join(dir, ".aliases.json.123.tmp"), filepath.Join(dir, "versions", ".3.json.456.tmp")} {
		if err := os.WriteFile(p, []byte("part"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Get("california"); err != nil {
		t.Fatalf("a temporary file disturbs a read: %v", err)
	}
	if _, err := g.Register(t.Context(), runs[0], "california", ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, ".aliases.json.123.tmp"), filepath.Join(dir, "versions", ".3.json.456.tmp")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there", p)
		}
	}
}
