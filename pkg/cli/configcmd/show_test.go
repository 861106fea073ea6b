package configcmd

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/ui"
)

func loaded(t *testing.T) func() (*config.Loaded, error) {
	return func() (*config.Loaded, error) {
		return config.LoadReader(strings.NewReader("version: 1\ndata:\n  retries: 3\n"), "p.yaml",
			config.LoadOptions{LookupEnv: func(k string) (string, bool) {
				if k == "HOUSECTL_DATA_TIMEOUT" {
					return "9s", true
				}
				return "", false
			}})
	}
}

func TestShow(t *testing.T) {
	for _, tty := range []bool{false, true} {
		ios, _, out, _ := ui.Test()
		ios.SetStdoutTTY(tty)
		ios.SetColorEnabled(false)
		if err := RunShow(&ShowOptions{IO: ios, Config: loaded(t)}); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if !tty {
			for _, line := range []string{
				"data.retries\t3\tfile p.yaml\n",
				"data.timeout\t9s\tenv HOUSECTL_DATA_TIMEOUT\n",
				"data.url\thttps://ndownloader.figshare.com/files/5976036\tdefault\n",
				"schema.columns[7].max\t-114\tdefault\n",
			} {
				if !strings.Contains(s, line) {
					t.Errorf("plain output lacks %q", line)
				}
			}
			if strings.HasPrefix(s, "KEY") || strings.Contains(s, "\tVALUE\t") || strings.Contains(s, "\x1b") {
				t.Error("plain output has a header or colour")
			}
			continue
		}
		if !strings.Contains(s, "config file: p.yaml") || !strings.Contains(s, "KEY") || !strings.Contains(s, "╭") {
			t.Errorf("terminal output:\n%s", s)
		}
	}
}

func TestShowJSON(t *testing.T) {
	ios, _, out, _ := ui.Test()
	if err := RunShow(&ShowOptions{IO: ios, Config: loaded(t), JSON: true}); err != nil {
		t.Fatal(err)
	}
	var v struct {
		File     string
		Settings []config.Setting
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.File != "p.yaml" || len(v.Settings) < 10 {
		t.Fatalf("%+v", v)
	}
	for _, s := range v.Settings {
		if s.Key == "data.retries" && (s.Value != 3.0 || s.Source.Kind != "file") {
			t.Errorf("%+v", s)
		}
	}
	if !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
		t.Error("no final newline")
	}
}

func TestShowHidesTheDSNPassword(t *testing.T) {
	ios, _, out, _ := ui.Test()
	l, err := config.Load(config.LoadOptions{LookupEnv: func(k string) (string, bool) {
		if k == "HOUSECTL_PREDICTIONS_DSN" {
			return "postgres://housectl:hunter2@db:5432/log?sslmode=disable", true
		}
		return "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := RunShow(&ShowOptions{IO: ios, Config: func() (*config.Loaded, error) { return l, nil }}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "postgres://housectl:***@db:5432/log") {
		t.Errorf("config show: %s", s)
	}
}
