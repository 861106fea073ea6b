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
	// CellStyle, when set, styles a body cell on a terminal (row and column
	// are 0-based body coordinates).
	CellStyle func(row, col int) *lipgloss.Style
}

// Append adds one row.
func (t *Table) Append(cells ...string) { t.Rows = append(t.Rows, cells) }

// Render writes the table to s.Out: bordered and styled on a terminal,
// tab-separated otherwise.
func (t *Table) Render(s *IOStreams) error {
	if !s.IsStdoutTTY() {
		var b strings.Builder
		for _, row := range t.Rows {
			for i, c := range row {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(strings.NewReplacer("\t", " ", "\n", " ").Replace(c))
			}
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
		Rows(t.Rows...).
		StyleFunc(func(row, col int) lipgloss.Style {
			if row == table.HeaderRow {
				return st.Header.Padding(0, 1)
			}
			if t.CellStyle != nil {
				if cs := t.CellStyle(row, col); cs != nil {
					return cs.Padding(0, 1)
				}
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
