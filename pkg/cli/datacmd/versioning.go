package datacmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/dvc"
	"github.com/housectl/housectl/pkg/ui"
)

// NewCmdAdd returns `housectl data add`.
func NewCmdAdd(f *cmdutil.Factory, runF func(*DVCOptions, []string) error) *cobra.Command {
	opts := newDVCOptions(f)
	cmd := &cobra.Command{
		Use:   "add <path>... [--json]",
		Short: "Track files or directories as DVC 3 does: cache, .dvc file, .gitignore",
		Long: `Track each path as ` + "`dvc add`" + ` does: hash it, store its content in
.dvc/cache/files/md5/ (read-only), write <path>.dvc and add /<name> to the
.gitignore beside it. Re-adding keeps the .dvc file's comments and your own
keys (desc, meta). The repository is locked while it works; a second add
waits up to 3 s for it.`,
		Example: `  housectl data add data/california.csv
  housectl data add data/raw models/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts, args)
			}
			return runAdd(opts, args)
		},
	}
	opts.bind(cmd, true)
	return cmd
}

func runAdd(opts *DVCOptions, args []string) error {
	r, err := opts.Repo()
	if err != nil {
		return err
	}
	res, err := r.Add(opts.Context, args, dvc.AddOptions{Jobs: opts.Jobs})
	if opts.JSON && err == nil {
		return ui.WriteJSON(opts.IO.Out, res)
	}
	st := opts.IO.Styles()
	var toGit []string
	for _, a := range res {
		verb := "added"
		if !a.Changed {
			verb = "unchanged"
		}
		detail := humanBytes(a.Size)
		if a.MD5.IsDir() {
			detail = fmt.Sprintf("%d files, %s", a.NFiles, detail)
		}
		fmt.Fprintf(opts.IO.Out, "%s %s (%s, %s)\n", st.Success.Render(verb), a.Path, a.MD5.Short(), detail)
		toGit = append(toGit, displayPath(r, a.DvcFile))
		if a.Gitignore != "" {
			toGit = append(toGit, displayPath(r, a.Gitignore))
		}
	}
	if err != nil {
		return err
	}
	if len(toGit) > 0 {
		fmt.Fprintf(opts.IO.Out, "\nTo track the changes with git, run:\n\n%s\n", gitAddLine(toGit))
	}
	return nil
}

// gitAddLine is DVC's hint, its paths shell-quoted as Python's shlex.quote
// does; sorted and de-duplicated (DVC prints a set, in no fixed order).
func gitAddLine(paths []string) string {
	paths = slices.Clone(paths)
	slices.Sort(paths)
	paths = slices.Compact(paths)
	for i, p := range paths {
		paths[i] = shellQuote(p)
	}
	return "\tgit add " + strings.Join(paths, " ")
}

// shellQuote is Python's shlex.quote.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// displayPath is a path relative to the repository root as DVC prints it:
// relative to the working directory.
func displayPath(r *dvc.Repo, rel string) string {
	wd, err := os.Getwd()
	if err != nil {
		return rel
	}
	p, err := filepath.Rel(wd, filepath.Join(r.Root, filepath.FromSlash(rel)))
	if err != nil {
		return rel
	}
	return p
}

// printChanges prints checkout's lines as DVC does: modified, then added,
// then deleted outputs; in each group directories first (with a final
// slash), then files, alphabetically; the letter then a tab, which DVC's
// console expands to the eighth column.
func printChanges(w io.Writer, r *dvc.Repo, cs []dvc.Change) {
	type line struct {
		dir  bool
		path string
	}
	for _, kind := range []string{"M", "A", "D"} {
		var lines []line
		for _, c := range cs {
			if c.Kind == kind {
				p := displayPath(r, c.Path)
				if c.Dir {
					p += string(filepath.Separator)
				}
				lines = append(lines, line{c.Dir, p})
			}
		}
		slices.SortFunc(lines, func(a, b line) int {
			if a.dir != b.dir {
				if a.dir {
					return -1
				}
				return 1
			}
			return strings.Compare(a.path, b.path)
		})
		for _, l := range lines {
			fmt.Fprintf(w, "%s       %s\n", kind, l.path)
		}
	}
}

// tally is a number of files and what happened to them.
type tally struct {
	n    int
	what string
}

// summary is DVC's: "4 files fetched and 3 files added", the counts that
// are not zero, in order.
func summary(ts ...tally) string {
	var words []string
	for _, t := range ts {
		switch {
		case t.n == 1:
			words = append(words, "1 file "+t.what)
		case t.n > 1:
			words = append(words, fmt.Sprintf("%d files %s", t.n, t.what))
		}
	}
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// StatusOptions are the flags of `housectl data status`.
type StatusOptions struct {
	*DVCOptions
	Quiet  bool
	Cloud  bool
	Remote string
}

// NewCmdStatus returns `housectl data status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions, []string) error) *cobra.Command {
	opts := &StatusOptions{DVCOptions: newDVCOptions(f)}
	cmd := &cobra.Command{
		Use:   "status [<target>...] [-c [-r <remote>]] [--json] [-q]",
		Short: "Show tracked data that changed, in DVC's words",
		Long: `Compare every tracked output (or the targets) with the workspace and the
cache, and print what changed as ` + "`dvc status`" + ` does: modified, deleted,
not in cache. Unchanged files are not re-hashed: a table keyed by (inode,
mtime, size) remembers their hashes.

With -c (or -r), compare the cache with a remote instead, as ` + "`dvc status -c`" + `:
new (in the cache only: push it), deleted (on the remote only: pull it),
missing (in neither). The remote is listed a page of 1,000 objects at a
time, not asked object by object.

Exit status: 0; with -q, 1 when anything changed (as DVC).`,
		Example: `  housectl data status
  housectl data status -q || echo "data changed"
  housectl data status --json
  housectl data status -c -r storage`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts, args)
			}
			return runStatus(opts, args)
		},
	}
	opts.bind(cmd, true)
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing; exit 1 when anything changed")
	cmd.Flags().BoolVarP(&opts.Cloud, "cloud", "c", false, "compare the cache with a remote (the default, or --remote)")
	cmd.Flags().StringVarP(&opts.Remote, "remote", "r", "", "the remote to compare with (implies --cloud)")
	return cmd
}

