// Package ui holds everything housectl shows a person: the IOStreams that
// know whether a terminal is attached, the colour policy, lipgloss styles,
// tables, JSON output and progress bars. Domain packages never print; the
// command layer renders their results through this package.
package ui

import (
	"bytes"
	"io"
	"os"
	"strconv"

	"golang.org/x/term"
)

// IOStreams are the three standard streams plus what is known about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdoutTTY bool
	stderrTTY bool
	color     bool
	width     int
	getenv    func(string) string
}

// System returns the process's streams. A terminal is detected on each
// stream; HOUSECTL_FORCE_TTY (any non-empty value but "0") forces both to be
// treated as terminals, which tests use to see styled output.
func System() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, getenv: os.Getenv}
	s.stdoutTTY = isTerminal(os.Stdout)
	s.stderrTTY = isTerminal(os.Stderr)
	if v := os.Getenv("HOUSECTL_FORCE_TTY"); v != "" && v != "0" {
		s.stdoutTTY, s.stderrTTY = true, true
	}
	if s.stdoutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			s.width = w
		}
	}
	s.color = colorPolicy(s.stdoutTTY, os.Getenv)
	return s
}

// Test returns streams backed by buffers: no terminal, no colour.
func Test() (s *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, getenv: func(string) string { return "" }}, in, out, errOut
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// colorPolicy follows https://no-color.org and the CLICOLOR convention:
// colour only on a terminal, unless NO_COLOR is set or CLICOLOR=0;
// CLICOLOR_FORCE (non-empty, not "0") forces it on.
func colorPolicy(tty bool, getenv func(string) string) bool {
	if v := getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	if getenv("NO_COLOR") != "" || getenv("CLICOLOR") == "0" {
		return false
	}
	return tty
}

// IsStdoutTTY reports whether results go to a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether messages and progress go to a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetStdoutTTY overrides terminal detection for stdout and re-applies the
// colour policy (tests).
func (s *IOStreams) SetStdoutTTY(tty bool) {
	s.stdoutTTY = tty
	s.color = colorPolicy(tty, s.getenv)
}

// SetStderrTTY overrides terminal detection for stderr (tests).
func (s *IOStreams) SetStderrTTY(tty bool) { s.stderrTTY = tty }

// SetColorEnabled overrides the colour policy (tests).
func (s *IOStreams) SetColorEnabled(on bool) { s.color = on }

// ColorEnabled reports whether stdout output may carry ANSI colour.
func (s *IOStreams) ColorEnabled() bool { return s.color }

// TerminalWidth is the width of the stdout terminal, or 100 when unknown.
// COLUMNS overrides it.
func (s *IOStreams) TerminalWidth() int {
	if v, err := strconv.Atoi(s.getenv("COLUMNS")); err == nil && v > 0 {
		return v
	}
	if s.width > 0 {
		return s.width
	}
	return 100
}
