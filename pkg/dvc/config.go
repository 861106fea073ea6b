package dvc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/housectl/housectl/pkg/atomicfile"
)

// Config is .dvc/config in DVC's configobj INI dialect:
//
//	[core]
//	    remote = storage
//	['remote "storage"']
//	    url = /mnt/store
//
// Edits change only the lines they touch; comments and unknown sections
// are kept.
type Config struct {
	path  string
	lines []string
}

// Config reads the repository's .dvc/config (empty if missing).
func (r *Repo) Config() (*Config, error) {
	p := filepath.Join(r.Dir(), "config")
	b, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	c := &Config{path: p}
	if len(b) > 0 {
		c.lines = strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	}
	return c, nil
}

// RemoteSection is the section name of a remote: remote "name".
func RemoteSection(name string) string { return `remote "` + name + `"` }

func sectionName(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "[") || !strings.HasSuffix(t, "]") {
		return "", false
	}
	t = strings.TrimSpace(t[1 : len(t)-1])
	if len(t) >= 2 && (t[0] == '\'' || t[0] == '"') && t[len(t)-1] == t[0] {
		t = t[1 : len(t)-1]
	}
	return t, true
}

func keyValue(line string) (string, string, bool) {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' || t[0] == ';' {
		return "", "", false
	}
	k, v, ok := strings.Cut(t, "=")
	if !ok {
		return "", "", false
	}
	return strings.TrimSpace(k), strings.TrimSpace(v), true
}

// span returns the line range [start, end) of a section's body, start = -1
// when the section is absent.
func (c *Config) span(section string) (int, int) {
	start := -1
	for i, l := range c.lines {
		if name, ok := sectionName(l); ok {
			if start >= 0 {
				return start, i
			}
			if name == section {
				start = i + 1
			}
		}
	}
	if start < 0 {
		return -1, -1
	}
	return start, len(c.lines)
}

// Get returns a key of a section, or "".
func (c *Config) Get(section, key string) string {
	s, e := c.span(section)
	for i := s; i >= 0 && i < e; i++ {
		if k, v, ok := keyValue(c.lines[i]); ok && k == key {
			return v
		}
	}
	return ""
}

// HasSection reports whether the section exists.
func (c *Config) HasSection(section string) bool {
	s, _ := c.span(section)
	return s >= 0
}

// Set sets a key, adding the section if needed.
func (c *Config) Set(section, key, value string) {
	line := "    " + key + " = " + value
	s, e := c.span(section)
	if s < 0 {
		header := "[" + section + "]"
		if strings.ContainsAny(section, ` "`) {
			header = "['" + section + "']"
		}
		c.lines = append(c.lines, header, line)
		return
	}
	for i := s; i < e; i++ {
		if k, _, ok := keyValue(c.lines[i]); ok && k == key {
			c.lines[i] = line
			return
		}
	}
	last := e // after the last non-blank line of the section
	for last > s && strings.TrimSpace(c.lines[last-1]) == "" {
		last--
	}
	c.lines = append(c.lines[:last], append([]string{line}, c.lines[last:]...)...)
}

// Remotes lists the names of the configured remotes.
func (c *Config) Remotes() []string {
	var out []string
	for _, l := range c.lines {
		if name, ok := sectionName(l); ok && strings.HasPrefix(name, `remote "`) {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(name, `remote "`), `"`))
		}
	}
	return out
}

// Save writes the file atomically.
func (c *Config) Save() error {
	data := strings.Join(c.lines, "\n")
	if data != "" {
		data += "\n"
	}
	if err := atomicfile.WriteFile(c.path, []byte(data), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", c.path, err)
	}
	return nil
}