func runStatus(opts *StatusOptions, args []string) error {
	r, err := opts.Repo()
	if err != nil {
		return err
	}
	if opts.Cloud || opts.Remote != "" {
		return runCloudStatus(opts, r, args)
	}
	st, err := r.Status(opts.Context, args, opts.Jobs)
	if err != nil {
		return err
	}
	switch {
	case opts.Quiet:
	case opts.JSON && !opts.IO.IsStdoutTTY():
		// DVC's shape and bytes: {"data/raw.dvc": [{"changed outs": {"data/raw": "modified"}}]}
		if _, err := fmt.Fprintf(opts.IO.Out, "%s\n", dvc.StatusJSON(st)); err != nil {
			return err
		}
	case opts.JSON:
		// On a terminal DVC indents by 2.
		out := map[string][]map[string]map[string]string{}
		for _, s := range st {
			if len(out[s.DvcFile]) == 0 {
				out[s.DvcFile] = []map[string]map[string]string{{"changed outs": {}}}
			}
			out[s.DvcFile][0]["changed outs"][s.Path] = s.Status
		}
		if err := ui.WriteJSON(opts.IO.Out, out); err != nil {
			return err
		}
	case len(st) == 0:
		tracked, err := r.Tracked(args)
		if err != nil {
			return err
		}
		if len(tracked) == 0 {
			fmt.Fprintln(opts.IO.Out, "There are no data or pipelines tracked in this project yet.\nSee <https://dvc.org/doc/start> to get started!")
		} else {
			fmt.Fprintln(opts.IO.Out, "Data and pipelines are up to date.")
		}
	default:
		prev := ""
		for _, s := range st {
			if s.DvcFile != prev {
				fmt.Fprintf(opts.IO.Out, "%s:\n\tchanged outs:\n", s.DvcFile)
				prev = s.DvcFile
			}
			fmt.Fprintf(opts.IO.Out, "\t\t%-20s%s\n", s.Status+":", s.Path)
		}
	}
	if opts.Quiet && len(st) > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure}
	}
	return nil
}

