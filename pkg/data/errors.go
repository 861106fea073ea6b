package data

import (
	"errors"
	"fmt"
)

// ErrIntegrity matches every error meaning "the bytes are not what they must
// be": a checksum mismatch or an archive that is unsafe or malformed.
var ErrIntegrity = errors.New("integrity check failed")

// ChecksumError is a download whose SHA-256 is not the expected one.
type ChecksumError struct {
	URL  string
	Want string
	Got  string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("checksum mismatch for %s: want sha256 %s, got %s; nothing was kept. "+
		"Check data.url points at the California Housing archive, or set data.sha256 if you mean another file",
		e.URL, e.Want, e.Got)
}

// Is makes errors.Is(err, ErrIntegrity) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrIntegrity }

// ArchiveError is an archive that extraction refuses: an unsafe member
// (absolute path, "..", a link, a device) or one over the size limit, or
// content that is not the expected data.
type ArchiveError struct {
	Member string
	Reason string
}

func (e *ArchiveError) Error() string {
	if e.Member == "" {
		return "archive refused: " + e.Reason
	}
	return fmt.Sprintf("archive refused: member %q: %s; nothing was extracted", e.Member, e.Reason)
}

// Is makes errors.Is(err, ErrIntegrity) true.
func (e *ArchiveError) Is(target error) bool { return target == ErrIntegrity }

// HTTPError is a download answered with a non-success status.
type HTTPError struct {
	URL        string
	StatusCode int
	Status     string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("GET %s: %s", e.URL, e.Status)
}

// transient reports whether the status is worth retrying.
func (e *HTTPError) transient() bool {
	return e.StatusCode == 408 || e.StatusCode == 429 || e.StatusCode >= 500
}
