// Package all opens the configured prediction log: PostgreSQL when a DSN
// is given, else a SQLite file (see restic's backend/all for the pattern).
package all

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/store/postgres"
	"github.com/housectl/housectl/pkg/store/sqlite"
)

// Open opens (creating if needed) the log: PostgreSQL when dsn is set,
// else SQLite at path.
func Open(ctx context.Context, dsn, path string) (*store.DB, error) {
	if dsn != "" {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, path)
}

// OpenExisting opens the log for reading: a SQLite file that does not
// exist yet is an error saying who writes it, not a new empty log.
func OpenExisting(ctx context.Context, dsn, path string) (*store.DB, error) {
	if dsn == "" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: housectl serve writes it (predictions.path)", store.ErrNoLog, path)
		}
	}
	return Open(ctx, dsn, path)
}
