// Package exitcode holds housectl's exit statuses, part of its interface:
// scripts branch on them. A domain error that decides its own status
// implements Coder; pkg/cli maps every other error.
package exitcode

// Exit statuses.
const (
	OK          = 0   // success; an empty result is a success too
	Failure     = 1   // the command failed
	Usage       = 2   // bad flag, argument or configuration
	Integrity   = 3   // a checksum, seal or archive integrity check failed
	InvalidData = 4   // the data failed validation
	Gate        = 5   // a CI gate failed: runs compare --fail-if/--max-regression, models promote --if-better
	Alert       = 6   // a monitoring alert: monitor drift found drift at or above the alert thresholds
	Denied      = 7   // object storage refused the credentials or the permission
	NoBucket    = 8   // object storage has no such bucket
	Unreachable = 9   // object storage could not be reached (the endpoint, the network); retry later
	Undecided   = 10  // monitor compare could not decide between two variants yet: more data is needed
	Interrupted = 130 // interrupted (Ctrl-C, SIGTERM)
)

// Coder is an error that carries its exit status.
type Coder interface {
	error
	ExitCode() int
}
