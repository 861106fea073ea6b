// Package blob is a flat key space of small objects with conditional
// writes: the storage under housectl's registry. Keys are slash-separated
// paths ("california/versions/3.json"). An object is written whole or not
// at all, and a write can be made conditional on the object being absent
// (create once) or unchanged since it was read (compare-and-swap on its
// ETag), the two primitives S3's If-None-Match and If-Match give. A
// protocol built on them works the same on a local directory and on a
// bucket.
//
// Nouns:
//   - Store: the interface; Dir is the local implementation.
//   - ETag: an opaque version of an object's content, returned by Get and
//     Put and given back in Cond.IfMatch.
//   - Cond: the precondition of a Put.
package blob

import (
	"context"
	"errors"
)

// ErrNotExist is returned by Get and Delete for a missing key.
var ErrNotExist = errors.New("object does not exist")

// ErrPrecondition is returned by Put when its Cond does not hold: the
// object exists (IfAbsent) or has another ETag (IfMatch).
var ErrPrecondition = errors.New("object changed: precondition failed")

// Cond is the precondition of a Put. The zero Cond always writes.
type Cond struct {
	// IfAbsent: write only if no object has the key.
	IfAbsent bool
	// IfMatch: write only if the object's current ETag is this one.
	IfMatch string
}

// Info describes one object of a listing.
type Info struct {
	Key  string
	Size int64
}

// Store is a key space of objects.
type Store interface {
	// Get returns the object's content and ETag, or ErrNotExist.
	Get(ctx context.Context, key string) ([]byte, string, error)
	// Stat returns the object's ETag without its content (S3: a HEAD
	// request), or ErrNotExist: how a poller tells that it changed.
	Stat(ctx context.Context, key string) (string, error)
	// Put writes the whole object if cond holds, else ErrPrecondition,
	// and returns its new ETag.
	Put(ctx context.Context, key string, data []byte, cond Cond) (string, error)
	// Delete removes the object; ErrNotExist if it has none.
	Delete(ctx context.Context, key string) error
	// List returns the objects whose keys start with prefix, sorted by
	// key. Work in progress (a local write's temporary file) is not listed.
	List(ctx context.Context, prefix string) ([]Info, error)
}
