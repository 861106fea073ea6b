package ui

import (
	"bytes"
	"strings"
	"testing"
)

func TestColorPolicy(t *testing.T) {
	tests := []struct {
		tty  bool
		env  map[string]string
		want bool
	}{
		{true, nil, true},
		{false, nil, false},
		{true, map[string]string{"NO_COLOR": "1"}, false},
		{true, map[string]string{"CLICOLOR": "0"}, false},
		{false, map[string]string{"CLICOLOR_FORCE": "1"}, true},
		{true, map[string]string{"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, true},
		{false, map[string]string{"CLICOLOR_FORCE": "0"}, false},
	}
	for _, tt := range tests {
		got := colorPolicy(tt.tty, func(k string) string { return tt.env[k] })
		if got != tt.want {
			t.Errorf("tty=%v env=%v: colour %v, want %v", tt.tty, tt.env, got, tt.want)
		}
	}
}

func TestTable(t *testing.T) {
	tb := &Table{Headers: []string{"A", "B"}}
	tb.Append("1", "x\ty")
	tb.Append("2", "z")

	s, _, out, _ := Test()
	if err := tb.Render(s); err != nil {
		t.Fatal(err)
	}
	if out.String() != "1\tx y\n2\tz\n" {
		t.Errorf("plain table %q", out)
	}

	s, _, out, _ = Test()
	s.SetStdoutTTY(true)
	s.SetColorEnabled(false)
	if err := tb.Render(s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "│ A │ B   │") || strings.Contains(out.String(), "\x1b") {
		t.Errorf("terminal table without colour:\n%s", out)
	}
}

func TestProgress(t *testing.T) {
	s, _, _, errOut := Test()
	p := s.NewByteProgress(1000, "downloading")
	_, _ = p.Write(make([]byte, 1000))
	p.Finish()
	if errOut.Len() != 0 {
		t.Errorf("progress drawn on a pipe: %q", errOut)
	}

	s, _, _, errOut = Test()
	s.SetStderrTTY(true)
	p = s.NewByteProgress(2<<20, "downloading")
	_, _ = p.Write(make([]byte, 2<<20))
	p.Finish()
	got := errOut.String()
	for _, want := range []string{"downloading", "100%", "2.1 MB", "/s"} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal progress %q lacks %q", got, want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, map[string]string{"a": "<b>&"}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "{\n  \"a\": \"<b>&\"\n}\n" {
		t.Errorf("%q", b.String())
	}
}

func TestCounter(t *testing.T) {
	s, _, _, errOut := Test()
	c := s.NewCounter(3, "pushing")
	c.Add(3)
	c.Finish()
	if errOut.Len() != 0 {
		t.Errorf("counter drawn on a pipe: %q", errOut)
	}
	s, _, _, errOut = Test()
	s.SetStderrTTY(true)
	c = s.NewCounter(3, "pushing")
	c.Add(2)
	c.Add(1)
	c.Finish()
	if got := errOut.String(); !strings.Contains(got, "pushing") || !strings.Contains(got, "(3/3") || !strings.Contains(got, "files/s") {
		t.Errorf("terminal counter %q", got)
	}
}
