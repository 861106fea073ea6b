package dvc

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// rule is one pattern of an ignore file (.dvcignore, .gitignore,
// .git/info/exclude), in gitignore(5) syntax, matched by go-git's
// implementation of it.
type rule struct {
	pattern gitignore.Pattern
	source  string // the file, relative to the root
	line    int
	text    string
}

// rules are the patterns of several ignore files, in the order git reads
// them: a file's own patterns after its parent directories'.
type rules []rule

// readRules appends the patterns of the ignore file at abs, which applies
// to dir (slash-separated, relative to the root; "" for the root). DVC
// reads a .dvcignore line with the surrounding whitespace stripped
// (str.strip), so that "\ " cannot keep a trailing space; git keeps
// leading whitespace, and trailing whitespace unless escaped.
func (rs *rules) readRules(abs, dir, source string, dvcStrip bool) error {
	f, err := os.Open(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var domain []string
	if dir != "" {
		domain = strings.Split(dir, "/")
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		if dvcStrip {
			text = strings.TrimSpace(text)
		}
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		*rs = append(*rs, rule{pattern: gitignore.ParsePattern(globNegation(text), domain), source: source, line: n, text: strings.TrimSpace(text)})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", abs, err)
	}
	return nil
}

// globNegation writes a class's negation "[!...]" as "[^...]", the form
// go-git's matcher (Go's path.Match) understands; git takes both.
func globNegation(p string) string {
	b := []byte(p)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\\':
			i++
		case b[i] == '[' && i+1 < len(b) && b[i+1] == '!':
			b[i+1] = '^'
		}
	}
	return string(b)
}

// match reports how the last pattern that matches rel (slash-separated,
// relative to the root) decides it, and that pattern's
// "source:line:text". It does not look at rel's parent directories.
func (rs rules) match(rel string, isDir bool) (gitignore.MatchResult, string) {
	parts := strings.Split(rel, "/")
	for i := len(rs) - 1; i >= 0; i-- {
		switch rs[i].pattern.Match(parts, isDir) {
		case gitignore.Exclude:
			return gitignore.Exclude, fmt.Sprintf("%s:%d:%s", rs[i].source, rs[i].line, rs[i].text)
		case gitignore.Include:
			return gitignore.Include, ""
		}
	}
	return gitignore.NoMatch, ""
}

// ignoredWithParents is match as git applies it to a path: a path inside
// an excluded directory is excluded, whatever follows.
func (rs rules) ignoredWithParents(rel string, isDir bool) (bool, string) {
	parts := strings.Split(rel, "/")
	for i := 1; i <= len(parts); i++ {
		if res, why := rs.match(strings.Join(parts[:i], "/"), i < len(parts) || isDir); res == gitignore.Exclude {
			return true, why
		}
	}
	return false, ""
}

// GitRoot returns the nearest directory at or above dir that holds .git,
// or "" when there is none.
func GitRoot(dir string) string {
	for {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// GitIgnored reports whether git ignores abs (.git/info/exclude and the
// .gitignore files from the work tree's root down to abs's directory), and
// the pattern that decides it. DVC asks the same before it writes a
// .gitignore entry (it writes none for a path git already ignores) and
// before it writes a .dvc file (it refuses one that git would ignore). It
// is false outside a git work tree.
func GitIgnored(abs string, isDir bool) (bool, string, error) {
	root := GitRoot(filepath.Dir(abs))
	if root == "" {
		return false, "", nil
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return false, "", err
	}
	rel = filepath.ToSlash(rel)
	var rs rules
	if err := rs.readRules(filepath.Join(root, ".git", "info", "exclude"), "", ".git/info/exclude", false); err != nil {
		return false, "", err
	}
	dir := ""
	for _, p := range append([]string{""}, strings.Split(path.Dir(rel), "/")...) {
		if p == "." {
			break
		}
		dir = path.Join(dir, p)
		if err := rs.readRules(filepath.Join(root, filepath.FromSlash(dir), ".gitignore"), dir, path.Join(dir, ".gitignore"), false); err != nil {
			return false, "", err
		}
	}
	ignored, why := rs.ignoredWithParents(rel, isDir)
	return ignored, why, nil
}
