package dvc

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// IgnoreFile is the name of DVC's ignore files.
const IgnoreFile = ".dvcignore"

// alwaysIgnored are never data, whatever .dvcignore says.
var alwaysIgnored = map[string]bool{".git": true, ".hg": true, ".dvc": true}

// Ignore decides which paths DVC operations skip: .git, .hg and .dvc
// always, and whatever the .dvcignore files say (gitignore syntax; a
// nested file applies to its subtree; the last matching rule wins).
type Ignore struct {
	root  string
	rules rules
	read  map[string]bool // directories whose .dvcignore was read
}

// NewIgnore returns the matcher for a repository root. Nested .dvcignore
// files are read as Walk or Match reaches their directories.
func NewIgnore(root string) (*Ignore, error) {
	ig := &Ignore{root: root, read: map[string]bool{}}
	return ig, ig.load("")
}

// load reads dir/.dvcignore (dir relative to root, slash-separated).
func (ig *Ignore) load(dir string) error {
	if ig.read[dir] {
		return nil
	}
	ig.read[dir] = true
	return ig.rules.readRules(filepath.Join(ig.root, filepath.FromSlash(dir), IgnoreFile), dir, path.Join(dir, IgnoreFile), true)
}

// Match reports whether rel (slash-separated, relative to the root) is
// ignored, and the rule that decided it ("" for the built-in names).
// Parent directories' .dvcignore files must have been loaded (Walk and
// Check do that).
func (ig *Ignore) Match(rel string, isDir bool) (bool, string) {
	if len(ig.rules) == 0 && !strings.Contains(rel, ".") {
		return false, "" // no rules, and no .git/.hg/.dvc component
	}
	for _, p := range strings.Split(rel, "/") {
		if alwaysIgnored[p] {
			return true, ""
		}
	}
	if res, why := ig.rules.match(rel, isDir); res == gitignore.Exclude {
		return true, why
	}
	return false, ""
}

// Check returns an error like DVC's when rel, or a directory above it, is
// ignored, loading the .dvcignore files on the way.
func (ig *Ignore) Check(rel string, isDir bool) error {
	parts := strings.Split(rel, "/")
	for i := range parts {
		dir := strings.Join(parts[:i], "/")
		if err := ig.load(dir); err != nil {
			return err
		}
		sub := strings.Join(parts[:i+1], "/")
		if ignored, why := ig.Match(sub, i < len(parts)-1 || isDir); ignored {
			if why == "" {
				return fmt.Errorf("path '%s' is inside %s, which DVC always ignores", rel, parts[i])
			}
			return fmt.Errorf("path '%s' is ignored by %s", rel, why)
		}
	}
	return nil
}
