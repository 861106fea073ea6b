package dataset

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string) ([][]string, []int, []error) {
	t.Helper()
	r := newCSVReader(strings.NewReader(in))
	var recs [][]string
	var lines []int
	var errs []error
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) {
			return recs, lines, errs
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rec := make([]string, len(f))
		for i, b := range f {
			rec[i] = string(b)
		}
		recs = append(recs, rec)
		lines = append(lines, r.start)
	}
}

func TestCSVReader(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string // records joined by | and fields by ,
		lines []int
		errs  int
	}{
		{"plain", "a,b\n1,2\n", "a,b|1,2", []int{1, 2}, 0},
		{"no final newline", "a,b\n1,2", "a,b|1,2", []int{1, 2}, 0},
		{"crlf", "a,b\r\n1,2\r\n", "a,b|1,2", []int{1, 2}, 0},
		{"bom", "\xef\xbb\xbfa,b\n1,2\n", "a,b|1,2", []int{1, 2}, 0},
		{"blank lines skipped", "a,b\n\n1,2\n\n", "a,b|1,2", []int{1, 3}, 0},
		{"empty fields", "a,,c\n,,\n", "a,,c|,,", []int{1, 2}, 0},
		{"trailing comma", "a,b,\n", "a,b,", []int{1}, 0},
		{"quoted", "\"a,1\",b\n", "a,1,b", []int{1}, 0},
		{"doubled quote", "\"say \"\"hi\"\"\",x\n", "say \"hi\",x", []int{1}, 0},
		{"quoted multi-line", "\"a\nb\",c\nd,e\n", "a\nb,c|d,e", []int{1, 3}, 0},
		{"quoted then trailing comma", "\"a\",\n", "a,", []int{1}, 0},
		{"empty quoted", "\"\",x\n", ",x", []int{1}, 0},
		{"unclosed quote", "\"abc\n", "", nil, 1},
		{"junk after quote", "\"a\"b,c\nd,e\n", "d,e", []int{2}, 1},
		{"quote inside unquoted", "a\"b,c\n", "", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, lines, errs := readAll(t, tt.in)
			var parts []string
			for _, r := range recs {
				parts = append(parts, strings.Join(r, ","))
			}
			if got := strings.Join(parts, "|"); got != tt.want {
				t.Errorf("records = %q, want %q", got, tt.want)
			}
			if len(errs) != tt.errs {
				t.Errorf("errors = %v, want %d", errs, tt.errs)
			}
			if len(lines) == len(tt.lines) {
				for i := range lines {
					if lines[i] != tt.lines[i] {
						t.Errorf("record %d starts on line %d, want %d", i, lines[i], tt.lines[i])
					}
				}
			} else {
				t.Errorf("lines = %v, want %v", lines, tt.lines)
			}
		})
	}
}

func TestCSVReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 600<<10)
	recs, _, errs := readAll(t, "a,b\n"+long+",1\n")
	if len(errs) != 0 || len(recs) != 2 || len(recs[1][0]) != len(long) || recs[1][1] != "1" {
		t.Errorf("long line misread: %d records, errors %v", len(recs), errs)
	}
}

func TestSkipBOM(t *testing.T) {
	for in, want := range map[string]string{
		"\xef\xbb\xbfa,b\n1,2\n": "a,b\n1,2\n",
		"a,b\n":                  "a,b\n",
		"\xef\xbb":               "\xef\xbb", // too short to be a mark
		"":                       "",
		"x\xef\xbb\xbf":          "x\xef\xbb\xbf", // only a leading one
	} {
		b, err := io.ReadAll(SkipBOM(strings.NewReader(in)))
		if err != nil || string(b) != want {
			t.Errorf("SkipBOM(%q) = %q, %v; want %q", in, b, err, want)
		}
	}
}
