package data

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxMembers bounds how many entries an archive may have.
const maxMembers = 1000

// Member is one regular file of an archive.
type Member struct {
	Name string // slash-separated, relative, clean
	Data []byte
}

// readArchive reads every member of a gzip-compressed tar into memory,
// refusing anything unsafe before returning: absolute names, names that
// climb out with "..", links, devices and FIFOs, members over maxBytes, and
// a total over 4×maxBytes (a decompression bomb). Directories are skipped;
// their files carry the path.
func readArchive(ctx context.Context, archive string, maxBytes int64) ([]Member, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadArchive(ctx, f, maxBytes)
}

// ReadArchive is readArchive on a stream.
func ReadArchive(ctx context.Context, r io.Reader, maxBytes int64) ([]Member, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, &ArchiveError{Reason: "not a gzip file: " + err.Error()}
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var members []Member
	var total int64
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &ArchiveError{Reason: "not a valid tar archive: " + err.Error()}
		}
		if i >= maxMembers {
			return nil, &ArchiveError{Reason: fmt.Sprintf("more than %d entries", maxMembers)}
		}
		name, err := safeName(hdr.Name)
		if err != nil {
			return nil, &ArchiveError{Member: hdr.Name, Reason: err.Error()}
		}
		switch hdr.Typeflag {
		case tar.TypeDir, tar.TypeXGlobalHeader:
			continue
		case tar.TypeReg:
		case tar.TypeSymlink, tar.TypeLink:
			return nil, &ArchiveError{Member: hdr.Name, Reason: fmt.Sprintf("is a link (to %q); links are never extracted", hdr.Linkname)}
		default:
			return nil, &ArchiveError{Member: hdr.Name, Reason: fmt.Sprintf("is not a regular file (tar type %q)", hdr.Typeflag)}
		}
		if hdr.Size > maxBytes {
			return nil, &ArchiveError{Member: hdr.Name, Reason: fmt.Sprintf("is %d bytes, over the %d-byte limit (data.max_member_bytes)", hdr.Size, maxBytes)}
		}
		total += hdr.Size
		if total > 4*maxBytes {
			return nil, &ArchiveError{Member: hdr.Name, Reason: fmt.Sprintf("the members add up to more than %d bytes (4 × data.max_member_bytes)", 4*maxBytes)}
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return nil, &ArchiveError{Member: hdr.Name, Reason: "truncated: " + err.Error()}
		}
		for _, m := range members {
			if m.Name == name {
				return nil, &ArchiveError{Member: hdr.Name, Reason: "appears twice"}
			}
		}
		members = append(members, Member{Name: name, Data: data})
	}
	if len(members) == 0 {
		return nil, &ArchiveError{Reason: "it holds no files"}
	}
	return members, nil
}

// safeName returns the cleaned member name, or an error if extracting it
// could write outside the target directory.
func safeName(name string) (string, error) {
	if strings.ContainsRune(name, '\\') {
		return "", errors.New("has a backslash in its name")
	}
	if strings.HasPrefix(name, "/") || filepath.IsAbs(name) {
		return "", errors.New("has an absolute path")
	}
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", errors.New(`climbs out of the target directory with ".."`)
	}
	if !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", errors.New("is not a local path")
	}
	return clean, nil
}
