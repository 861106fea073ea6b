package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/housectl/housectl/internal/testenv"
)

// Géron's housing.csv end to end, as make demo-handson runs it, on a
// slice made from it at test time (every 25th row, the rows with an empty
// total_bedrooms among them): the schema proposed, then validate, train,
// register, promote and predict with labels and an empty cell, with no
// preprocessing by hand.
func TestHandsonSlice(t *testing.T) {
	f, err := os.Open(testenv.GeronCSV(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	empty := 0
	for i := 0; sc.Scan(); i++ {
		line := sc.Text()
		if i == 0 || i%25 == 0 || strings.Contains(line, ",,") && empty < 40 {
			if i > 0 && strings.Contains(line, ",,") {
				empty++
			}
			b.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	p := &proj{t: t, bin: housectlBin(t), dir: t.TempDir(), env: append(chaosEnv(t), "HOUSECTL_TRAIN_CV_FOLDS=0")}
	if err := os.WriteFile(filepath.Join(p.dir, "slice.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p.must("init", "--from-csv", "slice.csv", "--target", "median_house_value")
	cfg, _ := os.ReadFile(filepath.Join(p.dir, "configs", "housectl.yaml"))
	for _, want := range []string{"{name: total_bedrooms, type: number,", "nullable: true}", "{name: ocean_proximity, type: category, values: [<1H OCEAN, INLAND,"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("the proposed schema lacks %q", want)
		}
	}
	p.must("data", "validate")
	p.must("train", "--register", "slice", "--promote", "production")
	rows := "longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,ocean_proximity\n" +
		"-122.23,37.88,41,880,129,322,126,8.3252,NEAR BAY\n" +
		"-121.5,38.6,20,2000,,900,350,3.2,INLAND\n"
	if err := os.WriteFile(filepath.Join(p.dir, "rows.csv"), []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	out := p.must("predict", "--run", "models:/slice@production", "--input", "rows.csv")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "-122.23,37.88,41,880,129,322,126,8.3252,NEAR BAY,") || !strings.HasPrefix(lines[2], "-121.5,38.6,20,2000,,900,350,3.2,INLAND,") {
		t.Errorf("predictions:\n%s", out)
	}
}
