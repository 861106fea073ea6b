package dvc

import "testing"

func TestPatterns(t *testing.T) {
	tests := []struct {
		line, dir, path string
		isDir, want     bool
	}{
		{"*.log", "", "a.log", false, true},
		{"*.log", "", "deep/er/a.log", false, true},
		{"*.log", "", "a.logx", false, false},
		{"*.log", "sub", "sub/x/a.log", false, true},
		{"*.log", "sub", "other/a.log", false, false},
		{"/top.txt", "", "top.txt", false, true},
		{"/top.txt", "", "sub/top.txt", false, false},
		{"doc/*.md", "", "doc/a.md", false, true},
		{"doc/*.md", "", "doc/x/a.md", false, false},
		{"doc/*.md", "", "x/doc/a.md", false, false},
		{"build/", "", "build", true, true},
		{"build/", "", "build", false, false},
		{"build/", "", "x/build", true, true},
		{"**/cache", "", "a/b/cache", true, true},
		{"**/cache", "", "cache", false, true},
		{"logs/**", "", "logs/a/b.txt", false, true},
		{"logs/**", "", "logs", true, false},
		{"a/**/b", "", "a/b", false, true},
		{"a/**/b", "", "a/x/y/b", false, true},
		{"a/**/b", "", "a/x/y/c", false, false},
		{"file?.csv", "", "file1.csv", false, true},
		{"file?.csv", "", "file12.csv", false, false},
		{"[ab]*.csv", "", "b1.csv", false, true},
		{"[!ab]*.csv", "", "b1.csv", false, false},
		{"[!ab]*.csv", "", "c1.csv", false, true},
		{`\#hash`, "", "#hash", false, true},
		{"name with spaces  ", "", "name with spaces", false, true},
		{"a.b", "", "aXb", false, false},
	}
	for _, tt := range tests {
		p, ok := parsePattern(tt.line, tt.dir)
		if !ok {
			t.Fatalf("%q did not parse", tt.line)
		}
		if got := p.match(tt.path, tt.isDir); got != tt.want {
			t.Errorf("%q (in %q) on %q dir=%v: %v, want %v", tt.line, tt.dir, tt.path, tt.isDir, got, tt.want)
		}
	}
	for _, skip := range []string{"", "   ", "# comment", "!", "/"} {
		if _, ok := parsePattern(skip, ""); ok {
			t.Errorf("%q parsed as a pattern", skip)
		}
	}
	neg, _ := parsePattern("!keep.log", "")
	if !neg.negate || !neg.match("keep.log", false) {
		t.Error("negation")
	}
}

func TestIgnoreLastRuleWins(t *testing.T) {
	r := newRepo(t)
	write(t, r.abs(".dvcignore"), "*.log\n!keep.log\n")
	write(t, r.abs("data/raw/sub/.dvcignore"), "*.csv\n")
	ig, err := NewIgnore(r.Root)
	if err != nil {
		t.Fatal(err)
	}
	if err := ig.load("data/raw/sub"); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"x.log": true, "keep.log": false, "data/raw/sub/a.csv": true, "data/raw/a.csv": false, ".git/config": true} {
		if got, _ := ig.Match(path, false); got != want {
			t.Errorf("%s: ignored=%v, want %v", path, got, want)
		}
	}
	if _, why := ig.Match("x.log", false); why != ".dvcignore:1:*.log" {
		t.Errorf("reason %q", why)
	}
}
