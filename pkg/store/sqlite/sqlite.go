// Package sqlite opens the prediction log in a SQLite file (mattn/go-sqlite3,
// cgo): WAL mode, a busy timeout, foreign keys and housectl's checkpoint
// interval, set on every connection.
package sqlite

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/housectl/housectl/pkg/store"
)

// CheckpointPages is how many WAL pages (4 KiB each) accumulate before a
// commit copies them into the database file (SQLite's default is 1,000). A
// checkpoint ends in an fsync, and on a server with one core that stall
// is what its slowest requests wait for, so ten times fewer of them keep
// the tail latency down. The WAL grows to ~40 MB in exchange, and is
// removed when the last connection closes.
const CheckpointPages = 10000

// driver is mattn/go-sqlite3 with housectl's per-connection settings.
const driver = "sqlite3_housectl"

func init() {
	sql.Register(driver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA wal_autocheckpoint="+strconv.Itoa(CheckpointPages), nil)
		return err
	}})
}

// Open opens (creating if needed) the log at path and migrates it to the
// newest schema. It is the one place a SQLite log is opened.
func Open(ctx context.Context, path string) (*store.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open(driver, "file:"+uriPath(path)+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	s, err := store.New(ctx, db, store.SQLite, path)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// uriPath escapes a file path for a SQLite URI filename: SQLite decodes
// %HH escapes in the path, and '?' and '#' would end it.
func uriPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}