// runCloudStatus is `data status -c`: DVC's lines, its JSON, its words
// when in sync.
func runCloudStatus(opts *StatusOptions, r *dvc.Repo, args []string) error {
	rem, err := r.Remote(opts.Remote)
	if err != nil {
		return err
	}
	st, err := r.CloudStatus(opts.Context, rem, args, opts.Jobs)
	if err != nil {
		return err
	}
	switch {
	case opts.Quiet:
	case opts.JSON:
		fmt.Fprintf(opts.IO.Out, "%s\n", dvc.CloudStatusJSON(st, opts.IO.IsStdoutTTY()))
	case len(st) == 0:
		fmt.Fprintf(opts.IO.Out, "Cache and remote '%s' are in sync.\n", rem.Name())
	default:
		for _, e := range st {
			fmt.Fprintf(opts.IO.Out, "\t%-20s%s\n", e.Status+":", e.Name)
		}
	}
	if opts.Quiet && len(st) > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure}
	}
	return nil
}

// CheckoutOptions are the flags of `housectl data checkout`.
type CheckoutOptions struct {
	*DVCOptions
	Force bool
}

// NewCmdCheckout returns `housectl data checkout`.
func NewCmdCheckout(f *cmdutil.Factory, runF func(*CheckoutOptions, []string) error) *cobra.Command {
	opts := &CheckoutOptions{DVCOptions: newDVCOptions(f)}
	cmd := &cobra.Command{
		Use:   "checkout [<target>...] [--force]",
		Short: "Restore missing or modified tracked data from the cache",
		Long: `Make tracked outputs (all, or the targets) match the cache, printing a line
per change as DVC does: A (restored), M (replaced). A file is reflinked from
the cache where the filesystem supports it, else copied, and verified. A cache
object whose content no longer matches its name is reported as corrupt (exit
3) and never checked out. Workspace changes that are not in the cache are
kept unless --force.`,
		Example: `  housectl data checkout
  housectl data checkout data/california.csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts, args)
			}
			return runCheckout(opts, args)
		},
	}
	opts.bind(cmd, false)
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "discard workspace changes that are not in the cache")
	return cmd
}

func runCheckout(opts *CheckoutOptions, args []string) error {
	r, err := opts.Repo()
	if err != nil {
		return err
	}
	changes, err := r.Checkout(opts.Context, args, dvc.CheckoutOptions{Jobs: opts.Jobs, Force: opts.Force})
	printChanges(opts.IO.Out, r, changes)
	return err
}

// levelFlags are DVC's --system, --global, --project and --local: which
// configuration file a remote verb writes (default: .dvc/config).
type levelFlags struct{ system, global, project, local bool }

func (l *levelFlags) bind(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&l.system, "system", false, "use the system configuration ($DVC_SYSTEM_CONFIG_DIR or /etc/xdg/dvc/config)")
	cmd.Flags().BoolVar(&l.global, "global", false, "use the global configuration ($DVC_GLOBAL_CONFIG_DIR or ~/.config/dvc/config)")
	cmd.Flags().BoolVar(&l.project, "project", false, "use the project's configuration, .dvc/config (the default)")
	cmd.Flags().BoolVar(&l.local, "local", false, "use the local configuration, .dvc/config.local (not committed: for credentials)")
	cmd.MarkFlagsMutuallyExclusive("system", "global", "project", "local")
}

func (l *levelFlags) level() dvc.ConfigLevel {
	switch {
	case l.system:
		return dvc.LevelSystem
	case l.global:
		return dvc.LevelGlobal
	case l.local:
		return dvc.LevelLocal
	}
	return dvc.LevelRepo
}

// tabTo8 is DVC's "name<TAB>value" as its console prints it: the tab
// expanded to the next multiple of eight columns.
func tabTo8(s string) string {
	return s + strings.Repeat(" ", 8-len([]rune(s))%8)
}

// NewCmdRemote groups the remote verbs, as `dvc remote`.
func NewCmdRemote(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remote <command>",
		Short: "Configure DVC remotes: add, modify, remove, default, list",
		Long: `Configure remotes in DVC's configuration files, as ` + "`dvc remote`" + ` does, with its
option names. --local writes .dvc/config.local (not committed: the place for
credentials), --global and --system the user's and the machine's files; the
default is the project's .dvc/config. Reads merge all four, the most local
winning.`,
		Example: `  housectl data remote add -d storage /mnt/dvc-store
  housectl data remote modify storage jobs 8
  housectl data remote modify --local storage url /mnt/my-copy
  housectl data remote remove storage`,
	}
	repo := func() (*dvc.Repo, error) { return dvc.Find(".") }

	var addLevel levelFlags
	var def, force bool
	add := &cobra.Command{
		Use:   "add <name> <url> [-d] [-f] [--local|--global|--system]",
		Short: "Add a remote (a local or mounted directory)",
		Long: `Record a remote in DVC's format. A relative path is stored relative to the
configuration file's directory, as DVC does. -d makes it the default remote.`,
		Example: "  housectl data remote add -d storage /mnt/dvc-store",
		Args:    cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := repo()
			if err != nil {
				return err
			}
			if err := r.AddRemote(addLevel.level(), args[0], args[1], def, force); err != nil {
				return err
			}
			if def {
				fmt.Fprintf(f.IOStreams.Out, "Setting '%s' as a default remote.\n", strings.ToLower(args[0]))
			}
			return nil
		},
	}
	addLevel.bind(add)
	add.Flags().BoolVarP(&def, "default", "d", false, "make it the default remote")
	add.Flags().BoolVarP(&force, "force", "f", false, "replace an existing remote's url")

	var modLevel levelFlags
	var unset bool
	modify := &cobra.Command{
		Use:   "modify <name> <option> [<value>] [-u] [--local|--global|--system]",
		Short: "Set or unset one option of a remote",
		Long: `Set one option of a remote, with DVC's option names: url, jobs,
checksum_jobs, verify, ...; for s3:// remotes also endpointurl, region,
profile, access_key_id, secret_access_key, ... An option DVC would refuse is
refused, with the list of the remote's options. -u removes the option.`,
		Example: `  housectl data remote modify storage jobs 8
  housectl data remote modify --local storage url /mnt/my-copy
  housectl data remote modify -u storage jobs`,
		Args: func(c *cobra.Command, args []string) error {
			want := 3
			if unset {
				want = 2
			}
			if len(args) != want {
				if unset {
					return cmdutil.FlagErrorf("modify -u takes a remote and an option, got %d argument(s)", len(args))
				}
				return cmdutil.FlagErrorf("modify takes a remote, an option and a value (or -u to unset the option), got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := repo()
			if err != nil {
				return err
			}
			value := ""
			if !unset {
				value = args[2]
			}
			return usageErr(r.ModifyRemote(modLevel.level(), args[0], args[1], value, unset))
		},
	}
	modLevel.bind(modify)
	modify.Flags().BoolVarP(&unset, "unset", "u", false, "remove the option")

	var rmLevel levelFlags
	remove := &cobra.Command{
		Use:     "remove <name> [--local|--global|--system]",
		Short:   "Remove a remote (and make it no longer the default)",
		Example: "  housectl data remote remove storage",
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := repo()
			if err != nil {
				return err
			}
			return usageErr(r.RemoveRemote(rmLevel.level(), args[0]))
		},
	}
	rmLevel.bind(remove)

	var defLevel levelFlags
	var defUnset bool
	defCmd := &cobra.Command{
		Use:   "default [<name>] [-u] [--local|--global|--system]",
		Short: "Print, set or unset the default remote",
		Example: `  housectl data remote default
  housectl data remote default storage`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := repo()
			if err != nil {
				return err
			}
			switch {
			case defUnset:
				return r.SetDefaultRemote(defLevel.level(), "")
			case len(args) == 1:
				return usageErr(r.SetDefaultRemote(defLevel.level(), args[0]))
			}
			cfg, err := r.Config()
			if err != nil {
				return err
			}
			name, _, err := cfg.Lookup("core", "remote")
			if err != nil {
				return err
			}
			if name == "" {
				return fmt.Errorf("%w: run `housectl data remote default NAME`", dvc.ErrNoRemote)
			}
			fmt.Fprintln(f.IOStreams.Out, name)
			return nil
		},
	}
	defLevel.bind(defCmd)
	defCmd.Flags().BoolVarP(&defUnset, "unset", "u", false, "unset the default remote")

	var listLevel levelFlags
	list := &cobra.Command{
		Use:     "list [--local|--global|--system|--project]",
		Short:   "List the remotes and their urls (all levels merged, unless one is named)",
		Example: "  housectl data remote list",
		Args:    cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := repo()
			if err != nil {
				return err
			}
			cfg, err := r.Config()
			if err != nil {
				return err
			}
			if listLevel != (levelFlags{}) {
				cfg = &dvc.Config{Files: []*dvc.ConfigFile{cfg.File(listLevel.level())}}
			}
			for _, name := range cfg.Remotes() {
				url, _, err := cfg.Lookup(dvc.RemoteSection(name), "url")
				if err != nil {
					return err
				}
				fmt.Fprintf(f.IOStreams.Out, "%s%s\n", tabTo8(name), url)
			}
			return nil
		},
	}
	listLevel.bind(list)
	cmd.AddCommand(add, modify, remove, defCmd, list)
	return cmd
}

