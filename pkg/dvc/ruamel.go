package dvc

import (
	"regexp"
	"strings"
)

// DVC writes .dvc files with ruamel.yaml (round-trip mode, YAML 1.2, width
// 80, allow_unicode). These functions choose and write a string scalar the
// way its emitter does (emitter.py: analyze_scalar, choose_scalar_style,
// write_plain, write_single_quoted, write_double_quoted), so that a file
// housectl writes is byte for byte the file `dvc add` writes, and real DVC
// never meets a bare scalar that its resolver reads as something else
// ("path: =" is the YAML 1.1 value tag, and DVC refuses the repository).
// testdata/ruamel-scalars.json holds what DVC's own dumps_yaml printed.

// ruamelWidth is ruamel's default best_width.
const ruamelWidth = 80

// ruamelResolvers are ruamel's implicit resolvers for YAML 1.2 (resolver.py):
// a plain scalar matching one of them is not a string.
var ruamelResolvers = []*regexp.Regexp{
	regexp.MustCompile(`^(?:true|True|TRUE|false|False|FALSE)$`),
	regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`),
	regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$`),
	regexp.MustCompile(`^(?:<<)$`),
	regexp.MustCompile(`^(?:~|null|Null|NULL|)$`),
	regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`),
	regexp.MustCompile(`^(?:=)$`),
	regexp.MustCompile(`^(?:!|&|\*)$`),
}

// plainIsString reports whether ruamel reads v, written plain, back as the
// string v. Python's `$` also matches before a final newline.
func plainIsString(v string) bool {
	for _, re := range ruamelResolvers {
		if re.MatchString(v) || (strings.HasSuffix(v, "\n") && re.MatchString(v[:len(v)-1])) {
			return false
		}
	}
	return true
}

func isBreak(r rune) bool { return r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029 }

func isSpaceOrBreak(r rune) bool { return r == 0 || r == ' ' || r == '\t' || r == '\r' || isBreak(r) }

// ruamelPrintable is what the emitter writes raw with allow_unicode.
func ruamelPrintable(r rune) bool {
	return r == '\n' || (r >= 0x20 && r <= 0x7e) ||
		((r == 0x85 || (r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd) || (r >= 0x10000 && r <= 0x10ffff)) && r != 0xfeff)
}

// ruamelStyle is the style ruamel's emitter picks for a string value in a
// block mapping: 0 (plain), '\” or '"'.
func ruamelStyle(v string) byte {
	s := []rune(v)
	if len(s) == 0 {
		return '\'' // '' resolves to null
	}
	var blockIndicators, lineBreaks, special bool
	var leadingSpace, leadingBreak, trailingSpace, trailingBreak, breakSpace, spaceBreak bool
	if strings.HasPrefix(v, "---") || strings.HasPrefix(v, "...") {
		blockIndicators = true
	}
	precededByWS := true
	followedByWS := len(s) == 1 || isSpaceOrBreak(s[1])
	prevSpace, prevBreak := false, false
	for i, ch := range s {
		if i == 0 {
			if strings.ContainsRune("#,[]{}&*!|>'\"%@`", ch) {
				blockIndicators = true
			}
			if (ch == '?' || ch == ':') && followedByWS {
				blockIndicators = true
			}
			if ch == '-' && followedByWS {
				blockIndicators = true
			}
		} else {
			if ch == ':' && followedByWS {
				blockIndicators = true
			}
			if ch == '#' && precededByWS {
				blockIndicators = true
			}
		}
		if isBreak(ch) {
			lineBreaks = true
		}
		if !ruamelPrintable(ch) {
			special = true
		}
		switch {
		case ch == ' ':
			if i == 0 {
				leadingSpace = true
			}
			if i == len(s)-1 {
				trailingSpace = true
			}
			if prevBreak {
				breakSpace = true
			}
			prevSpace, prevBreak = true, false
		case isBreak(ch):
			if i == 0 {
				leadingBreak = true
			}
			if i == len(s)-1 {
				trailingBreak = true
			}
			if prevSpace {
				spaceBreak = true
			}
			prevSpace, prevBreak = false, true
		default:
			prevSpace, prevBreak = false, false
		}
		precededByWS = isSpaceOrBreak(ch)
		followedByWS = i+2 >= len(s) || isSpaceOrBreak(s[i+2])
	}
	plain, single := true, true
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		plain = false
	}
	if breakSpace || special || spaceBreak {
		plain, single = false, false
	}
	if lineBreaks || blockIndicators {
		plain = false
	}
	switch {
	case plain && plainIsString(v):
		return 0
	case strings.ContainsAny(v, "'\n"):
		return '"'
	case single:
		return '\''
	}
	return '"'
}

// ruamelWriter writes one scalar from a column, wrapping lines at
// ruamelWidth to an indent, as ruamel's writers do (columns count code
// points).
type ruamelWriter struct {
	b      strings.Builder
	column int
	indent int
}

