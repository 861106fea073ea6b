package dvc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigobjGolden reads and writes .dvc/config lines as configobj 5.0.8
// (the reader and writer DVC 3.64.0 uses) did: testdata/configobj.json is
// the output of scripts/realdvc/configobj_golden.py.
func TestConfigobjGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/configobj.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Read []struct {
			Line    string
			Section map[string]any
			Error   string
		}
		Write []struct{ Value, Text, Error string }
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Read) < 20 || len(golden.Write) < 15 {
		t.Fatalf("golden file too small: %d reads, %d writes", len(golden.Read), len(golden.Write))
	}
	dir := t.TempDir()
	for i, g := range golden.Read {
		p := filepath.Join(dir, "r"+string(rune('a'+i)))
		if err := os.WriteFile(p, []byte("['remote \"s\"']\n    "+g.Line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := ReadConfigFile(LevelRepo, p)
		if g.Error != "" {
			if err == nil {
				t.Errorf("%q: read, configobj said %q", g.Line, g.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", g.Line, err)
			continue
		}
		for k, want := range g.Section {
			v, ok, err := f.Lookup(`remote "s"`, k)
			switch w := want.(type) {
			case string:
				if err != nil || !ok || v != w {
					t.Errorf("%q: %s = %q (%v, %v), configobj read %q", g.Line, k, v, ok, err, w)
				}
			case []any:
				if err == nil || !strings.Contains(err.Error(), "is a list to configobj") {
					t.Errorf("%q: %s = %q (%v), configobj read the list %q", g.Line, k, v, err, w)
				}
			}
		}
	}
	for _, g := range golden.Write {
		f := &ConfigFile{Path: filepath.Join(dir, "w")}
		if err := f.Set("core", "remote", "s"); err != nil {
			t.Fatal(err)
		}
		err := f.Set(`remote "s"`, "url", g.Value)
		if g.Error != "" {
			if strings.Contains(g.Error, "codec can't encode") {
				// DVC cannot write a non-ASCII value (it stops with
				// UnicodeEncodeError); housectl writes it in UTF-8.
				if err != nil || f.Save() != nil || read(t, f.Path) != "[core]\n    remote = s\n['remote \"s\"']\n    url = "+g.Value+"\n" {
					t.Errorf("%q: %v", g.Value, err)
				}
			} else if err == nil {
				t.Errorf("%q: written, configobj refused: %s", g.Value, g.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", g.Value, err)
			continue
		}
		if err := f.Save(); err != nil {
			t.Fatal(err)
		}
		if got := read(t, f.Path); got != g.Text {
			t.Errorf("%q:\n got %q\nwant %q", g.Value, got, g.Text)
		}
		back, err := ReadConfigFile(LevelRepo, f.Path)
		if err != nil {
			t.Errorf("%q: reading it back: %v", g.Value, err)
		} else if v, _, _ := back.Lookup(`remote "s"`, "url"); v != g.Value {
			t.Errorf("%q: read back as %q", g.Value, v)
		}
	}
}

// TestRemoteVerbsAsDVC replays a session with real DVC 3.64.0:
//
//	printf '# my config\n[core]\n    autostage = false  # inline\n' > .dvc/config
//	dvc remote add -d st '/x # y'; dvc remote add other /o
//	dvc remote modify st url '/a,b'; dvc remote modify other jobs 4
//	dvc remote modify st bogus 1   # ERROR: ... extra keys not allowed @ data['remote']['st']['bogus']
//	dvc remote remove st           # core.remote goes too
//	dvc remote modify --local other url /local
//	dvc remote modify other url --unset   # ERROR: ... expected 'url' for dictionary value
//
// DVC's files after each step are the wants below, except that DVC drops
// the comments on every write and housectl keeps them.
func TestRemoteVerbsAsDVC(t *testing.T) {
	r := newRepo(t)
	write(t, r.abs(".dvc/config"), "# my config\n[core]\n    autostage = false  # inline\n")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.AddRemote(LevelRepo, "st", "/x # y", true, false))
	if got := read(t, r.abs(".dvc/config")); got != "# my config\n[core]\n    autostage = false  # inline\n    remote = st\n['remote \"st\"']\n    url = \"/x # y\"\n" {
		t.Errorf("after add -d:\n%s", got)
	}
	must(r.AddRemote(LevelRepo, "other", "/o", false, false))
	must(r.ModifyRemote(LevelRepo, "st", "url", "/a,b", false))
	must(r.ModifyRemote(LevelRepo, "other", "jobs", "4", false))
	if got := read(t, r.abs(".dvc/config")); got != "# my config\n[core]\n    autostage = false  # inline\n    remote = st\n['remote \"st\"']\n    url = \"/a,b\"\n['remote \"other\"']\n    url = /o\n    jobs = 4\n" {
		t.Errorf("after modify:\n%s", got)
	}
	err := r.ModifyRemote(LevelRepo, "st", "bogus", "1", false)
	if err == nil || !strings.Contains(err.Error(), "bogus is not an option of a local remote") {
		t.Errorf("unknown option: %v", err)
	}
	if err := r.ModifyRemote(LevelRepo, "other", "jobs", "0", false); err == nil {
		t.Error("jobs 0 accepted (DVC: Range(1))")
	}
	if err := r.ModifyRemote(LevelRepo, "nosuch", "jobs", "2", false); err == nil {
		t.Error("modified a remote that does not exist")
	}
	must(r.RemoveRemote(LevelRepo, "st"))
	if got := read(t, r.abs(".dvc/config")); got != "# my config\n[core]\n    autostage = false  # inline\n['remote \"other\"']\n    url = /o\n    jobs = 4\n" {
		t.Errorf("after remove:\n%s", got)
	}
	must(r.ModifyRemote(LevelLocal, "other", "url", "/local", false))
	if got := read(t, r.abs(".dvc/config.local")); got != "['remote \"other\"']\n    url = /local\n" {
		t.Errorf("config.local:\n%s", got)
	}
	rem, err := r.Remote("other")
	if err != nil || rem.(*LocalRemote).Dir != "/local" {
		t.Errorf("config.local does not shadow .dvc/config: %+v %v", rem, err)
	}
	err = r.ModifyRemote(LevelRepo, "other", "url", "", true)
	if err == nil || !strings.Contains(err.Error(), "would have no url") {
		t.Errorf("unset url: %v", err)
	}
	// A relative path is relative to the file that says it.
	must(r.ModifyRemote(LevelLocal, "other", "url", r.abs("store"), false))
	write(t, r.abs(".dvc/config.local"), "['remote \"other\"']\n    url = ../store\n")
	if rem, _ := r.Remote("other"); rem.(*LocalRemote).Dir != r.abs("store") {
		t.Errorf("relative url: %s", rem.(*LocalRemote).Dir)
	}
	// The global level shadows nothing in the repository, and is shadowed.
	global := filepath.Join(os.Getenv("DVC_GLOBAL_CONFIG_DIR"), "config")
	write(t, global, "[core]\n    remote = other\n")
	defer os.Remove(global)
	if rem, err := r.Remote(""); err != nil || rem.Name() != "other" {
		t.Errorf("default from the global file: %v %v", rem, err)
	}
}

func TestConfigRefusesWhatConfigobjRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"no equals":         "[core]\n    remote storage\n",
		"bad quoting":       "[core]\n    remote = \"a\"b\n",
		"duplicate key":     "[core]\n    remote = a\n    remote = b\n",
		"duplicate section": "[core]\n[core]\n",
		"nested":            "[core]\n[[sub]]\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		write(t, p, text)
		if _, err := ReadConfigFile(LevelRepo, p); err == nil || !strings.Contains(err.Error(), p+":") {
			t.Errorf("%s: %v", name, err)
		}
	}
	p := filepath.Join(dir, "list")
	write(t, p, "['remote \"s\"']\n    url = /a, /b\n")
	f, err := ReadConfigFile(LevelRepo, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Lookup(`remote "s"`, "url"); err == nil || !strings.Contains(err.Error(), `quote the value, e.g. url = "/a, /b"`) {
		t.Errorf("list value: %v", err)
	}
}

// TestNoSCMWritesNoGitignore: `dvc init --no-scm; dvc add x` writes x.dvc
// and no .gitignore.
func TestNoSCMWritesNoGitignore(t *testing.T) {
	r := newRepo(t)
	write(t, r.abs(".dvc/config"), "[core]\n    no_scm = True\n")
	write(t, r.abs("x"), "1\n")
	res, err := r.Add(t.Context(), []string{r.abs("x")}, AddOptions{})
	if err != nil || res[0].Gitignore != "" {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(r.abs(".gitignore")); err == nil {
		t.Error(".gitignore written with core.no_scm")
	}
	write(t, r.abs(".dvc/config"), "[core]\n    no_scm = maybe\n")
	if _, err := r.Add(t.Context(), []string{r.abs("x")}, AddOptions{}); err == nil || !strings.Contains(err.Error(), "expected true or false") {
		t.Errorf("no_scm = maybe: %v", err)
	}
}
