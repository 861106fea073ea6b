package dvc

import (
	"encoding/json"
	"os"
	"testing"
)

// TestScalarsAsDVCWritesThem compares the .dvc file of one output with
// what real DVC 3.64.0 writes for the same path: the golden file is the
// output of scripts/realdvc/ruamel_scalars.py, which calls DVC's own
// dvc.utils.serialize.dumps_yaml (ruamel.yaml 0.17.21) on 142 names:
// YAML 1.1 and 1.2 booleans, numbers, timestamps, '=' and '<<', indicators,
// quotes, spaces, control and non-BMP characters, line breaks, and long
// names that ruamel folds at 80 columns.
func TestScalarsAsDVCWritesThem(t *testing.T) {
	b, err := os.ReadFile("testdata/ruamel-scalars.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden []struct{ Name, YAML string }
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden) < 100 {
		t.Fatalf("only %d golden names", len(golden))
	}
	for _, g := range golden {
		got, err := NewFile(Out{MD5: "d41d8cd98f00b204e9800998ecf8427e", Path: g.Name}).Bytes()
		if err != nil {
			t.Errorf("%q: %v", g.Name, err)
			continue
		}
		if string(got) != g.YAML {
			t.Errorf("%q:\n got %q\nwant %q", g.Name, got, g.YAML)
			continue
		}
		if CheckName(g.Name) != nil {
			continue // refused by data add: DVC reads NEL, LS and PS back as spaces
		}
		back, err := ParseFile(got, "x.dvc")
		if err != nil {
			t.Errorf("%q: reading it back: %v", g.Name, err)
		} else if back.Outs[0].Path != g.Name {
			t.Errorf("%q: read back as %q", g.Name, back.Outs[0].Path)
		}
	}
}

func TestRuamelStyle(t *testing.T) {
	for v, want := range map[string]byte{
		"=": '\'', "<<": '\'', "yes": 0, "12:30": 0, "'q": '"', "😀.bin": 0, "a\tb": '"',
		"data.csv": 0, "true": '\'', "": '\'', "a ": '\'', "a\nb": '"',
	} {
		if got := ruamelStyle(v); got != want {
			t.Errorf("ruamelStyle(%q) = %q, want %q", v, got, want)
		}
	}
}
