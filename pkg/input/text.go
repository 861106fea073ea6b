package input

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// TextRow stores one row given as text cells (a CSV record) for the
// columns whose features idx gives (Header's answer; -1: not a feature),
// each problem located at loc and the column's name.
func (t *Table) TextRow(rec []string, cols []string, idx []int, loc ...any) error {
	if len(rec) != len(cols) {
		t.Fail(RowShape, "row has "+itoa(len(rec))+" values for "+itoa(len(cols))+" columns", nil, loc...)
		return nil
	}
	row, err := t.NewRow()
	if err != nil {
		return err
	}
	for c, s := range rec {
		if idx[c] >= 0 {
			t.Text(row, idx[c], s, append(loc, cols[c])...)
		}
	}
	return nil
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// CSV reads a header row and rows, columns matched to features by name
// (a spreadsheet's byte-order mark is not part of the first name). A
// header problem stops before the rows; a row's problems are located at
// "row" and its number (the header is not one).
func (t *Table) CSV(body []byte) error {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
	r.FieldsPerRecord = -1 // a row of another length is the row's problem
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return Malformed("the CSV body is empty: it needs a header row")
	}
	if err != nil {
		return Malformed("malformed CSV: %v", err)
	}
	for c := range header {
		header[c] = strings.TrimSpace(header[c])
		if header[c] == "" && t.Lenient {
			header[c] = "Unnamed: " + itoa(c) // pandas' name for it (DataFrame.to_csv's index)
		}
	}
	idx, ok := t.Header(header, "header")
	if !ok && !t.Lenient { // Lenient reads on: a value that is not a number is the first error
		return nil
	}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return Malformed("malformed CSV: %v", err)
		}
		if err := t.TextRow(rec, header, idx, "row", line); err != nil {
			return err
		}
	}
}
