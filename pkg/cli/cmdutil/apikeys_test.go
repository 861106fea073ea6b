package cmdutil

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/config"
)

func TestAPIKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keysFile := write("keys", "# team A\nk-file-1\n\n  k-file-2  \n")
	emptyFile := write("empty", "# no keys yet\n\n")
	env := func(v string, ok bool) func(string) (string, bool) {
		return func(name string) (string, bool) {
			if name != "HOUSECTL_API_KEYS" {
				t.Errorf("looked up %s", name)
			}
			return v, ok
		}
	}
	tests := []struct {
		name    string
		file    string
		lookup  func(string) (string, bool)
		want    []string
		wantErr string
	}{
		{"none: open", "", env("", false), nil, ""},
		{"empty variable: open", "", env(" , ", true), nil, ""},
		{"variable", "", env("k1, k2,", true), []string{"k1", "k2"}, ""},
		{"file, comments and blanks skipped", keysFile, env("", false), []string{"k-file-1", "k-file-2"}, ""},
		{"both", keysFile, env("k1", true), []string{"k1", "k-file-1", "k-file-2"}, ""},
		{"named file without keys", emptyFile, env("k1", true), nil, "holds no API key"},
		{"missing file", filepath.Join(dir, "nope"), env("", false), nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Serve{APIKeysEnv: "HOUSECTL_API_KEYS", APIKeysFile: tt.file}
			got, err := APIKeys(c, tt.lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "serve.api_keys_file") {
					t.Fatalf("err = %v, want one naming serve.api_keys_file and saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("keys = %q, want %q", got, tt.want)
			}
		})
	}
}
