package datacmd

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func execute(t *testing.T, cmd *cobra.Command, args []string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	return cmd.Execute()
}

func TestVersioningFlags(t *testing.T) {
	f := factory(nil)
	t.Run("status", func(t *testing.T) {
		var got *StatusOptions
		var targets []string
		err := execute(t, NewCmdStatus(f, func(o *StatusOptions, a []string) error { got, targets = o, a; return nil }),
			[]string{"-q", "--json", "-j", "3", "data/x"})
		if err != nil || !got.Quiet || !got.JSON || got.Jobs != 3 || strings.Join(targets, ",") != "data/x" {
			t.Errorf("%+v %v %v", got, targets, err)
		}
	})
	t.Run("checkout", func(t *testing.T) {
		var got *CheckoutOptions
		err := execute(t, NewCmdCheckout(f, func(o *CheckoutOptions, _ []string) error { got = o; return nil }), []string{"--force"})
		if err != nil || !got.Force {
			t.Errorf("%+v %v", got, err)
		}
	})
	t.Run("push", func(t *testing.T) {
		var got *TransferOptions
		err := execute(t, NewCmdPush(f, func(o *TransferOptions, _ []string) error { got = o; return nil }), []string{"-r", "backup", "-j", "8"})
		if err != nil || got.Remote != "backup" || got.Jobs != 8 {
			t.Errorf("%+v %v", got, err)
		}
	})
	t.Run("pull force", func(t *testing.T) {
		var got *TransferOptions
		err := execute(t, NewCmdPull(f, func(o *TransferOptions, _ []string) error { got = o; return nil }), []string{"-f"})
		if err != nil || !got.Force {
			t.Errorf("%+v %v", got, err)
		}
	})
	t.Run("bad jobs", func(t *testing.T) {
		err := execute(t, NewCmdAdd(f, func(*DVCOptions, []string) error { return nil }), []string{"-j", "-2", "x"})
		if err == nil || !strings.Contains(err.Error(), "--jobs must be positive") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("add needs a path", func(t *testing.T) {
		if err := execute(t, NewCmdAdd(f, func(*DVCOptions, []string) error { return nil }), nil); err == nil {
			t.Error("add with no path accepted")
		}
	})
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 176: "176 B", 1536: "1.5 KiB", 1895154: "1.8 MiB", 1 << 30: "1.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDVCWording(t *testing.T) {
	// python3 -c 'import shlex; print([shlex.quote(s) for s in ["", "a", "a b", "it'"'"'s", "x/y.dvc", "é", "a@b%c+d=e:f,g"]])'
	for in, want := range map[string]string{
		"": "''", "a": "a", "a b": "'a b'", "it's": `'it'"'"'s'`, "x/y.dvc": "x/y.dvc", "é": "'é'", "a@b%c+d=e:f,g": "a@b%c+d=e:f,g",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
	// dvc add "sub/a b" "it's" zz printed these paths, in a set's order.
	if got := gitAddLine([]string{"sub/.gitignore", ".gitignore", "it's.dvc", "sub/a b.dvc", "zz.dvc", ".gitignore"}); got != "\tgit add .gitignore 'it'\"'\"'s.dvc' sub/.gitignore 'sub/a b.dvc' zz.dvc" {
		t.Errorf("gitAddLine: %s", got)
	}
	// dvc.utils.humanize.get_summary
	for _, tt := range []struct {
		in   []tally
		want string
	}{
		{[]tally{{4, "fetched"}, {0, "modified"}, {3, "added"}}, "4 files fetched and 3 files added"},
		{[]tally{{1, "pushed"}}, "1 file pushed"},
		{[]tally{{0, "pushed"}}, ""},
		{[]tally{{2, "fetched"}, {1, "modified"}, {1, "added"}, {5, "deleted"}}, "2 files fetched, 1 file modified, 1 file added and 5 files deleted"},
	} {
		if got := summary(tt.in...); got != tt.want {
			t.Errorf("summary(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
