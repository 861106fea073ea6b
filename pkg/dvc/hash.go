package dvc

import (
	"bytes"
	"crypto/md5" //nolint:gosec // MD5 is DVC's content address, not a security boundary.
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// chunkSize is DVC's read size, and ours.
const chunkSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// HashReader returns the DVC 3 id (plain MD5 of the raw bytes) and size of
// everything r yields. Memory use does not grow with the size.
func HashReader(r io.Reader) (ID, int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	h := md5.New() //nolint:gosec
	n, err := io.CopyBuffer(h, onlyReader{r}, *bp)
	if err != nil {
		return "", n, err
	}
	return ID(hex.EncodeToString(h.Sum(nil))), n, nil
}

// onlyReader hides WriterTo/ReaderFrom so that CopyBuffer uses our 1 MiB
// buffer instead of a 32 KiB one.
type onlyReader struct{ io.Reader }

// HashFile hashes the file at path as DVC 3 does.
func HashFile(path string) (ID, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	id, n, err := HashReader(f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return id, n, nil
}

// HashLegacyReader returns DVC 2's "md5-dos2unix" id: every 1 MiB chunk
// that looks like text has its CRLF turned into LF before hashing (the test
// is re-made per chunk, as dvc-data does). The size is of the raw bytes.
func HashLegacyReader(r io.Reader) (ID, int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	h := md5.New() //nolint:gosec
	var total int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			total += int64(n)
			chunk := buf[:n]
			if IsTextBlock(chunk) {
				chunk = bytes.ReplaceAll(chunk, []byte("\r\n"), []byte("\n"))
			}
			h.Write(chunk)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return "", total, err
		}
	}
	return ID(hex.EncodeToString(h.Sum(nil))), total, nil
}

// IsTextBlock is DVC 2's text heuristic on the first 512 bytes of b: empty
// is text, a NUL byte is binary, otherwise binary when more than 30 % of the
// bytes are outside printable ASCII and \n \r \t \f \b.
func IsTextBlock(b []byte) bool {
	if len(b) > 512 {
		b = b[:512]
	}
	if len(b) == 0 {
		return true
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	nontext := 0
	for _, c := range b {
		if !(c >= 0x20 && c <= 0x7e || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\b') {
			nontext++
		}
	}
	return float64(nontext)/float64(len(b)) <= 0.30
}

// hashPath hashes the file at path with raw system calls: no poller
// registration, no finaliser, and a single read when it returns the whole
// file (a short read of a regular file at its stat size is its end). It
// returns the id and the file's stat, taken from the open descriptor.
func hashPath(path string, legacy bool) (ID, *unix.Stat_t, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return "", nil, &os.PathError{Op: "read", Path: path, Err: unix.EISDIR}
	}
	if legacy {
		id, _, err := HashLegacyReader(fdReader(fd))
		return id, &st, err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	h := md5.New() //nolint:gosec
	var total int64
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n <= 0 {
			break
		}
		h.Write(buf[:n])
		total += int64(n)
		if n < len(buf) && total == st.Size {
			break
		}
	}
	if total != st.Size {
		return "", nil, fmt.Errorf("%s changed while it was being hashed", path)
	}
	return ID(hex.EncodeToString(h.Sum(nil))), &st, nil
}

// fdReader reads a raw descriptor.
type fdReader int

func (f fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(f), p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}
