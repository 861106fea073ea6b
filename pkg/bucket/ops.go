package bucket

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // DVC names objects by MD5; it checks transfers, not secrets
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// Object is one entry of a listing.
type Object struct {
	Name string // the key below the prefix
	Size int64
	ETag string
}

// Has reports whether the bucket holds name (a HEAD request).
func (b *Bucket) Has(ctx context.Context, name string) (bool, error) {
	_, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.Bucket, Key: aws.String(b.Key(name))})
	if err == nil {
		return true, nil
	}
	if err = b.classify("head", b.Key(name), err); errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return false, err
}

// Stat returns the object's ETag, from a HEAD request: the cheap way to
// tell whether an object changed. ErrNotFound if there is none.
func (b *Bucket) Stat(ctx context.Context, name string) (string, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.Bucket, Key: aws.String(b.Key(name))})
	if err != nil {
		return "", b.classify("head", b.Key(name), err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// List yields the objects whose names start with prefix (below the
// bucket's prefix), a page of up to 1,000 per request, in key order.
func (b *Bucket) List(ctx context.Context, prefix string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		full := b.Key(prefix)
		strip := len(b.Key(""))
		p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.Bucket, Prefix: &full, MaxKeys: aws.Int32(1000)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(Object{}, b.classify("list", full, err))
				return
			}
			for _, o := range page.Contents {
				name := aws.ToString(o.Key)
				if len(name) < strip {
					continue
				}
				if !yield(Object{Name: name[strip:], Size: aws.ToInt64(o.Size), ETag: strings.Trim(aws.ToString(o.ETag), `"`)}, nil) {
					return
				}
			}
		}
	}
}

// Get returns a whole object and its ETag.
func (b *Bucket) Get(ctx context.Context, name string) ([]byte, string, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.Bucket, Key: aws.String(b.Key(name))})
	if err != nil {
		return nil, "", b.classify("get", b.Key(name), err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", b.classify("get", b.Key(name), err)
	}
	return data, strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// Cond is the precondition of a Put.
type Cond struct {
	IfAbsent bool   // If-None-Match: *
	IfMatch  string // If-Match: the ETag
}

// Put writes a whole object if cond holds (ErrPrecondition otherwise)
// and returns its ETag. The body's MD5 goes with it, so the server
// refuses a body damaged on the way.
func (b *Bucket) Put(ctx context.Context, name string, data []byte, cond Cond) (string, error) {
	sum := md5.Sum(data) //nolint:gosec // see the import
	in := &s3.PutObjectInput{Bucket: &b.Bucket, Key: aws.String(b.Key(name)), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}
	if cond.IfAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(`"` + cond.IfMatch + `"`)
	}
	out, err := b.client.PutObject(ctx, in, unsignedPayload)
	if err != nil {
		return "", b.classify("put", b.Key(name), err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// unsignedPayload skips SigV4's SHA-256 of the body, a second pass over
// it: the body is checked by its Content-MD5 (or, in parts, by the
// object's name).
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// Delete removes an object (no error if it is absent, as S3 answers).
func (b *Bucket) Delete(ctx context.Context, name string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.Bucket, Key: aws.String(b.Key(name))})
	return b.classify("delete", b.Key(name), err)
}

// MultipartThreshold is the size from which a file goes up in parts.
const MultipartThreshold = 64 << 20

// partSize is the size of one part of a multipart upload.
const partSize = 16 << 20

// PutFile uploads a local file as name, which must hash to md5hex (the
// check is made while reading, before the upload completes: a file that
// does not is refused and nothing is left under name). Small files go in
// one request with their Content-MD5; large ones in parts, in parallel.
func (b *Bucket) PutFile(ctx context.Context, name, src, md5hex string, jobs int) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < MultipartThreshold {
		data, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		if got := md5hexOf(data); got != md5hex {
			return &MismatchError{Path: src, Want: md5hex, Got: got}
		}
		_, err = b.Put(ctx, name, data, Cond{})
		return err
	}
	// In parts: the MD5 is computed as the parts are read, and the
	// upload is completed only if it matches.
	h := md5.New() //nolint:gosec // see the import
	tm := transfermanager.New(b.client, func(o *transfermanager.Options) {
		o.PartSizeBytes = partSize
		o.Concurrency = max(jobs, 1)
		o.MultipartUploadThreshold = MultipartThreshold
	})
	body := &hashingReader{r: f, h: h, size: st.Size(), want: md5hex, path: src}
	_, err = tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: &b.Bucket, Key: aws.String(b.Key(name)), Body: body})
	if me := body.mismatch; me != nil {
		return me
	}
	return b.classify("put", b.Key(name), err)
}

