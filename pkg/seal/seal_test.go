package seal

import (
	"encoding/json"
	"strings"
	"testing"
)

type record struct {
	Name    string             `json:"name"`
	Seed    uint64             `json:"seed"`
	Metrics map[string]float64 `json:"metrics"`
	Params  map[string]any     `json:"params"`
	Seal    string             `json:"seal,omitempty"`
}

func TestSealIsCanonical(t *testing.T) {
	r := record{Name: "california", Seed: 1<<63 + 1, Metrics: map[string]float64{"rmse": 0.51, "mae": 1e-07}, Params: map[string]any{"max_iter": 100, "seed": uint64(1<<63 + 1)}}
	s, err := Sum(r)
	if err != nil || !Valid(s) {
		t.Fatalf("Sum = %q, %v", s, err)
	}
	r.Seal = s
	b, _ := json.MarshalIndent(r, "", "    ")
	// As read back from disk: other indentation, and the seal inside.
	if got, err := OfJSON(b); err != nil || got != s {
		t.Errorf("OfJSON of the written record = %q, %v; want %q", got, err, s)
	}
	// Keys in another order and other spacing seal the same; a big integer
	// keeps its digits (a float64 round trip would change them).
	var generic map[string]json.RawMessage
	_ = json.Unmarshal(b, &generic)
	reordered := `{"seal":"x", "params": ` + string(generic["params"]) + `, "name":"california","metrics":` + string(generic["metrics"]) + `,"seed":9223372036854775809}`
	if got, _ := OfJSON([]byte(reordered)); got != s {
		t.Errorf("reordered record seals to %q, want %q", got, s)
	}
	for name, edit := range map[string]string{
		"metric":         strings.Replace(string(b), "0.51", "0.1", 1),
		"number's form":  strings.Replace(string(b), "0.51", "0.510", 1),
		"big integer":    strings.Replace(string(b), "9223372036854775809", "9223372036854775808", 1),
		"added member":   strings.Replace(string(b), `"name"`, `"x": 1, "name"`, 1),
		"string content": strings.Replace(string(b), "california", "California", 1),
	} {
		if got, _ := OfJSON([]byte(edit)); got == s {
			t.Errorf("an edited %s keeps its seal", name)
		}
	}
	if _, err := OfJSON([]byte(`[1]`)); err == nil {
		t.Error("an array has a seal")
	}
	for _, bad := range []string{"", "sha256:", "md5:" + s[7:], s[:70], "sha256:" + "G" + s[8:], "sha256:" + "A" + s[8:]} {
		if Valid(bad) {
			t.Errorf("Valid(%q)", bad)
		}
	}
}
