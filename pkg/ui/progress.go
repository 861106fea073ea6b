package ui

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress counts bytes written to it. On a terminal it draws a bar on
// stderr with bytes, rate and time left; elsewhere it draws nothing.
type Progress interface {
	io.Writer
	// Finish completes the bar and ends its line.
	Finish()
}

type noProgress struct{}

func (noProgress) Write(p []byte) (int, error) { return len(p), nil }
func (noProgress) Finish()                     {}

type barProgress struct{ bar *progressbar.ProgressBar }

func (b barProgress) Write(p []byte) (int, error) { return b.bar.Write(p) }
func (b barProgress) Finish()                     { _ = b.bar.Finish() }

// NewByteProgress starts a byte-count progress bar titled desc; total is the
// expected size in bytes, or -1 when unknown.
func (s *IOStreams) NewByteProgress(total int64, desc string) Progress {
	if !s.IsStderrTTY() {
		return noProgress{}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(s.ErrOut),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(80*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { _, _ = io.WriteString(s.ErrOut, "\n") }),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionEnableColorCodes(s.ColorEnabled()),
	)
	return barProgress{bar: bar}
}

// Counter counts items (files, objects, steps) with a bar on a terminal.
type Counter interface {
	Add(n int)
	// Describe replaces the text before the bar.
	Describe(s string)
	Finish()
}

type noCounter struct{}

func (noCounter) Add(int)         {}
func (noCounter) Describe(string) {}
func (noCounter) Finish()         {}

type barCounter struct{ bar *progressbar.ProgressBar }

func (b barCounter) Add(n int)         { _ = b.bar.Add(n) }
func (b barCounter) Describe(s string) { b.bar.Describe(s) }
func (b barCounter) Finish()           { _ = b.bar.Finish() }

// NewCounter starts an item-count progress bar titled desc on stderr when
// it is a terminal; elsewhere it draws nothing.
func (s *IOStreams) NewCounter(total int, desc string) Counter {
	if !s.IsStderrTTY() {
		return noCounter{}
	}
	return barCounter{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(s.ErrOut),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("files"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(80*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { _, _ = io.WriteString(s.ErrOut, "\n") }),
		progressbar.OptionEnableColorCodes(s.ColorEnabled()),
	)}
}
