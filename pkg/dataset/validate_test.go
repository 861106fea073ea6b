package dataset_test

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
)

func fp(v float64) *float64 { return &v }

var testSchema = config.Schema{
	Target:     "y",
	Duplicates: config.DuplicatesError,
	Columns: []config.Column{
		{Name: "a", Type: config.TypeNumber, Min: fp(0), Max: fp(10)},
		{Name: "b", Type: config.TypeNumber},
		{Name: "c", Type: config.TypeCategory, Values: []string{"x", "y z"}},
		{Name: "n", Type: config.TypeNumber, Nullable: true},
		{Name: "y", Type: config.TypeNumber},
	},
}

func read(t *testing.T, in string, s config.Schema) (*dataset.Frame, *dataset.Report) {
	t.Helper()
	f, rep, err := dataset.Read(strings.NewReader(in), dataset.ReadOptions{Schema: s, Name: "t.csv"})
	if err != nil {
		t.Fatal(err)
	}
	return f, rep
}

func TestReadCleanIsColumnMajor(t *testing.T) {
	// Columns in another order than the schema: matched by name.
	f, rep := read(t, "y,c,a,b,n\n1.5,x,2,-3,\n2.5,\"y z\",3,4e2,7\n", testSchema)
	if !rep.OK() || rep.Warnings != 0 || rep.Rows != 2 {
		t.Fatalf("report = %+v", rep)
	}
	want := []float64{2, 3, -3, 400, 0, 1, math.NaN(), 7, 1.5, 2.5}
	if f.Rows != 2 || len(f.Data) != len(want) {
		t.Fatalf("frame %+v", f)
	}
	for i := range want {
		if f.Data[i] != want[i] && !(math.IsNaN(want[i]) && math.IsNaN(f.Data[i])) {
			t.Errorf("Data[%d] = %v, want %v", i, f.Data[i], want[i])
		}
	}
	if got := f.Col(f.Index("y")); got[0] != 1.5 || got[1] != 2.5 {
		t.Errorf("Col(y) = %v", got)
	}
	d := dataset.FromFrame(f, "y")
	if strings.Join(d.Features, ",") != "a,b,c,n" || d.N != 2 || d.Feature(1)[1] != 400 || d.Y[1] != 2.5 {
		t.Errorf("dataset = %+v", d)
	}
	s := d.Subset([]int{1})
	if s.N != 1 || s.Feature(0)[0] != 3 || s.Y[0] != 2.5 {
		t.Errorf("subset = %+v", s)
	}
}

func TestReadReportsEveryProblem(t *testing.T) {
	in := strings.Join([]string{
		"a,b,c,y,extra,a",  // line 1: extra column, repeated a, missing n
		"1,2,x,3,0,1",      // row 1 fine
		"11,2,x,3,0,1",     // row 2: a out of range
		",abc,w,NaN,0,1",   // row 3: a empty, b non-numeric, c unknown, y NaN
		"1,2",              // row 4: field count
		"1,inf,x,-Inf,0,1", // row 5: two not finite
		"1,2,x,3,0,1",      // row 6: duplicate of row 1
	}, "\n") + "\n"
	_, rep := read(t, in, testSchema)
	type key struct {
		kind, col string
		row, line int
	}
	got := map[key]bool{}
	for _, p := range rep.Problems {
		got[key{p.Kind, p.Column, p.Row, p.Line}] = true
	}
	want := []key{
		{dataset.KindExtraColumn, "extra", 0, 1},
		{dataset.KindDuplicateColumn, "a", 0, 1},
		{dataset.KindMissingColumn, "n", 0, 1},
		{dataset.KindOutOfRange, "a", 2, 3},
		{dataset.KindEmptyCell, "a", 3, 4},
		{dataset.KindNonNumeric, "b", 3, 4},
		{dataset.KindUnknownCategory, "c", 3, 4},
		{dataset.KindNotFinite, "y", 3, 4},
		{dataset.KindFieldCount, "", 4, 5},
		{dataset.KindNotFinite, "b", 5, 6},
		{dataset.KindNotFinite, "y", 5, 6},
		{dataset.KindDuplicateRow, "", 6, 7},
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing problem %+v", w)
		}
	}
	if len(rep.Problems) != len(want) {
		for _, p := range rep.Problems {
			t.Log(p)
		}
		t.Errorf("%d problems, want %d", len(rep.Problems), len(want))
	}
	if rep.OK() || rep.Errors != len(want) || rep.Counts[dataset.KindNotFinite] != 3 {
		t.Errorf("errors %d, counts %v", rep.Errors, rep.Counts)
	}
	for _, p := range rep.Problems {
		if p.Kind == dataset.KindDuplicateRow && !strings.Contains(p.Message, "repeats row 1 (line 2)") {
			t.Errorf("duplicate message %q", p.Message)
		}
		if p.Kind == dataset.KindOutOfRange && !strings.Contains(p.Message, "[0, 10]") {
			t.Errorf("range message %q", p.Message)
		}
	}
}

