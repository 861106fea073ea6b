package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/housectl/housectl/pkg/atomicfile"
)

// download fetches u into dst (atomically), verifying its SHA-256 first. It
// retries transient failures with exponential backoff and returns the
// number of bytes and attempts.
func download(ctx context.Context, opts *FetchOptions, u *url.URL, dst string) (n int64, attempts int, err error) {
	for attempt := 0; ; attempt++ {
		attempts = attempt + 1
		var retryAfter time.Duration
		n, retryAfter, err = downloadOnce(ctx, opts, u, dst)
		if err == nil {
			return n, attempts, nil
		}
		if ctx.Err() != nil {
			return 0, attempts, ctx.Err()
		}
		if !isTransient(err) || attempt >= opts.Retries {
			if isTransient(err) && opts.Retries > 0 {
				err = fmt.Errorf("%w (gave up after %d attempts; raise data.retries or data.timeout, or use a mirror via --url)", err, attempts)
			}
			return 0, attempts, err
		}
		wait := backoff(opts.RetryBackoff, attempt, opts.rng)
		if retryAfter > wait {
			wait = retryAfter
		}
		opts.notify(fmt.Sprintf("attempt %d of %d failed: %v; retrying in %s", attempts, opts.Retries+1, err, wait.Round(time.Millisecond)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, attempts, ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is base·2^attempt, capped at 30s, with ±20% jitter.
func backoff(base time.Duration, attempt int, rng *rand.Rand) time.Duration {
	d := base << min(attempt, 10)
	if d > 30*time.Second || d <= 0 {
		d = 30 * time.Second
	}
	if base == 0 {
		return 0
	}
	jitter := 0.8 + 0.4*rng.Float64()
	return time.Duration(float64(d) * jitter)
}

type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

func isTransient(err error) bool {
	var te transientError
	return errors.As(err, &te)
}

// downloadOnce makes one attempt. On success dst holds the verified bytes.
func downloadOnce(parent context.Context, opts *FetchOptions, u *url.URL, dst string) (int64, time.Duration, error) {
	ctx, cancel := context.WithTimeout(parent, opts.Timeout)
	defer cancel()

	body, size, retryAfter, err := open(ctx, opts, u)
	if err != nil {
		return 0, retryAfter, err
	}
	defer body.Close()

	f, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return 0, 0, err
	}
	defer f.Abort()

	h := sha256.New()
	w := io.MultiWriter(f, h)
	var prog Progress
	if opts.NewProgress != nil {
		prog = opts.NewProgress(size, "downloading "+displayName(u))
		w = io.MultiWriter(w, prog)
	}
	n, err := io.Copy(w, &ctxReader{ctx: ctx, r: body})
	if prog != nil {
		prog.Finish()
	}
	if err != nil {
		if parent.Err() != nil {
			return 0, 0, parent.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, 0, transientError{fmt.Errorf("download timed out after %s (data.timeout)", opts.Timeout)}
		}
		return 0, 0, transientError{fmt.Errorf("download interrupted after %d bytes: %w", n, err)}
	}
	if size >= 0 && n != size {
		return 0, 0, transientError{fmt.Errorf("download truncated: got %d of %d bytes", n, size)}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != opts.SHA256 {
		return 0, 0, &ChecksumError{URL: redact(u), Want: opts.SHA256, Got: got}
	}
	return n, 0, f.Commit()
}

// open returns the body of u and its size (-1 when unknown).
func open(ctx context.Context, opts *FetchOptions, u *url.URL) (io.ReadCloser, int64, time.Duration, error) {
	if u.Scheme == "file" {
		f, err := os.Open(u.Path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, 0, 0, fmt.Errorf("%s does not exist: check data.url", u.Path)
			}
			return nil, 0, 0, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, 0, err
		}
		if !st.Mode().IsRegular() {
			f.Close()
			return nil, 0, 0, fmt.Errorf("%s is not a regular file: check data.url", u.Path)
		}
		return f, st.Size(), 0, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, 0, err
	}
	req.Header.Set("User-Agent", opts.UserAgent)
	resp, err := opts.Client.Do(req)
	if err != nil {
		// *url.Error repeats the method and URL that our message gives.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, 0, 0, transientError{fmt.Errorf("GET %s: timed out after %s (data.timeout)", redact(u), opts.Timeout)}
		}
		if isNetworkError(err) {
			return nil, 0, 0, transientError{fmt.Errorf("GET %s: %w", redact(u), err)}
		}
		return nil, 0, 0, fmt.Errorf("GET %s: %w", redact(u), err)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		he := &HTTPError{URL: redact(u), StatusCode: resp.StatusCode, Status: resp.Status}
		if he.transient() {
			return nil, 0, retryAfter(resp.Header.Get("Retry-After")), transientError{he}
		}
		return nil, 0, 0, fmt.Errorf("%w: check data.url", he)
	}
	return resp.Body, resp.ContentLength, 0, nil
}

func isNetworkError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// retryAfter parses a Retry-After header given in seconds (dates are
// ignored); the wait is capped at one minute.
func retryAfter(h string) time.Duration {
	s, err := strconv.Atoi(h)
	if err != nil || s < 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, time.Minute)
}

// ctxReader stops a copy when ctx is done, also for readers (files) that do
// not watch the context themselves.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// redact drops credentials from a URL before it is shown.
func redact(u *url.URL) string { return u.Redacted() }

func displayName(u *url.URL) string {
	if u.Scheme == "file" {
		return u.Path
	}
	return u.Host
}