// usageErr makes a remote verb's refusal of its arguments a usage error
// (exit 2).
func usageErr(err error) error {
	if err == nil {
		return nil
	}
	return &cmdutil.FlagError{Err: err}
}

// TransferOptions are the flags of push and pull.
type TransferOptions struct {
	*DVCOptions
	Remote string
	Force  bool
}

// NewCmdPush returns `housectl data push`.
func NewCmdPush(f *cmdutil.Factory, runF func(*TransferOptions, []string) error) *cobra.Command {
	return newTransferCmd(f, runF, true)
}

// NewCmdPull returns `housectl data pull`.
func NewCmdPull(f *cmdutil.Factory, runF func(*TransferOptions, []string) error) *cobra.Command {
	return newTransferCmd(f, runF, false)
}

func newTransferCmd(f *cmdutil.Factory, runF func(*TransferOptions, []string) error, push bool) *cobra.Command {
	opts := &TransferOptions{DVCOptions: newDVCOptions(f)}
	cmd := &cobra.Command{
		Use:   "push [<target>...] [-r <remote>] [-j <jobs>] [--json]",
		Short: "Upload cached data that the remote lacks",
		Long: `Upload the objects of the tracked outputs (all, or the targets) that the
remote does not have, in parallel, with DVC's layout (files/md5/<2>/<30>;
<2>/<30> for DVC 2 outputs). Objects are verified as they are copied.`,
		Example: `  housectl data push
  housectl data push -r backup data/california.csv`,
	}
	if !push {
		cmd.Use = "pull [<target>...] [-r <remote>] [-j <jobs>] [--force] [--json]"
		cmd.Short = "Download missing data from the remote and check it out"
		cmd.Long = `Download the objects the cache lacks from the remote, in parallel, verifying
each, then check the outputs out (A/M lines as in checkout, then DVC's
summary: "4 files fetched and 3 files added").`
		cmd.Example = `  housectl data pull
  housectl data pull -r backup data/california.csv`
		cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "discard workspace changes that are not in the cache")
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := opts.check(cmd); err != nil {
			return err
		}
		if runF != nil {
			return runF(opts, args)
		}
		return runTransfer(opts, args, push)
	}
	opts.bind(cmd, true)
	cmd.Flags().StringVarP(&opts.Remote, "remote", "r", "", "remote name (default: core.remote)")
	return cmd
}

