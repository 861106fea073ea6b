package pyfmt

import (
	"encoding/json"
	"maps"
	"math"
	"testing"
)

// Each want is what Python 3.11.2 (Debian's /usr/bin/python3) printed for
// repr() of the same value:
//
//	/usr/bin/python3 -c 'for x in [1e-07, 1.0, ...]: print(repr(x))'
func TestFloatAsPython(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{1e-07, "1e-07"},
		{1.0, "1.0"},
		{0.0001, "0.0001"},
		{1e-05, "1e-05"},
		{1e+16, "1e+16"},
		{1000000000000000.0, "1000000000000000.0"},
		{1.2345678901234568e+17, "1.2345678901234568e+17"},
		{0.1, "0.1"},
		{-0.5, "-0.5"},
		{2.5e-10, "2.5e-10"},
		{1.5e+300, "1.5e+300"},
		{-1e+22, "-1e+22"},
		{5e-324, "5e-324"},
		{1.7976931348623157e+308, "1.7976931348623157e+308"},
		{100.0, "100.0"},
		{0.30000000000000004, "0.30000000000000004"},
		{12345.678, "12345.678"},
		{math.Copysign(0, -1), "-0.0"},
		{3.0, "3.0"},
		{0.01, "0.01"},
		{9999999999999998.0, "9999999999999998.0"},
		{1234567890123456.8, "1234567890123456.8"},
		{0.001234, "0.001234"},
		{1e+22, "1e+22"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	} {
		if got := Float(c.v); got != c.want {
			t.Errorf("Float(%v) = %s, Python prints %s", c.v, got, c.want)
		}
	}
}

// The wants are Python 3.11.2's repr() of the same strings.
func TestReprAsPython(t *testing.T) {
	for _, c := range []struct{ s, want string }{
		{"abc", "'abc'"},
		{"it's", "\"it's\""},
		{"say \"hi\"", "'say \"hi\"'"},
		{"both ' and \"", "'both \\' and \"'"},
		{"back\\slash", "'back\\\\slash'"},
		{"tab\there", "'tab\\there'"},
		{"line\nbreak", "'line\\nbreak'"},
		{"\u0000\u007f\u001b", "'\\x00\\x7f\\x1b'"},
		{"caf\u00e9", "'caf\u00e9'"},
		{"\u672c\u756a", "'\u672c\u756a'"},
		{"\u200b", "'\\u200b'"},
		{"\u2028", "'\\u2028'"},
		{"😀", "'😀'"},
		{"\u00a0nbsp", "'\\xa0nbsp'"},
		{" space", "' space'"},
		{"\u0085", "'\\x85'"},
	} {
		if got := Repr(c.s); got != c.want {
			t.Errorf("Repr(%q) = %s, Python prints %s", c.s, got, c.want)
		}
	}
	if got := List([]string{"a", "b"}); got != "['a', 'b']" {
		t.Errorf("List = %s", got)
	}
	if got := List(nil); got != "[]" {
		t.Errorf("List(nil) = %s", got)
	}
	if got := Set(nil); got != "set()" {
		t.Errorf("Set(nil) = %s", got)
	}
	if got := Set([]string{"columns", "data"}); got != "{'columns', 'data'}" {
		t.Errorf("Set = %s", got)
	}
}

// The wants are Python 3.11.2's str() of the values json.loads makes of
// the same JSON (what MLflow's log_param stores):
//
//	/usr/bin/python3 -c "print(str(1e-07), str(1.0), str(True), str(None),
//	  str([{'features': ['Latitude', 'Longitude'], 'angles': [45.0, 22.5]}]), str([]),
//	  str({'a': 'x', 'b': 1}), str(100), str(0.1), str(\"it's\"), str([\"it's\"]))"
func TestStrAsPython(t *testing.T) {
	type rotation struct {
		Features []string  `json:"features"`
		Angles   []float64 `json:"angles"`
	}
	for _, c := range []struct {
		v    any
		want string
	}{
		{1e-07, "1e-07"},
		{1.0, "1.0"},
		{true, "True"},
		{nil, "None"},
		{[]rotation{{[]string{"Latitude", "Longitude"}, []float64{45, 22.5}}}, "[{'features': ['Latitude', 'Longitude'], 'angles': [45.0, 22.5]}]"},
		{[]int{}, "[]"},
		{map[string]any{"b": 1, "a": "x"}, "{'a': 'x', 'b': 1}"},
		{100, "100"},
		{0.1, "0.1"},
		{"it's", "it's"},
		{[]string{"it's"}, `["it's"]`},
		{json.Number("1"), "1"},
		{json.Number("1e-7"), "1e-07"},
		{json.Number("1.0"), "1.0"},
	} {
		if got := Str(c.v); got != c.want {
			t.Errorf("Str(%#v) = %s, Python prints %s", c.v, got, c.want)
		}
	}
	type params struct {
		Tol         float64 `json:"tol"`
		MaxFeatures float64 `json:"max_features"`
		MaxIter     int     `json:"max_iter"`
		Early       bool    `json:"early_stopping"`
		hidden      int     // not exported: not a param
	}
	got := Params(params{Tol: 1e-7, MaxFeatures: 1, MaxIter: 100, hidden: 1})
	want := map[string]string{"tol": "1e-07", "max_features": "1.0", "max_iter": "100", "early_stopping": "False"}
	if !maps.Equal(got, want) {
		t.Errorf("Params = %v, want %v", got, want)
	}
}
