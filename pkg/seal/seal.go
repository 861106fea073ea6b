// Package seal computes the digests that make housectl's JSON records
// (registered versions, runs) tamper-evident: the SHA-256 of a record's
// canonical JSON encoding, stored in the record itself as "seal". A record
// whose content was edited by hand no longer matches its seal.
//
// The canonical encoding is the record decoded as generic JSON (numbers
// kept as written), without its "seal" member, and encoded again by
// encoding/json: object keys sorted, no insignificant whitespace. So the
// seal does not depend on the Go types that wrote or read the record, nor
// on its indentation, but any change to a value, including the way a
// number is written, breaks it.
//
// A seal is not a signature: it has no key, so whoever rewrites a record
// and recomputes its seal is not detected by the seal alone. Records are
// also checked against each other (a version against its run, a run
// against its artifact's SHA-256), so a forgery has to rewrite all of them
// consistently.
package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// Prefix starts every seal: the digest's algorithm.
const Prefix = "sha256:"

// Field is the member of a record that holds its seal.
const Field = "seal"

// Sum returns the seal of v, a value that encodes to a JSON object.
func Sum(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return OfJSON(b)
}

// OfJSON returns the seal of a JSON object given as its encoding.
func OfJSON(b []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return "", err
	}
	if m == nil {
		return "", errors.New("seal: not a JSON object")
	}
	delete(m, Field)
	canon, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return Prefix + hex.EncodeToString(sum[:]), nil
}

// Valid reports whether s has a seal's form.
func Valid(s string) bool {
	h, ok := strings.CutPrefix(s, Prefix)
	if !ok || len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}
