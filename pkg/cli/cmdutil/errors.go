package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes. They are part of housectl's interface: scripts branch on them.
const (
	ExitOK          = 0   // success; an empty result is a success too
	ExitFailure     = 1   // the command failed
	ExitUsage       = 2   // bad flag, argument or configuration
	ExitIntegrity   = 3   // a checksum or archive integrity check failed
	ExitInvalidData = 4   // the data failed validation
	ExitGate        = 5   // a CI gate failed: runs compare --fail-if/--max-regression, models promote --if-better
	ExitAlert       = 6   // a monitoring alert: monitor drift found drift at or above the alert thresholds
	ExitInterrupted = 130 // interrupted (Ctrl-C, SIGTERM)
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
