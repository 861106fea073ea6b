package blob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/housectl/housectl/pkg/bucket"
)

// S3 is a Store in a bucket under a prefix. The server makes the
// conditional writes atomic: IfAbsent is If-None-Match: *, IfMatch is
// If-Match on the ETag a Get returned, so compare-and-swap holds between
// any number of processes on any number of machines.
type S3 struct {
	B *bucket.Bucket
}

func checkKey(key string) error {
	if key == "" || !fs.ValidPath(key) || strings.HasPrefix(path.Base(key), ".") {
		return fmt.Errorf("blob: invalid key %q", key)
	}
	return nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := checkKey(key); err != nil {
		return nil, "", err
	}
	b, etag, err := s.B.Get(ctx, key)
	if errors.Is(err, bucket.ErrNotFound) {
		return nil, "", fmt.Errorf("%s/%s: %w", s.B, key, ErrNotExist)
	}
	return b, etag, err
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	etag, err := s.B.Stat(ctx, key)
	if errors.Is(err, bucket.ErrNotFound) {
		return "", fmt.Errorf("%s/%s: %w", s.B, key, ErrNotExist)
	}
	return etag, err
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, data []byte, cond Cond) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	etag, err := s.B.Put(ctx, key, data, bucket.Cond{IfAbsent: cond.IfAbsent, IfMatch: cond.IfMatch})
	switch {
	case errors.Is(err, bucket.ErrPrecondition):
		return "", fmt.Errorf("%s/%s: %w", s.B, key, ErrPrecondition)
	case errors.Is(err, bucket.ErrNotFound) && cond.IfMatch != "": // If-Match on no object
		return "", fmt.Errorf("%s/%s: %w", s.B, key, ErrPrecondition)
	}
	return etag, err
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	ok, err := s.B.Has(ctx, key)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s/%s: %w", s.B, key, ErrNotExist)
	}
	return s.B.Delete(ctx, key)
}

// List implements Store: S3 lists in key order.
func (s *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	var out []Info
	for o, err := range s.B.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		if checkKey(o.Name) == nil {
			out = append(out, Info{Key: o.Name, Size: o.Size})
		}
	}
	return out, nil
}
