package dataset_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/dataset"
)

func infer(t *testing.T, csv, target string) *dataset.Inferred {
	t.Helper()
	inf, err := dataset.Infer(strings.NewReader(csv), dataset.InferOptions{Target: target, Name: "t.csv", MaxCategories: 5})
	if err != nil {
		t.Fatal(err)
	}
	return inf
}

func column(t *testing.T, inf *dataset.Inferred, name string) config.Column {
	t.Helper()
	c, ok := inf.Schema.Column(name)
	if !ok {
		t.Fatalf("no column %s in %+v", name, inf.Schema.Columns)
	}
	return c
}

// Géron's housing.csv: nine numbers, total_bedrooms nullable (207 empty
// cells), ocean_proximity a category of five labels; the proposal loads as
// a configuration and the file validates against it.
func TestInferGeron(t *testing.T) {
	f, err := os.Open(testenv.GeronCSV(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inf, err := dataset.Infer(f, dataset.InferOptions{Target: "median_house_value", Name: "geron_housing.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if inf.Rows != 20640 || len(inf.Schema.Columns) != 10 || len(inf.Warnings) != 0 {
		t.Fatalf("%d rows, %d columns, warnings %v", inf.Rows, len(inf.Schema.Columns), inf.Warnings)
	}
	tb := column(t, inf, "total_bedrooms")
	if tb.Type != config.TypeNumber || !tb.Nullable || *tb.Min != 1 || *tb.Max != 6445 {
		t.Errorf("total_bedrooms: %+v", tb)
	}
	op := column(t, inf, "ocean_proximity")
	if op.Type != config.TypeCategory || !slices.Equal(op.Values, []string{"<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND"}) {
		t.Errorf("ocean_proximity: %+v", op)
	}
	y, err := config.SchemaYAML(inf.Schema)
	if err != nil {
		t.Fatal(err)
	}
	l, err := config.LoadReader(strings.NewReader("version: 1\n"+string(y)), "inferred.yaml", config.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("the proposal does not load: %v\n%s", err, y)
	}
	g, _ := os.Open(testenv.GeronCSV(t))
	defer g.Close()
	if _, rep, err := dataset.Read(g, dataset.ReadOptions{Schema: l.Config.Schema, Name: "geron"}); err != nil || !rep.OK() {
		t.Errorf("Géron's file against its own proposal: %v %+v", err, rep.Problems)
	}
}

// The awkward files: mixed types, quoted fields with commas, CRLF, a BOM,
// an all-empty column, ids, constants, free text, one row, 200 columns.
func TestInferAwkwardFiles(t *testing.T) {
	t.Run("quotes, CRLF, BOM", func(t *testing.T) {
		inf := infer(t, "\xef\xbb\xbfid,\"city, state\",price,note\r\n1,\"Paris, TX\",3.5,\r\n2,\"Austin, TX\",4,\"a \"\"b\"\"\"\r\n3,\"Paris, TX\",2.25,\r\n", "price")
		if c := column(t, inf, "id"); !c.Ignore {
			t.Errorf("id counting up: %+v", c)
		}
		if c := column(t, inf, "city, state"); c.Type != config.TypeCategory || !slices.Equal(c.Values, []string{"Paris, TX", "Austin, TX"}) {
			t.Errorf("quoted labels with commas: %+v", c)
		}
		if c := column(t, inf, "note"); !c.Nullable || c.Ignore {
			t.Errorf("note: %+v", c)
		}
		if c := column(t, inf, "price"); *c.Min != 2.25 || *c.Max != 4 {
			t.Errorf("price: %+v", c)
		}
	})
	t.Run("mixed, empty, constant, free text", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("mixed,empty,constant,text,user_id,y\n")
		for i := range 12 {
			mixed := fmt.Sprint(i % 4)
			if i%3 == 0 {
				mixed = "n/a"
			}
			fmt.Fprintf(&b, "%s,,7,word%d,%d,%d\n", mixed, i, 1000-i*7, i)
		}
		inf := infer(t, b.String(), "y")
		if c := column(t, inf, "mixed"); c.Type != config.TypeCategory || c.Ignore {
			t.Errorf("mixed: %+v", c)
		}
		for _, name := range []string{"empty", "constant", "text", "user_id"} {
			if c := column(t, inf, name); !c.Ignore {
				t.Errorf("%s should be ignored: %+v", name, c)
			}
		}
		if len(inf.Warnings) != 5 { // mixed, and the four ignored
			t.Errorf("warnings: %q", inf.Warnings)
		}
	})
	t.Run("one row", func(t *testing.T) {
		inf := infer(t, "a,b,y\n1,x,2\n", "y")
		if inf.Rows != 1 || column(t, inf, "a").Ignore {
			t.Errorf("%+v", inf)
		}
	})
	t.Run("200 columns", func(t *testing.T) {
		var b strings.Builder
		for j := range 200 {
			fmt.Fprintf(&b, "c%d,", j)
		}
		b.WriteString("y\n")
		for i := range 30 {
			for j := range 200 {
				fmt.Fprintf(&b, "%d.5,", (i+j)%17)
			}
			fmt.Fprintf(&b, "%d\n", i)
		}
		inf := infer(t, b.String(), "y")
		if len(inf.Schema.Features()) != 200 {
			t.Errorf("%d features of 200", len(inf.Schema.Features()))
		}
	})
	for _, tt := range []struct{ name, csv, target, want string }{
		{"no target", "a,b\n1,2\n", "y", `has no column "y" to predict: its columns are a, b`},
		{"text target", "a,y\n1,x\n2,z\n", "y", `the target "y" is not numeric`},
		{"empty", "", "y", "is empty"},
		{"header only", "a,y\n", "y", "no data rows"},
		{"ragged", "a,y\n1,2,3\n", "y", "line 2 has 3 fields, the header 2"},
		{"duplicate header", "a,a,y\n1,2,3\n", "y", `names "a" twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dataset.Infer(strings.NewReader(tt.csv), dataset.InferOptions{Target: tt.target, Name: "t.csv"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
