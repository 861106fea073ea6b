package input

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/model"
)

func schema(t *testing.T) *Schema {
	t.Helper()
	h := model.Header{Features: []string{"a", "b"}, Training: []model.ColumnSummary{{Name: "a", Min: 0, Max: 10}, {Name: "b", Min: -1, Max: 1}}}
	s, err := NewSchema(h, 0.5, Bounds{"a": {1, 100}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSchema(t *testing.T) {
	s := schema(t)
	// a: training [0, 10] widened by 5 each side, cut by the bound [1, 100].
	if s.Lo[0] != 1 || s.Hi[0] != 15 || s.Lo[1] != -2 || s.Hi[1] != 2 {
		t.Errorf("bounds %v %v", s.Lo, s.Hi)
	}
	if j, ok := s.Index("b"); !ok || j != 1 {
		t.Errorf("Index(b) = %d, %v", j, ok)
	}
	free, _ := NewSchema(model.Header{Features: []string{"a"}, Training: []model.ColumnSummary{{Name: "a", Min: 0, Max: 1}}}, -1, nil)
	if !math.IsInf(free.Lo[0], -1) || !math.IsInf(free.Hi[0], 1) {
		t.Errorf("no training bound: %v %v", free.Lo, free.Hi)
	}
	for _, bad := range []model.Header{{}, {Features: []string{"a", "a"}}} {
		if _, err := NewSchema(bad, 0, nil); err == nil {
			t.Errorf("%v accepted", bad.Features)
		}
	}
}

func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an InvalidError", err)
	}
	return ie.Problems
}

// One policy for JSON values and text cells: numbers only, finite, in
// range; every problem located and typed.
func TestPolicy(t *testing.T) {
	s := schema(t)
	tab := NewTable(s, 10, "body")
	err := tab.Object(NewJSON([]byte(`{"a": "3", "b": null, "c": 1}`)))
	if err != nil {
		t.Fatal(err)
	}
	tab.Text(make([]float64, 2), 0, "x", "row", 1, "a")
	tab.Text(make([]float64, 2), 0, " ", "row", 2, "a")
	tab.Text(make([]float64, 2), 0, "1e999", "row", 3, "a")
	tab.Text(make([]float64, 2), 1, "3", "row", 4, "b")
	tab.Text(make([]float64, 2), 0, "0.5", "row", 5, "a")
	_, err = tab.Done()
	ps := problems(t, err)
	var got []string
	for _, p := range ps {
		got = append(got, p.Type)
	}
	want := []string{NotNum, Null, Extra, NotNum, Null, Finite, TooHigh, TooLow}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("types %v, want %v", got, want)
	}
	if l := ps[0].Loc; len(l) != 2 || l[0] != "body" || l[1] != "a" {
		t.Errorf("loc %v", l)
	}
}

// A table with AllowExtra ignores columns and keys that are not features.
func TestAllowExtra(t *testing.T) {
	tab := NewTable(schema(t), 10)
	tab.AllowExtra = true
	if err := tab.Object(NewJSON([]byte(`{"a": 2, "b": 0, "id": "x"}`)), "row", 1); err != nil {
		t.Fatal(err)
	}
	idx, ok := tab.Header([]string{"id", "b", "a"}, "header")
	if !ok || idx[0] != -1 {
		t.Fatalf("header %v %v", idx, ok)
	}
	if err := tab.TextRow([]string{"x", "0.5", "3"}, []string{"id", "b", "a"}, idx, "row", 2); err != nil {
		t.Fatal(err)
	}
	X, err := tab.Done()
	if err != nil || X.Rows != 2 || X.Col(0)[1] != 3 || X.Col(1)[1] != 0.5 {
		t.Fatalf("%+v %v", X, err)
	}
}

func TestCSV(t *testing.T) {
	tab := NewTable(schema(t), 10, "csv")
	if err := tab.CSV([]byte("\xef\xbb\xbf b ,a\n0.5,2\n-0.5,3\n")); err != nil {
		t.Fatal(err)
	}
	X, err := tab.Done()
	if err != nil || X.Rows != 2 || X.Col(0)[0] != 2 || X.Col(1)[1] != -0.5 {
		t.Fatalf("%+v %v", X, err)
	}
	var se *SyntaxError
	for _, bad := range []string{"", "a,b\n1,\"2\n"} {
		if err := NewTable(schema(t), 10).CSV([]byte(bad)); !errors.As(err, &se) {
			t.Errorf("%q: %v, want a SyntaxError", bad, err)
		}
	}
	tab = NewTable(schema(t), 10, "csv")
	if err := tab.CSV([]byte("a\n2\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Done(); problems(t, err)[0].Type != Missing {
		t.Errorf("a missing column: %v", err)
	}
	tab = NewTable(schema(t), 1, "csv")
	var tm *TooManyError
	if err := tab.CSV([]byte("a,b\n2,0\n3,0\n")); !errors.As(err, &tm) || tm.Limit != 1 {
		t.Errorf("over the limit: %v", err)
	}
}

// The fast path takes exactly what the general path takes.
func TestFastObject(t *testing.T) {
	s := schema(t)
	row := make([]float64, 2)
	for body, want := range map[string]bool{
		`{"a": 2, "b": 0.5}`: true, `{"b":-1e-1,"a":1E1}`: true, `{"a": 2}`: false, `{"a": 2, "b": 0.5, "a": 3}`: false,
		`{"a": +2, "b": 0}`: false, `{"a": .5, "b": 0}`: false, `{"a": 01, "b": 0}`: false, `{"a": 2., "b": 0}`: false,
		`{"a": 2, "b": 9}`: false, `{"a": "2", "b": 0}`: false, `{"a": 2, "b": 0} x`: false, `{"a\u0062": 2}`: false,
	} {
		if got := s.FastObject([]byte(body), row); got != want {
			t.Errorf("%s: %v, want %v", body, got, want)
		}
	}
}

// A category feature takes its labels (as JSON strings or text cells),
// not codes; an unknown label is refused naming the known ones, or is
// missing when the schema says so.
func TestLabels(t *testing.T) {
	h := model.Header{Features: []string{"a", "zone"}, Categories: map[string][]string{"zone": {"north", "south"}},
		Training: []model.ColumnSummary{{Name: "a", Min: 0, Max: 10}, {Name: "zone", Min: 0, Max: 1}, {Name: "y"}}}
	s, err := NewSchema(h, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	tb := NewTable(s, 10, "body")
	row, _ := tb.NewRow()
	tb.Value(row, 1, []byte(`"south"`), "zone")
	tb.Text(row, 0, "3", "a")
	if row[1] != 1 || row[0] != 3 || tb.Err() != nil {
		t.Fatalf("%v %v", row, tb.Err())
	}
	for _, bad := range []string{`"east"`, `1`, `null`} {
		tb := NewTable(s, 10, "body")
		row, _ := tb.NewRow()
		tb.Value(row, 1, []byte(bad), "zone")
		if tb.Err() == nil {
			t.Errorf("%s taken for a label", bad)
		}
	}
	s.UnseenMissing = true
	tb = NewTable(s, 10, "body")
	row, _ = tb.NewRow()
	tb.Text(row, 1, "east", "zone")
	if !math.IsNaN(row[1]) || tb.Err() != nil {
		t.Errorf("an unseen label with UnseenMissing: %v %v", row, tb.Err())
	}
}
