package datacmd

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/ui"
)

func factory(env map[string]string) *cmdutil.Factory {
	ios, _, _, _ := ui.Test()
	return &cmdutil.Factory{IOStreams: ios, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
}

func TestFetchFlagsSetConfigKeys(t *testing.T) {
	tests := []struct {
		args    []string
		env     map[string]string
		wantURL string
		wantSrc string
		retries int
		timeout time.Duration
	}{
		{nil, nil, config.CaliforniaURL, "default", 4, 2 * time.Minute},
		{nil, map[string]string{"HOUSECTL_DATA_URL": "file:///m/x.tgz"}, "file:///m/x.tgz", "env HOUSECTL_DATA_URL", 4, 2 * time.Minute},
		{[]string{"--url", "http://h/x.tgz", "--retries", "1", "--timeout", "5s"}, map[string]string{"HOUSECTL_DATA_URL": "file:///m/x.tgz"}, "http://h/x.tgz", "flag --url", 1, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Chdir(t.TempDir()) // no configs/housectl.yaml
			var got *FetchOptions
			cmd := NewCmdFetch(factory(tt.env), func(o *FetchOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			l, err := got.Config()
			if err != nil {
				t.Fatal(err)
			}
			if l.Config.Data.URL != tt.wantURL || l.Source("data.url").String() != tt.wantSrc {
				t.Errorf("data.url = %q from %v, want %q from %s", l.Config.Data.URL, l.Source("data.url"), tt.wantURL, tt.wantSrc)
			}
			if l.Config.Data.Retries != tt.retries || l.Config.Data.Timeout != tt.timeout {
				t.Errorf("retries %d timeout %s", l.Config.Data.Retries, l.Config.Data.Timeout)
			}
		})
	}
}

func TestValidateArgs(t *testing.T) {
	tests := []struct {
		args    []string
		file    string
		json    bool
		max     int
		wantErr string
	}{
		{nil, "", false, 100, ""},
		{[]string{"x.csv", "--json"}, "x.csv", true, 100, ""},
		{[]string{"--max-problems", "0"}, "", false, 0, ""},
		{[]string{"--max-problems", "5", "y.csv"}, "y.csv", false, 5, ""},
		{[]string{"--max-problems", "-1"}, "", false, 0, "--max-problems must be 0"},
		{[]string{"a", "b"}, "", false, 0, "at most 1 argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *ValidateOptions
			cmd := NewCmdValidate(factory(nil), func(o *ValidateOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.File != tt.file || got.JSON != tt.json || got.MaxProblems != tt.max {
				t.Errorf("opts = %+v", got)
			}
		})
	}
}
