package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dvc"
	"github.com/housectl/housectl/pkg/tracking"
)

// Two runs scored on different rows are rescored only on rows neither
// trained on: the intersection of their held-out rows, from an unchanged
// data file.
func TestCommonTestSet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.csv")
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := range 2000 {
		b.WriteString("1." + string(rune('0'+i%10)) + "," + string(rune('0'+i%7)) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	id, _, err := dvc.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	schema := config.Schema{Target: "y", Duplicates: config.DuplicatesAllow, Columns: []config.Column{{Name: "x", Type: config.TypeNumber}, {Name: "y", Type: config.TypeNumber}}}
	a := tracking.Lineage{DataPath: path, DataMD5: string(id), Seed: 1, TestFraction: 0.2}
	c := a
	c.Seed = 2
	// 20 % of 20 % of 2,000 rows is about 80: too few to judge by.
	if _, err := CommonTestSet(a, c, schema); err == nil || !strings.Contains(err.Error(), "held out by both") {
		t.Errorf("a small overlap: %v", err)
	}
	// 30 % of 30 %: about 180.
	a.TestFraction, c.TestFraction = 0.3, 0.3
	d, err := CommonTestSet(a, c, schema)
	if err != nil || d.N < 100 || d.N > 260 {
		t.Fatalf("%v rows, %v", d, err)
	}
	same, err := CommonTestSet(a, a, schema)
	if err != nil || same.N != 600 {
		t.Errorf("a run with itself: %v, %v", same, err)
	}
	c.DataMD5 = "0123456789abcdef0123456789abcdef"
	if _, err := CommonTestSet(a, c, schema); err == nil || !strings.Contains(err.Error(), "no rows in common") {
		t.Errorf("different data: %v", err)
	}
	if err := os.WriteFile(path, []byte("x,y\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CommonTestSet(a, a, schema); err == nil || !strings.Contains(err.Error(), "restore that file") {
		t.Errorf("a changed file: %v", err)
	}
}
