package dvc

import (
	"crypto/md5" //nolint:gosec // DVC's content address.
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Entry is one file of a directory manifest.
type Entry struct {
	MD5     ID     `json:"md5"`
	RelPath string `json:"relpath"` // slash-separated, relative to the directory
}

// Manifest is a directory's files, sorted by RelPath (code-point order).
type Manifest []Entry

// Sort orders the entries by relpath string, as DVC does: a global sort,
// not a directory walk ("a-b.csv" < "a.csv" < "a/b.csv").
func (m Manifest) Sort() {
	slices.SortFunc(m, func(a, b Entry) int { return strings.Compare(a.RelPath, b.RelPath) })
}

// Encode serialises the manifest exactly as Python's
// json.dumps(entries, sort_keys=True) does: ", " and ": " separators, keys
// in order (md5, relpath), every character outside 0x20-0x7E escaped as
// \uXXXX (astral characters as surrogate pairs), no trailing newline.
func (m Manifest) Encode() []byte {
	size := 2
	for _, e := range m {
		size += 64 + len(e.RelPath)
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, e := range m {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, `{"md5": `...)
		b = appendPyJSONString(b, string(e.MD5))
		b = append(b, `, "relpath": `...)
		b = appendPyJSONString(b, e.RelPath)
		b = append(b, '}')
	}
	return append(b, ']')
}

// ID is the directory's id: md5 of Encode() plus ".dir".
func (m Manifest) ID() ID {
	sum := md5.Sum(m.Encode()) //nolint:gosec
	return ID(hex.EncodeToString(sum[:]) + DirSuffix)
}

// DecodeManifest parses a cached .dir object and checks its entries.
func DecodeManifest(b []byte) (Manifest, error) {
	var raw []struct {
		MD5     string `json:"md5"`
		RelPath string `json:"relpath"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("directory manifest is not valid JSON: %w", err)
	}
	m := make(Manifest, len(raw))
	for i, r := range raw {
		id, err := ParseID(r.MD5)
		if err != nil || id.IsDir() {
			return nil, fmt.Errorf("directory manifest entry %d: bad md5 %q", i, r.MD5)
		}
		if r.RelPath == "" || strings.HasPrefix(r.RelPath, "/") || slices.Contains(strings.Split(r.RelPath, "/"), "..") {
			return nil, fmt.Errorf("directory manifest entry %d: unsafe relpath %q", i, r.RelPath)
		}
		m[i] = Entry{MD5: id, RelPath: r.RelPath}
	}
	return m, nil
}

// appendPyJSONString appends s as Python's json.dumps(ensure_ascii=True)
// writes a string.
func appendPyJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch r {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		default:
			switch {
			case r >= 0x20 && r <= 0x7e:
				b = append(b, byte(r))
			case r > 0xffff:
				r1, r2 := utf16.EncodeRune(r)
				b = appendU(appendU(b, r1), r2)
			default:
				b = appendU(b, r)
			}
		}
	}
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	h := strconv.FormatInt(int64(r), 16)
	b = append(b, `\u`...)
	for range 4 - len(h) {
		b = append(b, '0')
	}
	return append(b, h...)
}

// StatusJSON renders status as `dvc status --json` prints it when its
// output is not a terminal: Python's json.dumps, one line, ASCII only:
// {"data/raw.dvc": [{"changed outs": {"data/raw": "modified"}}]}. Files
// and paths are in st's order.
func StatusJSON(st []OutStatus) []byte {
	b := []byte{'{'}
	for i, s := range st {
		if i == 0 || s.DvcFile != st[i-1].DvcFile {
			if i > 0 {
				b = append(b, "}}], "...)
			}
			b = appendPyJSONString(b, s.DvcFile)
			b = append(b, `: [{"changed outs": {`...)
		} else {
			b = append(b, ", "...)
		}
		b = appendPyJSONString(b, s.Path)
		b = append(b, ": "...)
		b = appendPyJSONString(b, s.Status)
	}
	if len(st) > 0 {
		b = append(b, "}}]"...)
	}
	return append(b, '}')
}

// CloudStatusJSON is `dvc status -c --json`: {"path": "new", ...} in the
// entries' order, on one line as DVC writes it off a terminal, or
// indented by 2 as on one.
func CloudStatusJSON(st []CloudEntry, indent bool) []byte {
	sep, open, end := ", ", "{", "}"
	if indent && len(st) > 0 {
		sep, open, end = ",\n  ", "{\n  ", "\n}"
	}
	b := []byte(open)
	for i, e := range st {
		if i > 0 {
			b = append(b, sep...)
		}
		b = appendPyJSONString(b, e.Name)
		b = append(b, ": "...)
		b = appendPyJSONString(b, e.Status)
	}
	return append(b, end...)
}
