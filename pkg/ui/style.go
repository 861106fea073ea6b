package ui

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Styles are the lipgloss styles of one output stream. They render plain
// text when colour is off, so callers never branch on the colour policy.
type Styles struct {
	Header  lipgloss.Style
	Bold    lipgloss.Style
	Muted   lipgloss.Style
	Success lipgloss.Style
	Warning lipgloss.Style
	Error   lipgloss.Style
	Key     lipgloss.Style
	Border  lipgloss.Style
}

// Styles returns styles bound to a renderer for s.Out with the colour
// profile that the colour policy allows.
func (s *IOStreams) Styles() Styles {
	r := lipgloss.NewRenderer(s.Out)
	if s.color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	return Styles{
		Header:  r.NewStyle().Bold(true).Foreground(lipgloss.Color("63")),
		Bold:    r.NewStyle().Bold(true),
		Muted:   r.NewStyle().Foreground(lipgloss.Color("245")),
		Success: r.NewStyle().Foreground(lipgloss.Color("42")),
		Warning: r.NewStyle().Foreground(lipgloss.Color("214")),
		Error:   r.NewStyle().Foreground(lipgloss.Color("203")).Bold(true),
		Key:     r.NewStyle().Foreground(lipgloss.Color("111")),
		Border:  r.NewStyle().Foreground(lipgloss.Color("240")),
	}
}

// StyleName names one of the Styles for callers outside this package.
type StyleName int

// Style names.
const (
	StyleNone StyleName = iota
	StyleBold
	StyleMuted
	StyleSuccess
	StyleWarning
	StyleError
	StyleKey
)

func (s Styles) byName(n StyleName) lipgloss.Style {
	switch n {
	case StyleBold:
		return s.Bold
	case StyleMuted:
		return s.Muted
	case StyleSuccess:
		return s.Success
	case StyleWarning:
		return s.Warning
	case StyleError:
		return s.Error
	case StyleKey:
		return s.Key
	}
	return lipgloss.NewStyle()
}
