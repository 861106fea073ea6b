package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
)

// Table is a header and rows of cells, rendered for a person on a terminal
// and as tab-separated values (no header, nothing truncated) for scripts.
type Table struct {
	Headers []string
	Rows    [][]string
	// CellStyle, when set, names the style of a body cell on a terminal
	// (row and column are 0-based body coordinates); StyleNone is plain.
	CellStyle func(row, col int) StyleName
}

// Append adds one row.
func (t *Table) Append(cells ...string) { t.Rows = append(t.Rows, cells) }

// Render writes the table to s.Out: bordered and styled on a terminal,
// tab-separated otherwise.
func (t *Table) Render(s *IOStreams) error {
	// A tab or newline inside a cell would break both layouts.
	flat := strings.NewReplacer("\t", " ", "\r", " ", "\n", " ")
	rows := make([][]string, len(t.Rows))
	for i, row := range t.Rows {
		rows[i] = make([]string, len(row))
		for j, c := range row {
			rows[i][j] = flat.Replace(c)
		}
	}
	if !s.IsStdoutTTY() {
		var b strings.Builder
		for _, row := range rows {
			b.WriteString(strings.Join(row, "\t"))
			b.WriteByte('\n')
		}
		_, err := io.WriteString(s.Out, b.String())
		return err
	}
	st := s.Styles()
	tb := table.New().
		Border(lipgloss.RoundedBorder()).
		BorderStyle(st.Border).
		Headers(t.Headers...).
		Rows(rows...).
		StyleFunc(func(row, col int) lipgloss.Style {
			if row == table.HeaderRow {
				return st.Header.Padding(0, 1)
			}
			if t.CellStyle != nil {
				return st.byName(t.CellStyle(row, col)).Padding(0, 1)
			}
			return lipgloss.NewStyle().Padding(0, 1)
		})
	_, err := fmt.Fprintln(s.Out, tb.Render())
	return err
}

// WriteJSON writes v as indented JSON with a trailing newline. HTML
// characters are not escaped: output is for scripts, not browsers.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
