// Package postgres opens the prediction log in a PostgreSQL database (pgx),
// which several servers may share; replicas starting together migrate one
// at a time, under an advisory lock.
package postgres

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"

	"github.com/housectl/housectl/pkg/store"
)

// Open opens the log in the database of dsn
// (postgres://user:pass@host:5432/db?sslmode=disable, or key=value form)
// and migrates it.
func Open(ctx context.Context, dsn string) (*store.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("predictions.dsn: %w", err)
	}
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("prediction log %s: %w", store.Redact(dsn), err)
	}
	s, err := store.New(ctx, db, store.Postgres, store.Redact(dsn))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}