func TestReadDuplicatePolicyAndLimit(t *testing.T) {
	in := "a,b,c,n,y\n1,2,x,,3\n1,2,x,,3\n1,2,x,,3\n"
	for _, tt := range []struct {
		policy           string
		errors, warnings int
	}{
		{config.DuplicatesError, 2, 0},
		{config.DuplicatesWarn, 0, 2},
		{config.DuplicatesAllow, 0, 0},
	} {
		s := testSchema
		s.Duplicates = tt.policy
		_, rep := read(t, in, s)
		if rep.Errors != tt.errors || rep.Warnings != tt.warnings {
			t.Errorf("%s: errors %d warnings %d", tt.policy, rep.Errors, rep.Warnings)
		}
	}
	// The limit is per kind: the first two of each are listed, all counted.
	_, rep, err := dataset.Read(strings.NewReader("a,b,c,n,y\n-1,-1,q,,x\n-1,-1,q,,x\n-1,-1,q,,x\n"), dataset.ReadOptions{Schema: testSchema, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, p := range rep.Problems {
		kinds[p.Kind]++
	}
	if !rep.Truncated || rep.Counts[dataset.KindOutOfRange] != 3 || kinds[dataset.KindOutOfRange] != 2 || rep.Counts[dataset.KindDuplicateRow] != 2 || kinds[dataset.KindNonNumeric] != 2 {
		t.Errorf("limit: kept %v of %v, truncated %v", kinds, rep.Counts, rep.Truncated)
	}
	for k, n := range kinds {
		if n > 2 {
			t.Errorf("%d problems of kind %s listed, limit 2", n, k)
		}
	}
}

func TestReadEmptyInputs(t *testing.T) {
	for name, in := range map[string]string{"empty": "", "header only": "a,b,c,n,y\n"} {
		_, rep := read(t, in, testSchema)
		if rep.OK() || rep.Counts[dataset.KindNoRows] != 1 {
			t.Errorf("%s: %+v", name, rep)
		}
	}
}

func TestCaliforniaIsCleanUnderDefaultSchema(t *testing.T) {
	f, rep := read(t, string(testenv.CaliforniaFrame(t)), config.Defaults().Schema)
	if !rep.OK() || rep.Warnings != 0 || rep.Rows != 20640 || f.Rows != 20640 || len(f.Names) != 9 {
		t.Fatalf("report %s, problems %v", rep.Summary(), rep.Problems)
	}
	// Spot values: the first row as scikit-learn derives it.
	if got := f.Col(f.Index("AveRooms"))[0]; got != 880.0/126.0 {
		t.Errorf("AveRooms[0] = %v", got)
	}
	if got := f.Col(f.Index("MedHouseVal"))[20639]; got != 89400.0/100000 {
		t.Errorf("MedHouseVal[last] = %v", got)
	}
}

func TestGeronDirtyFile(t *testing.T) {
	l, err := config.Load(config.LoadOptions{Path: "../../configs/handson-housing.yaml", LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(testenv.GeronCSV(t))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	_, rep, err := dataset.Read(fh, dataset.ReadOptions{Schema: l.Config.Schema, Name: "geron_housing.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 20640 || rep.Errors != 207 || rep.Counts[dataset.KindEmptyCell] != 207 || len(rep.Counts) != 1 {
		t.Fatalf("%s: %v", rep.Summary(), rep.Counts)
	}
	for _, p := range rep.Problems {
		if p.Column != "total_bedrooms" || p.Line != p.Row+1 {
			t.Errorf("unexpected problem %v", p)
		}
	}
	// The default schema (scikit-learn's columns) rejects the file's header.
	fh2, _ := os.Open(testenv.GeronCSV(t))
	defer fh2.Close()
	_, rep, _ = dataset.Read(fh2, dataset.ReadOptions{Schema: config.Defaults().Schema})
	if rep.Counts[dataset.KindMissingColumn] != 9 || rep.Counts[dataset.KindExtraColumn] != 10 {
		t.Errorf("default schema on geron: %v", rep.Counts)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/good.csv"
	bad := dir + "/bad.csv"
	_ = os.WriteFile(good, []byte("a,b,c,n,y\n1,2,x,,3\n4,5,y z,6,7\n"), 0o644)
	_ = os.WriteFile(bad, []byte("a,b,c,n,y\n1,oops,x,,3\n"), 0o644)
	d, _, err := dataset.Load(good, testSchema)
	if err != nil || d.N != 2 {
		t.Fatalf("Load(good) = %v, %v", d, err)
	}
	_, _, err = dataset.Load(bad, testSchema)
	if err == nil || !strings.Contains(err.Error(), `row 1 (line 2), column b: "oops" is not a number`) ||
		!strings.Contains(err.Error(), "housectl data validate") {
		t.Errorf("Load(bad) err = %v", err)
	}
	_, _, err = dataset.Load(dir+"/none.csv", testSchema)
	if err == nil || !strings.Contains(err.Error(), "housectl data fetch") {
		t.Errorf("Load(missing) err = %v", err)
	}
}

func BenchmarkLoadCalifornia(b *testing.B) {
	csv := testenv.CaliforniaFrame(b)
	path := b.TempDir() + "/california.csv"
	if err := os.WriteFile(path, csv, 0o644); err != nil {
		b.Fatal(err)
	}
	schema := config.Defaults().Schema
	b.SetBytes(int64(len(csv)))
	b.ReportAllocs()
	for b.Loop() {
		d, _, err := dataset.Load(path, schema)
		if err != nil || d.N != 20640 {
			b.Fatal(err)
		}
	}
}

func ExampleTrainTestSplit() {
	s, _ := dataset.TrainTestSplit(10, 0.25, 42)
	fmt.Println(len(s.Train), len(s.Test))
	// Output: 7 3
}

// A million rows that all repeat one row: the report lists the first
// problems of each kind and counts the rest, so its size does not grow
// with the file.
func TestMillionDuplicatesKeepABoundedReport(t *testing.T) {
	if testing.Short() {
		t.Skip("a million rows")
	}
	const rows = 1000000
	var b strings.Builder
	b.WriteString("a,b,c,n,y\n")
	for range rows {
		b.WriteString("1,2,x,,3\n")
	}
	s := testSchema
	s.Duplicates = config.DuplicatesError
	_, rep, err := dataset.Read(strings.NewReader(b.String()), dataset.ReadOptions{Schema: s, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[dataset.KindDuplicateRow] != rows-1 || len(rep.Problems) > 100*len(rep.Counts) || !rep.Truncated {
		t.Errorf("%d problems listed, counts %v", len(rep.Problems), rep.Counts)
	}
}

// An ignored column must be in the header and is not read: an id column
// with text in it is no problem, and no feature.
func TestIgnoredColumn(t *testing.T) {
	s := config.Schema{Target: "y", Duplicates: config.DuplicatesError, Columns: []config.Column{
		{Name: "id", Type: config.TypeNumber, Ignore: true}, {Name: "a", Type: config.TypeNumber}, {Name: "y", Type: config.TypeNumber}}}
	f, rep, err := dataset.Read(strings.NewReader("id,a,y\nx-1,1,2\nx-2,3,4\n"), dataset.ReadOptions{Schema: s, Name: "t.csv"})
	if err != nil || !rep.OK() || !slices.Equal(f.Names, []string{"a", "y"}) {
		t.Fatalf("%+v %+v %v", f, rep, err)
	}
	_, rep, _ = dataset.Read(strings.NewReader("a,y\n1,2\n"), dataset.ReadOptions{Schema: s, Name: "t.csv"})
	if rep.OK() || rep.Problems[0].Kind != dataset.KindMissingColumn || rep.Problems[0].Column != "id" {
		t.Errorf("a missing ignored column: %+v", rep.Problems)
	}
}
