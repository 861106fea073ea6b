package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.txt")
	if err := WriteFile(p, []byte("one"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o640); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "two" || st.Mode().Perm() != 0o640 {
		t.Errorf("content %q mode %v", b, st.Mode())
	}
	if names := entries(t, filepath.Dir(p)); len(names) != 1 {
		t.Errorf("temporary files left: %v", names)
	}
}

func TestAbortLeavesTargetUntouched(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	f.Abort()
	f.Abort() // idempotent
	if err := f.Commit(); err == nil {
		t.Error("commit after abort succeeded")
	}
	b, _ := os.ReadFile(p)
	if string(b) != "old" {
		t.Errorf("target changed to %q", b)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("temporary files left: %v", names)
	}
}

func TestCommitNewIsExclusive(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v", "1.json")
	create := func(content string) error {
		f, err := Create(p, 0o444)
		if err != nil {
			return err
		}
		defer f.Abort()
		if _, err := f.WriteString(content); err != nil {
			return err
		}
		return f.CommitNew()
	}
	if err := create("first"); err != nil {
		t.Fatal(err)
	}
	if err := create("second"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: %v, want fs.ErrExist", err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "first" || st.Mode().Perm() != 0o444 {
		t.Errorf("content %q mode %v", b, st.Mode())
	}
	if names := entries(t, filepath.Dir(p)); len(names) != 1 {
		t.Errorf("temporary files left: %v", names)
	}
	if !IsTemp(".1.json.123.tmp") || IsTemp("1.json") || IsTemp(".lock") {
		t.Error("IsTemp")
	}
}