func runTransfer(opts *TransferOptions, args []string, push bool) error {
	r, err := opts.Repo()
	if err != nil {
		return err
	}
	rem, err := r.Remote(opts.Remote)
	if err != nil {
		return err
	}
	desc := "pulling"
	if push {
		desc = "pushing"
	}
	to := dvc.TransferOptions{Jobs: opts.Jobs, Progress: func(n int) dvc.Counter { return opts.IO.NewCounter(n, desc) }}
	var res *dvc.TransferResult
	if push {
		res, err = r.Push(opts.Context, rem, args, to)
	} else {
		res, err = r.Pull(opts.Context, rem, args, to, dvc.CheckoutOptions{Jobs: opts.Jobs, Force: opts.Force})
	}
	if res == nil {
		return err
	}
	if opts.JSON {
		if jerr := ui.WriteJSON(opts.IO.Out, res); jerr != nil {
			return jerr
		}
		return err
	}
	printChanges(opts.IO.Out, r, res.Changes)
	var added, modified, deleted int
	for _, c := range res.Changes {
		added, modified, deleted = added+c.Added, modified+c.Modified, deleted+c.Deleted
	}
	msg := summary(tally{res.Transferred, "pushed"})
	if !push {
		msg = summary(tally{res.Transferred, "fetched"}, tally{modified, "modified"}, tally{added, "added"}, tally{deleted, "deleted"})
	}
	if msg == "" {
		msg = "Everything is up to date."
	}
	fmt.Fprintln(opts.IO.Out, msg)
	if len(res.Missing) > 0 {
		err = errors.Join(err, fmt.Errorf("%d object(s) are in neither the cache nor remote %q: %s", len(res.Missing), res.Remote, strings.Join(res.Missing, ", ")))
	}
	return err
}
