package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
	"github.com/housectl/housectl/pkg/data"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/dvc"
	"github.com/housectl/housectl/pkg/ui"
)

func TestExitCode(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"nil", bg, nil, 0},
		{"plain", bg, errors.New("boom"), 1},
		{"flag", bg, cmdutil.FlagErrorf("bad"), 2},
		{"config", bg, fmt.Errorf("load: %w", &config.Error{Problems: []string{"x"}}), 2},
		{"cobra unknown command", bg, errors.New(`unknown command "x" for "housectl"`), 2},
		{"checksum", bg, fmt.Errorf("fetch: %w", &data.ChecksumError{}), 3},
		{"archive", bg, &data.ArchiveError{Reason: "x"}, 3},
		{"corrupt cache object", bg, fmt.Errorf("checkout: %w", &dvc.CorruptError{ID: "x"}), 3},
		{"invalid data", bg, &dataset.ValidationError{Report: &dataset.Report{}}, 4},
		{"explicit", bg, &cmdutil.ExitError{Code: 4}, 4},
		{"canceled error", bg, fmt.Errorf("x: %w", context.Canceled), 130},
		{"canceled context", canceled, errors.New("read: broken pipe"), 130},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: ExitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func testFactory() (*cmdutil.Factory, *strings.Builder, *strings.Builder) {
	ios, _, out, errOut := ui.Test()
	f := &cmdutil.Factory{IOStreams: ios, LookupEnv: func(string) (string, bool) { return "", false }}
	o, e := &strings.Builder{}, &strings.Builder{}
	_ = out
	_ = errOut
	ios.Out, ios.ErrOut = o, e
	return f, o, e
}

func TestEveryCommandIsDocumented(t *testing.T) {
	f, _, _ := testFactory()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		if c.Short == "" || strings.HasSuffix(c.Short, ".") {
			t.Errorf("%s: Short %q must be one line without a final period", c.CommandPath(), c.Short)
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example", c.CommandPath())
		}
		for _, line := range strings.Split(c.Example, "\n") {
			if line != "" && !strings.HasPrefix(strings.TrimSpace(line), "housectl") && !strings.Contains(line, "housectl") {
				t.Errorf("%s: example line %q does not run housectl", c.CommandPath(), line)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewCmdRoot(f))
}

func TestRunReportsErrors(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		stderr     []string
		notStderr  string
		stdoutPart string
	}{
		{[]string{"version"}, 0, nil, "Error", "housectl "},
		{[]string{"version", "--bogus"}, 2, []string{"Error: unknown flag: --bogus", "Run 'housectl version --help' for usage."}, "", ""},
		{[]string{"nosuch"}, 2, []string{`unknown command "nosuch"`}, "", ""},
		{[]string{"--config", "/nonexistent.yaml", "config", "show"}, 2, []string{"config file /nonexistent.yaml does not exist"}, "for usage", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, out, errOut := testFactory()
			code := Run(context.Background(), f, tt.args)
			if code != tt.code {
				t.Errorf("code = %d, want %d; stderr %q", code, tt.code, errOut)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("stderr %q lacks %q", errOut, s)
				}
			}
			if tt.notStderr != "" && strings.Contains(errOut.String(), tt.notStderr) {
				t.Errorf("stderr %q has %q", errOut, tt.notStderr)
			}
			if !strings.Contains(out.String(), tt.stdoutPart) {
				t.Errorf("stdout %q lacks %q", out, tt.stdoutPart)
			}
		})
	}
}
