package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// TB is what Postgres needs of a test: testing.TB has it, and so can a
// testscript command.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Postgres returns the DSN of a fresh, empty PostgreSQL database for this
// test. With HOUSECTL_TEST_POSTGRES_DSN set it creates the database on that
// server; otherwise it starts a throwaway cluster from Debian's postgresql
// package (as the postgres user when the tests run as root), stopped and
// removed when the test ends.
func Postgres(tb TB) string {
	tb.Helper()
	admin := os.Getenv("HOUSECTL_TEST_POSTGRES_DSN")
	if admin == "" {
		admin = startCluster(tb)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "housectl_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err == nil {
			_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = db.Close()
		}
	})
	u, err := pgWith(admin, name)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// pgWith returns dsn (a postgres:// URL) naming database db.
func pgWith(dsn, db string) (string, error) {
	i := len(dsn)
	for k, c := range dsn {
		if c == '?' {
			i = k
			break
		}
	}
	base, query := dsn[:i], dsn[i:]
	slash := -1
	for k := len(base) - 1; k >= 0; k-- {
		if base[k] == '/' {
			slash = k
			break
		}
	}
	if slash < len("postgres://") {
		return "", fmt.Errorf("HOUSECTL_TEST_POSTGRES_DSN must be a postgres://host/db URL, got %q", dsn)
	}
	return base[:slash+1] + db + query, nil
}

func startCluster(tb TB) string {
	tb.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		tb.Fatal("PostgreSQL is not installed: run scripts/deps-debian.sh postgresql (make test does), or set HOUSECTL_TEST_POSTGRES_DSN")
	}
	slices.Sort(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	base, err := os.MkdirTemp("", "housectl-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(base) })
	data, sock := filepath.Join(base, "data"), filepath.Join(base, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	// initdb refuses to run as root: run the cluster as postgres then.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{base, data, sock} {
			if err := os.Chown(d, uid, gid); err != nil {
				tb.Fatal(err)
			}
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	command := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
		if cred != nil {
			c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return c
	}
	if out, err := command(context.Background(), "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	srv := command(context.Background(), "postgres", "-D", data, "-k", sock, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	logf, _ := os.Create(filepath.Join(base, "postgres.log"))
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Wait(); close(done) }()
	tb.Cleanup(func() {
		_ = srv.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
		}
	})
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := db.PingContext(context.Background()); err == nil {
			return dsn
		}
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(base, "postgres.log"))
			tb.Fatalf("postgres exited:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(base, "postgres.log"))
			tb.Fatalf("postgres did not start in 30 s:\n%s", b)
		}
	}
}