func (w *ruamelWriter) write(s []rune) {
	w.b.WriteString(string(s))
	w.column += len(s)
}

// newline is write_indent in the middle of a line: a line break, then the
// indent.
func (w *ruamelWriter) newline() {
	w.b.WriteByte('\n')
	w.column = 0
	w.pad()
}

func (w *ruamelWriter) pad() {
	if w.column < w.indent {
		w.b.WriteString(strings.Repeat(" ", w.indent-w.column))
		w.column = w.indent
	}
}

// lineBreak is write_line_break(br) then write_indent.
func (w *ruamelWriter) lineBreak(br rune) {
	w.b.WriteRune(br)
	w.column = 0
}

// ruamelScalar renders v as ruamel writes it as a value that starts at
// column, continuation lines indented to indent.
func ruamelScalar(v string, column, indent int) string {
	w := &ruamelWriter{column: column, indent: indent}
	text := []rune(v)
	switch ruamelStyle(v) {
	case 0:
		w.plain(text)
	case '\'':
		w.single(text)
	default:
		w.double(text)
	}
	return w.b.String()
}

func (w *ruamelWriter) plain(text []rune) {
	spaces := false
	start := 0
	for end := 0; end <= len(text); end++ {
		ch := rune(-1)
		if end < len(text) {
			ch = text[end]
		}
		if spaces {
			if ch != ' ' {
				if start+1 == end && w.column > ruamelWidth {
					w.newline()
				} else {
					w.write(text[start:end])
				}
				start = end
			}
		} else if ch == -1 || ch == ' ' {
			w.write(text[start:end])
			start = end
		}
		if ch != -1 {
			spaces = ch == ' '
		}
	}
}

func (w *ruamelWriter) single(text []rune) {
	w.write([]rune("'"))
	spaces, breaks := false, false
	start := 0
	for end := 0; end <= len(text); end++ {
		ch := rune(-1)
		if end < len(text) {
			ch = text[end]
		}
		switch {
		case spaces:
			if ch != ' ' {
				if start+1 == end && w.column > ruamelWidth && start != 0 && end != len(text) {
					w.newline()
				} else {
					w.write(text[start:end])
				}
				start = end
			}
		case breaks:
			if ch == -1 || !isBreak(ch) {
				if text[start] == '\n' {
					w.lineBreak('\n')
				}
				for _, br := range text[start:end] {
					w.lineBreak(br)
				}
				w.pad()
				start = end
			}
		default:
			if ch == -1 || ch == ' ' || isBreak(ch) || ch == '\'' {
				if start < end {
					w.write(text[start:end])
					start = end
				}
			}
		}
		if ch == '\'' {
			w.write([]rune("''"))
			start = end + 1
		}
		if ch != -1 {
			spaces, breaks = ch == ' ', isBreak(ch)
		}
	}
	w.write([]rune("'"))
}

var ruamelEscapes = map[rune]string{
	0: "0", 0x07: "a", 0x08: "b", 0x09: "t", 0x0a: "n", 0x0b: "v", 0x0c: "f", 0x0d: "r", 0x1b: "e",
	'"': `"`, '\\': `\`, 0x85: "N", 0xa0: "_", 0x2028: "L", 0x2029: "P",
}

func (w *ruamelWriter) double(text []rune) {
	w.write([]rune(`"`))
	start := 0
	for end := 0; end <= len(text); end++ {
		ch := rune(-1)
		if end < len(text) {
			ch = text[end]
		}
		raw := ch != -1 && !strings.ContainsRune("\"\\\u0085\u2028\u2029\uFEFF", ch) &&
			((ch >= 0x20 && ch <= 0x7e) || (ch >= 0xa0 && ch <= 0xd7ff) || (ch >= 0xe000 && ch <= 0xfffd))
		if !raw {
			if start < end {
				w.write(text[start:end])
				start = end
			}
			if ch != -1 {
				var esc string
				switch e, ok := ruamelEscapes[ch]; {
				case ok:
					esc = `\` + e
				case ch <= 0xff:
					esc = `\x` + hexUpper(int(ch), 2)
				case ch <= 0xffff:
					esc = `\u` + hexUpper(int(ch), 4)
				default:
					esc = `\U` + hexUpper(int(ch), 8)
				}
				w.write([]rune(esc))
				start = end + 1
			}
		}
		if end > 0 && end < len(text)-1 && (ch == ' ' || start >= end) && w.column+(end-start) > ruamelWidth {
			w.write(append(append([]rune{}, text[start:end]...), '\\'))
			if start < end {
				start = end
			}
			w.newline()
			if text[start] == ' ' {
				w.write([]rune(`\`))
			}
		}
	}
	w.write([]rune(`"`))
}

func hexUpper(v, digits int) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, digits)
	for i := digits - 1; i >= 0; i-- {
		b[i] = hex[v&0xf]
		v >>= 4
	}
	return string(b)
}
