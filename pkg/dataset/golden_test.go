package dataset_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenDirtyReport checks the whole report for a file with one of each
// problem against testdata/csv/dirty.report.golden.
func TestGoldenDirtyReport(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "csv")
	f, err := os.Open(filepath.Join(dir, "dirty.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, rep, err := dataset.Read(f, dataset.ReadOptions{Schema: config.Defaults().Schema, Name: "dirty.csv"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join(dir, "dirty.report.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (run with -update after checking):\n%s", golden, got)
	}
}
