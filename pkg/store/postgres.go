package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"
)

// OpenPostgres opens the log in the PostgreSQL database of dsn
// (postgres://user:pass@host:5432/db?sslmode=disable, or key=value form)
// and migrates it. Several servers may share it.
func OpenPostgres(ctx context.Context, dsn string) (*SQL, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("predictions.dsn: %w", err)
	}
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("prediction log %s: %w", redact(dsn), err)
	}
	s := &SQL{db: db, dialect: "postgres", names: map[nameKey][]string{}}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("prediction log %s: %w", redact(dsn), err)
	}
	return s, nil
}

// Open opens the configured log: PostgreSQL when dsn is set, else SQLite
// at path.
func Open(ctx context.Context, dsn, path string) (*SQL, error) {
	if dsn != "" {
		return OpenPostgres(ctx, dsn)
	}
	return OpenSQLite(ctx, path)
}

// ErrNoLog is returned by OpenExisting when there is no log to read yet.
var ErrNoLog = errors.New("no prediction log")

// OpenExisting opens the configured log for reading: a SQLite file that
// does not exist yet is an error saying who writes it, not a new empty log.
func OpenExisting(ctx context.Context, dsn, path string) (*SQL, error) {
	if dsn == "" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: housectl serve writes it (predictions.path)", ErrNoLog, path)
		}
	}
	return Open(ctx, dsn, path)
}

// Where names the log for messages, without a password.
func Where(dsn, path string) string {
	if dsn != "" {
		return redact(dsn)
	}
	return path
}

// redact hides a DSN's password.
func redact(dsn string) string {
	if at := strings.LastIndexByte(dsn, '@'); at > 0 {
		if i := strings.Index(dsn, "://"); i > 0 {
			if c := strings.IndexByte(dsn[i+3:at], ':'); c >= 0 {
				return dsn[:i+3+c+1] + "***" + dsn[at:]
			}
		}
	}
	if i := strings.Index(dsn, "password="); i >= 0 {
		end := strings.IndexByte(dsn[i:], ' ')
		if end < 0 {
			end = len(dsn) - i
		}
		return dsn[:i] + "password=***" + dsn[i+end:]
	}
	return dsn
}
