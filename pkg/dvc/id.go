package dvc

import (
	"encoding/json"
	"fmt"
	"strings"
)

// DirSuffix marks the ID of a directory manifest.
const DirSuffix = ".dir"

// ID is a DVC object id: 32 lower-case hex digits, plus ".dir" for a
// directory. The zero ID is empty and invalid.
type ID string

// ParseID validates s (any case) and returns it lower-cased.
func ParseID(s string) (ID, error) {
	hexPart := strings.TrimSuffix(s, DirSuffix)
	if len(hexPart) != 32 {
		return "", fmt.Errorf("%q is not a DVC md5: want 32 hex digits, optionally followed by .dir", s)
	}
	for _, c := range hexPart {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return "", fmt.Errorf("%q is not a DVC md5: %q is not a hex digit", s, c)
		}
	}
	return ID(strings.ToLower(s)), nil
}

// IsDir reports whether the id names a directory manifest.
func (id ID) IsDir() bool { return strings.HasSuffix(string(id), DirSuffix) }

// Hex is the 32 hex digits without the .dir suffix.
func (id ID) Hex() string { return strings.TrimSuffix(string(id), DirSuffix) }

// Short is the first 8 hex digits, for people.
func (id ID) Short() string {
	if len(id) < 8 {
		return string(id)
	}
	return string(id[:8])
}

func (id ID) String() string { return string(id) }

// UnmarshalJSON accepts only valid ids.
func (id *ID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := ParseID(s)
	if err != nil {
		return err
	}
	*id = p
	return nil
}
