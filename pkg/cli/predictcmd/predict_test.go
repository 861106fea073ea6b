package predictcmd

import (
	"slices"
	"strings"
	"testing"
)

func TestReadInput(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		json     bool
		wantCols []string
		wantRows [][]string
		wantErr  string
	}{
		{"csv", "a,b\n1,2\n3,4\n", false, []string{"a", "b"}, [][]string{{"1", "2"}, {"3", "4"}}, ""},
		{"csv with a byte-order mark", "\xef\xbb\xbfa,b\n1,2\n", false, []string{"a", "b"}, [][]string{{"1", "2"}}, ""},
		{"json lines with a byte-order mark", "\xef\xbb\xbf{\"a\": 1}\n\n{\"a\": \"2\", \"b\": null}\n", true, []string{"a", "b"}, [][]string{{"1", ""}, {`"2"`, "null"}}, ""}, // raw JSON, echoed as it came
		{"empty csv", "", false, nil, nil, "input is empty"},
		{"ragged csv", "a,b\n1\n", false, nil, nil, "wrong number of fields"},
		{"json line not an object", "{\"a\": 1}\n[1]\n", true, nil, nil, "input line 2: not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readInput(strings.NewReader(tt.in), tt.json)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.cols, tt.wantCols) || !slices.EqualFunc(got.rows, tt.wantRows, slices.Equal) {
				t.Errorf("got %q %q, want %q %q", got.cols, got.rows, tt.wantCols, tt.wantRows)
			}
		})
	}
}
