package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/housectl/housectl/pkg/atomicfile"
)

// Progress counts the bytes of a download; the command layer draws it.
type Progress interface {
	io.Writer
	Finish()
}

// FetchOptions configure Fetch. The zero values of Client, NewProgress and
// Notify are usable.
type FetchOptions struct {
	URL    string // http, https or file URL of cal_housing.tgz
	SHA256 string // expected digest, lower-case hex
	// Archive is where the verified archive is kept; RawDir receives its
	// members; Path receives the derived CSV.
	Archive string
	RawDir  string
	Path    string

	Timeout        time.Duration // per attempt
	Retries        int
	RetryBackoff   time.Duration
	MaxMemberBytes int64

	Client      *http.Client
	UserAgent   string
	NewProgress func(total int64, desc string) Progress
	// Notify receives one line of human-readable progress at a time.
	Notify func(msg string)
	// Seed drives the retry jitter; tests fix it.
	Seed uint64

	rng *rand.Rand
}

func (o *FetchOptions) notify(msg string) {
	if o.Notify != nil {
		o.Notify(msg)
	}
}

// FetchResult says what Fetch did.
type FetchResult struct {
	// Downloaded is true when the archive was fetched; false when the kept
	// archive already had the right checksum.
	Downloaded bool `json:"downloaded"`
	// Bytes and Attempts describe the download (zero when none was made).
	Bytes    int64 `json:"bytes"`
	Attempts int   `json:"attempts"`
	// Written lists the files created or replaced, in order.
	Written []string `json:"written"`
	// UpToDate is true when nothing was downloaded or written.
	UpToDate bool   `json:"up_to_date"`
	Rows     int    `json:"rows"`
	Archive  string `json:"archive"`
	SHA256   string `json:"sha256"`
	Path     string `json:"path"`
}

// Fetch makes Path the derived California Housing frame of the archive at
// URL, doing no more work than needed: an archive already in place with the
// right checksum is not downloaded again, and files whose content would not
// change are not rewritten.
func Fetch(ctx context.Context, opts FetchOptions) (*FetchResult, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("data.url %q: %w", opts.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file" {
		return nil, fmt.Errorf("data.url %q: scheme %q is not supported; use http, https or file", opts.URL, u.Scheme)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Transport: http.DefaultTransport}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "housectl"
	}
	opts.rng = rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	res := &FetchResult{Archive: opts.Archive, SHA256: opts.SHA256, Path: opts.Path}

	have, err := fileSHA256(opts.Archive)
	switch {
	case err == nil && have == opts.SHA256:
		opts.notify(fmt.Sprintf("%s is in place and its sha256 matches; not downloading", opts.Archive))
	default:
		if err == nil {
			opts.notify(fmt.Sprintf("%s has sha256 %s, not %s; downloading it again", opts.Archive, have[:12], opts.SHA256[:12]))
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		opts.notify("downloading " + u.Redacted())
		n, attempts, err := download(ctx, &opts, u, opts.Archive)
		res.Attempts = attempts
		if err != nil {
			return res, err
		}
		res.Downloaded, res.Bytes = true, n
		res.Written = append(res.Written, opts.Archive)
		opts.notify(fmt.Sprintf("downloaded %d bytes, sha256 verified", n))
	}

	members, err := readArchive(ctx, opts.Archive, opts.MaxMemberBytes)
	if err != nil {
		return res, err
	}
	var dataMember []byte
	for _, m := range members {
		if m.Name == CaliforniaMember {
			dataMember = m.Data
		}
	}
	if dataMember == nil {
		return res, &ArchiveError{Reason: fmt.Sprintf("it has no %s member: is data.url the California Housing archive?", CaliforniaMember)}
	}
	frame, rows, err := DeriveCalifornia(bytes.NewReader(dataMember))
	if err != nil {
		return res, err
	}
	res.Rows = rows

	// Everything is known to be good; only now touch the raw dir and the CSV.
	for _, m := range members {
		dst := filepath.Join(opts.RawDir, filepath.FromSlash(m.Name))
		wrote, err := writeIfChanged(dst, m.Data)
		if err != nil {
			return res, err
		}
		if wrote {
			res.Written = append(res.Written, dst)
		}
	}
	wrote, err := writeIfChanged(opts.Path, frame)
	if err != nil {
		return res, err
	}
	if wrote {
		res.Written = append(res.Written, opts.Path)
	}
	res.UpToDate = len(res.Written) == 0
	return res, nil
}

// writeIfChanged writes data to path atomically unless path already holds
// exactly data. It reports whether it wrote.
func writeIfChanged(path string, data []byte) (bool, error) {
	if same, err := sameContent(path, data); err != nil {
		return false, err
	} else if same {
		return false, nil
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// sameContent reports whether the file at path holds exactly data, reading
// it in small chunks (and not at all when the size differs).
func sameContent(path string, data []byte) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != int64(len(data)) {
		return false, err
	}
	buf := make([]byte, 64<<10)
	for off := 0; off < len(data); {
		n, err := io.ReadFull(f, buf[:min(len(buf), len(data)-off)])
		if err != nil {
			return false, fmt.Errorf("read %s: %w", path, err)
		}
		if !bytes.Equal(buf[:n], data[off:off+n]) {
			return false, nil
		}
		off += n
	}
	return true, nil
}

// fileSHA256 returns the hex SHA-256 of a file's bytes.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
