package dvc

import (
	"regexp"
	"strings"
)

// pattern is one gitignore-syntax line of a .dvcignore file, compiled to a
// regular expression over slash-separated paths relative to the repository
// root.
//
// The syntax (gitignore(5), which DVC's pathspec follows): '#' starts a
// comment; '!' negates; a trailing '/' matches directories only; a pattern
// with a '/' anywhere but at its end is anchored to the directory of its
// .dvcignore, otherwise it matches a name at any depth below it; '*' and '?'
// do not cross '/'; '[...]' is a class ('!' or '^' negates it); a leading
// "**/" matches any directories, a trailing "/**" everything inside, and
// "/**/" zero or more directories; '\' escapes the next character.
type pattern struct {
	re      *regexp.Regexp
	negate  bool
	dirOnly bool
}

// parsePattern compiles a line found in the .dvcignore of dir (relative to
// the root, "" for the root). It returns ok=false for blank and comment
// lines.
func parsePattern(line, dir string) (pattern, bool) {
	p := strings.TrimRight(line, " \t\r")
	if strings.HasSuffix(p, `\`) && strings.HasSuffix(line, " ") {
		p += " " // "\ " keeps an escaped trailing space
	}
	if p == "" || strings.HasPrefix(p, "#") {
		return pattern{}, false
	}
	var pt pattern
	if strings.HasPrefix(p, "!") {
		pt.negate, p = true, p[1:]
	}
	if strings.HasSuffix(p, "/") {
		pt.dirOnly, p = true, strings.TrimRight(p, "/")
	}
	if p == "" {
		return pattern{}, false
	}
	anchored := strings.Contains(p, "/")
	p = strings.TrimPrefix(p, "/")

	var re strings.Builder
	re.WriteString("^")
	if dir != "" {
		re.WriteString(regexp.QuoteMeta(dir) + "/")
	}
	if !anchored {
		re.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			i++
			re.WriteString(regexp.QuoteMeta(p[i : i+1]))
		case strings.HasPrefix(p[i:], "**/"):
			re.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "/**") && i+3 == len(p):
			re.WriteString("/.*")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			re.WriteString(".*")
			i++
		case c == '*':
			re.WriteString("[^/]*")
		case c == '?':
			re.WriteString("[^/]")
		case c == '[':
			end := strings.IndexByte(p[i+1:], ']')
			if end < 0 {
				re.WriteString(`\[`)
				continue
			}
			class := p[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			re.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	var err error
	if pt.re, err = regexp.Compile(re.String()); err != nil {
		return pattern{}, false
	}
	return pt, true
}

// match reports whether the pattern applies to rel.
func (p pattern) match(rel string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	return p.re.MatchString(rel)
}
