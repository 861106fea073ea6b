package dvc

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	treeOnce sync.Once
	treeDir  string
)

// benchTree is 10,000 files of 4 KiB in 100 directories, made once per run.
func benchTree(b *testing.B) string {
	treeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "housectl-bench-tree-")
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 4096)
		for d := range 100 {
			sub := filepath.Join(dir, "tree", fmt.Sprintf("d%02d", d))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				b.Fatal(err)
			}
			for f := range 100 {
				_, _ = rand.Read(buf)
				if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d.bin", f)), buf, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
		treeDir = dir
	})
	return treeDir
}

// BenchmarkHashTree is a first hash: no state.
func BenchmarkHashTree(b *testing.B) {
	root := benchTree(b)
	h := &Hasher{Root: root}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Dir(b.Context(), filepath.Join(root, "tree")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashTreeWithState is a re-hash of an unchanged tree: every file
// is answered by the state table.
func BenchmarkHashTreeWithState(b *testing.B) {
	root := benchTree(b)
	st := OpenState(filepath.Join(b.TempDir(), "state"))
	h := &Hasher{Root: root, State: st}
	if _, err := h.Dir(b.Context(), filepath.Join(root, "tree")); err != nil {
		b.Fatal(err)
	}
	if err := st.Save(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Dir(b.Context(), filepath.Join(root, "tree")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatusUnchanged is `data status` of a tracked, unchanged tree:
// state loaded from disk, every file answered by it, the cache checked.
func BenchmarkStatusUnchanged(b *testing.B) {
	src := benchTree(b)
	root := b.TempDir()
	if _, err := Init(root); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(filepath.Join(src, "tree"), filepath.Join(root, "tree")); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.Rename(filepath.Join(root, "tree"), filepath.Join(src, "tree")) })
	r, err := Open(root)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Add(b.Context(), []string{filepath.Join(root, "tree")}, AddOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(root) // a new process: the state is read from disk
		if err != nil {
			b.Fatal(err)
		}
		st, err := r.Status(b.Context(), nil, 0)
		if err != nil || len(st) != 0 {
			b.Fatal(st, err)
		}
	}
}
