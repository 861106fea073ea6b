package dvc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/housectl/housectl/pkg/atomicfile"
)

const stateHeader = "housectl-state v1"

// stateKey is what makes a file "unchanged": DVC's (inode, mtime, size).
type stateKey struct {
	Inode uint64
	Mtime int64 // ns
	Size  int64
}

// State remembers the id of every file hashed, keyed by path and
// (inode, mtime, size), so that an unchanged file is not hashed again.
//
// It is a cache: a missing, truncated or garbled state file only costs
// re-hashing. It is saved with temp + fsync + rename, so a crash leaves
// the old or the new table. Entries whose mtime is not older than the
// moment the table was saved are not trusted (git's "racily clean" rule):
// the file may have changed again within the same clock tick.
type State struct {
	path    string
	mu      sync.Mutex
	entries map[string]stateEntry
	// complete maps a directory id whose objects were all found in the
	// cache to a signature of the fan-out directories holding them.
	complete map[ID]uint64
	savedAt  int64 // ns, from the file
	dirty    bool
}

type stateEntry struct {
	key stateKey
	id  ID
}

// OpenState loads the table at path; a missing or unreadable one is empty.
func OpenState(path string) *State {
	s := &State{path: path, entries: map[string]stateEntry{}, complete: map[ID]uint64{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return s
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		return s
	}
	head := strings.Fields(sc.Text())
	if len(head) != 3 || head[0]+" "+head[1] != stateHeader {
		return s
	}
	s.savedAt, _ = strconv.ParseInt(head[2], 10, 64)
	for sc.Scan() {
		if c, ok := strings.CutPrefix(sc.Text(), "complete "); ok {
			id, sig, _ := strings.Cut(c, " ")
			if n, err := strconv.ParseUint(sig, 10, 64); err == nil {
				s.complete[ID(id)] = n
			}
			continue
		}
		// inode mtime size id "quoted path"
		var f [5]string
		rest := sc.Text()
		for i := range 4 {
			f[i], rest, _ = strings.Cut(rest, " ")
		}
		f[4] = rest
		ino, e1 := strconv.ParseUint(f[0], 10, 64)
		mt, e2 := strconv.ParseInt(f[1], 10, 64)
		sz, e3 := strconv.ParseInt(f[2], 10, 64)
		p, e4 := unquote(f[4])
		if e1 != nil || e2 != nil || e3 != nil || e4 != nil || len(f[3]) < 32 {
			continue
		}
		s.entries[p] = stateEntry{key: stateKey{ino, mt, sz}, id: ID(f[3])}
	}
	return s
}

// unquote is strconv.Unquote with a fast path for quoted strings that
// need no unescaping.
func unquote(q string) (string, error) {
	if len(q) >= 2 && q[0] == '"' && q[len(q)-1] == '"' && !strings.ContainsAny(q[1:len(q)-1], `\"`) {
		return q[1 : len(q)-1], nil
	}
	return strconv.Unquote(q)
}

func keyOf(fi fs.FileInfo) stateKey {
	k := stateKey{Mtime: fi.ModTime().UnixNano(), Size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.Inode = st.Ino
	}
	return k
}

func keyOfStat(st *unix.Stat_t) stateKey {
	return stateKey{Inode: st.Ino, Mtime: st.Mtim.Nano(), Size: st.Size}
}

// Get returns the remembered id of the file at path if fi says it has not
// changed since.
func (s *State) Get(path string, fi fs.FileInfo) (ID, bool) { return s.get(path, keyOf(fi)) }

func (s *State) get(path string, k stateKey) (ID, bool) {
	if s == nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[path]
	if !ok || e.key != k || k.Mtime >= s.savedAt {
		return "", false
	}
	return e.id, true
}

// Put remembers the id of the file at path.
func (s *State) Put(path string, fi fs.FileInfo, id ID) { s.put(path, keyOf(fi), id) }

func (s *State) put(path string, k stateKey, id ID) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[path]; ok && e.key == k && e.id == id {
		return
	}
	s.entries[path] = stateEntry{key: k, id: id}
	s.dirty = true
}

// Complete returns the fan-out signature recorded when every object of the
// directory id was last found in the cache.
func (s *State) Complete(id ID) (uint64, bool) {
	if s == nil {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sig, ok := s.complete[id]
	return sig, ok
}

// SetComplete records that every object of the directory id is cached.
func (s *State) SetComplete(id ID, sig uint64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.complete[id] != sig {
		s.complete[id] = sig
		s.dirty = true
	}
}

// Save writes the table if it changed, or if entries were too new to be
// trusted when it was loaded (saving now makes them trustworthy).
func (s *State) Save() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UnixNano()
	if !s.dirty {
		racy := false
		for _, e := range s.entries {
			if e.key.Mtime >= s.savedAt {
				racy = true
				break
			}
		}
		if !racy {
			return nil
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", stateHeader, now)
	for p, e := range s.entries {
		fmt.Fprintf(&b, "%d %d %d %s %s\n", e.key.Inode, e.key.Mtime, e.key.Size, e.id, strconv.Quote(p))
	}
	for id, sig := range s.complete {
		fmt.Fprintf(&b, "complete %s %d\n", id, sig)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path, b.Bytes(), 0o644); err != nil && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	s.savedAt, s.dirty = now, false
	return nil
}