// hashingReader hashes what is read and, at the end, fails the read if
// the whole does not hash to want: the multipart upload is then aborted.
type hashingReader struct {
	r        io.Reader
	h        hash.Hash
	n, size  int64
	want     string
	path     string
	mismatch *MismatchError
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if err == io.EOF || r.n == r.size && err == nil {
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want {
			r.mismatch = &MismatchError{Path: r.path, Want: r.want, Got: got}
			return n, r.mismatch
		}
	}
	return n, err
}

// MismatchError is content that does not hash to its name.
type MismatchError struct {
	Path, Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: content has md5 %s, not %s as its name says: it was changed or damaged", e.Path, e.Got, e.Want)
}

func md5hexOf(b []byte) string {
	s := md5.Sum(b) //nolint:gosec // see the import
	return hex.EncodeToString(s[:])
}

// GetFile downloads name into the local path dst, through a temporary
// file beside it that is renamed only when the content hashes to md5hex
// ("" checks nothing): a damaged or wrong download never reaches dst. A
// large object comes down in parts, jobs at a time, hashed in order as
// they arrive; the first request asks for the first part, which is the
// whole of a small object.
func (b *Bucket) GetFile(ctx context.Context, name, dst, md5hex string, jobs int) error {
	key := b.Key(name)
	first, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.Bucket, Key: &key, Range: aws.String(fmt.Sprintf("bytes=0-%d", partSize-1))})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" { // an empty object has no byte 0
		first, err = b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.Bucket, Key: &key})
	}
	if err != nil {
		return b.classify("get", key, err)
	}
	defer first.Body.Close()
	size := aws.ToInt64(first.ContentLength)
	if cr := aws.ToString(first.ContentRange); cr != "" { // bytes 0-N/TOTAL
		if _, total, ok := strings.Cut(cr, "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil {
				size = n
			}
		}
	}
	tmp, err := createReadOnly(dst)
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmp.Name())
		}
	}()
	h := md5.New() //nolint:gosec // see the import
	w := io.MultiWriter(tmp, h)
	if _, err := io.Copy(w, first.Body); err != nil {
		tmp.Close()
		return b.classify("get", key, err)
	}
	if size > partSize {
		if err := b.getParts(ctx, key, size, max(jobs, 1), w); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); md5hex != "" && got != md5hex {
		return &MismatchError{Path: b.String() + "/" + name, Want: md5hex, Got: got}
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	renamed = true
	return nil
}

// createReadOnly creates a temporary file beside dst, read-only (a
// downloaded object is never changed), making dst's directory if needed.
func createReadOnly(dst string) (*os.File, error) {
	dir, base := filepath.Split(dst)
	for try := 0; ; try++ {
		p := filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64(), 36)+".tmp")
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, fs.ErrNotExist) && try == 0:
			if err := os.MkdirAll(filepath.Clean(dir), 0o755); err != nil {
				return nil, err
			}
		case errors.Is(err, fs.ErrExist) && try < 10:
		default:
			return nil, err
		}
	}
}

// getParts downloads bytes [partSize, size) of key in parts, jobs at a
// time, and writes them to w in order. At most jobs+1 parts are held in
// memory.
func (b *Bucket) getParts(ctx context.Context, key string, size int64, jobs int, w io.Writer) error {
	n := int((size + partSize - 1) / partSize)
	parts := make([]chan []byte, n)
	for i := range parts {
		parts[i] = make(chan []byte, 1)
	}
	g, gctx := errgroup.WithContext(ctx)
	slots := make(chan struct{}, jobs+1) // parts fetched but not yet written
	g.Go(func() error {
		for i := 1; i < n; i++ {
			select {
			case slots <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			g.Go(func() error {
				lo := int64(i) * partSize
				hi := min(lo+partSize, size) - 1
				out, err := b.client.GetObject(gctx, &s3.GetObjectInput{Bucket: &b.Bucket, Key: &key, Range: aws.String(fmt.Sprintf("bytes=%d-%d", lo, hi))})
				if err != nil {
					return b.classify("get", key, err)
				}
				buf := make([]byte, hi-lo+1)
				_, err = io.ReadFull(out.Body, buf)
				out.Body.Close()
				if err != nil {
					return b.classify("get", key, err)
				}
				parts[i] <- buf
				return nil
			})
		}
		return nil
	})
	g.Go(func() error {
		for i := 1; i < n; i++ {
			select {
			case buf := <-parts[i]:
				if _, err := w.Write(buf); err != nil {
					return err
				}
				<-slots
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}
