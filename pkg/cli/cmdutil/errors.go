package cmdutil

import (
	"fmt"

	"github.com/housectl/housectl/pkg/exitcode"

	"github.com/spf13/cobra"
)

// Exit codes (package exitcode): part of housectl's interface.
const (
	ExitOK          = exitcode.OK
	ExitFailure     = exitcode.Failure
	ExitUsage       = exitcode.Usage
	ExitIntegrity   = exitcode.Integrity
	ExitInvalidData = exitcode.InvalidData
	ExitGate        = exitcode.Gate
	ExitAlert       = exitcode.Alert
	ExitInterrupted = exitcode.Interrupted
)

// FlagError is a usage mistake: a bad flag or argument. It maps to
// ExitUsage and is followed by a pointer to --help.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf returns a new FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ExitError ends a command with Code after it has printed its own report;
// the root prints Err (if any) and nothing else.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Args validators that report usage errors as FlagError.

// NoArgs refuses positional arguments.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return FlagErrorf("%q takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

// MaximumNArgs accepts at most n positional arguments.
func MaximumNArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return FlagErrorf("%q takes at most %d argument(s), got %d: %q", cmd.CommandPath(), n, len(args), args)
		}
		return nil
	}
}

// ExactArgs requires n positional arguments, naming what they are.
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return FlagErrorf("%q takes %d argument(s) (%s), got %d: %q", cmd.CommandPath(), n, what, len(args), args)
		}
		return nil
	}
}
