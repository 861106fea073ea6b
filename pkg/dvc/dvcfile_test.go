package dvc

import (
	"strings"
	"testing"
)

func TestNewFileMatchesDVC(t *testing.T) {
	tests := []struct {
		out  Out
		want string
	}{
		{Out{MD5: "acbd18db4cc2f85cedef654fccc4a4d8", Size: 3, Path: "foo"},
			"outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n  path: foo\n"},
		{Out{MD5: "5ea40360f5b4ec688df672a4db9c17d1.dir", Size: 6, NFiles: 2, Path: "data"},
			"outs:\n- md5: 5ea40360f5b4ec688df672a4db9c17d1.dir\n  size: 6\n  nfiles: 2\n  hash: md5\n  path: data\n"},
		{Out{MD5: "512e35699dec07417e3609f831fd9f61.dir", Size: 176, NFiles: 2, Path: "raw"},
			"outs:\n- md5: 512e35699dec07417e3609f831fd9f61.dir\n  size: 176\n  nfiles: 2\n  hash: md5\n  path: raw\n"},
		{Out{MD5: "637797d07f8469c2b104fa0add77ff8b", Size: 150, Path: "housing.csv"},
			"outs:\n- md5: 637797d07f8469c2b104fa0add77ff8b\n  size: 150\n  hash: md5\n  path: housing.csv\n"},
		{Out{MD5: "acbd18db4cc2f85cedef654fccc4a4d8", Size: 3, IsExec: true, Path: "run.sh"},
			"outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  isexec: true\n  hash: md5\n  path: run.sh\n"},
		{Out{MD5: "acbd18db4cc2f85cedef654fccc4a4d8", Size: 3, Path: "123"},
			"outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n  path: '123'\n"},
		{Out{MD5: "acbd18db4cc2f85cedef654fccc4a4d8", Size: 3, Path: "true"},
			"outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n  path: 'true'\n"},
	}
	for _, tt := range tests {
		b, err := NewFile(tt.out).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("got\n%s\nwant\n%s", b, tt.want)
		}
		back, err := ParseFile(b, "x.dvc")
		if err != nil || len(back.Outs) != 1 || back.Outs[0] != (Out{MD5: tt.out.MD5, Size: tt.out.Size, NFiles: tt.out.NFiles, IsExec: tt.out.IsExec, Hash: "md5", Path: tt.out.Path}) {
			t.Errorf("round trip: %+v, %v", back, err)
		}
	}
}

func TestSetOutKeepsUserKeys(t *testing.T) {
	in := `# data for the model
outs:
- md5: acbd18db4cc2f85cedef654fccc4a4d8
  size: 3
  hash: md5
  path: foo
  desc: raw census rows   # keep me
  meta:
    owner: ana
    tags: [a, b]
meta:
  source: statlib
`
	f, err := ParseFile([]byte(in), "foo.dvc")
	if err != nil {
		t.Fatal(err)
	}
	f.SetOut(Out{MD5: "37b51d194a7513e45b56f6524f2d51f2", Size: 4, Path: "foo"})
	b, _ := f.Bytes()
	want := `# data for the model
outs:
- md5: 37b51d194a7513e45b56f6524f2d51f2
  size: 4
  hash: md5
  path: foo
  desc: raw census rows # keep me
  meta:
    owner: ana
    tags: [a, b]
meta:
  source: statlib
`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	// A file becoming a directory gains nfiles where DVC puts it.
	f.SetOut(Out{MD5: "5ea40360f5b4ec688df672a4db9c17d1.dir", Size: 6, NFiles: 2, Path: "foo"})
	b, _ = f.Bytes()
	if !strings.HasPrefix(string(b), "# data for the model\nouts:\n- md5: 5ea40360f5b4ec688df672a4db9c17d1.dir\n  size: 6\n  nfiles: 2\n  hash: md5\n  path: foo\n  desc:") {
		t.Errorf("dir:\n%s", b)
	}
	// And loses it again.
	f.SetOut(Out{MD5: "acbd18db4cc2f85cedef654fccc4a4d8", Size: 3, Path: "foo"})
	b, _ = f.Bytes()
	if strings.Contains(string(b), "nfiles") {
		t.Errorf("nfiles kept for a file:\n%s", b)
	}
}

func TestLegacyFileUpgradedOnReadd(t *testing.T) {
	legacy := "outs:\n- md5: e5ebd4c02cefbe7955977c67ada242b7\n  size: 10\n  path: data.csv\n"
	f, err := ParseFile([]byte(legacy), "data.csv.dvc")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Outs[0].Legacy() {
		t.Fatal("a .dvc without hash: md5 must read as legacy")
	}
	f.SetOut(Out{MD5: "b202f333fba4fd38d4b8e5e693077aab", Size: 10, Path: "data.csv"})
	b, _ := f.Bytes()
	if string(b) != "outs:\n- md5: b202f333fba4fd38d4b8e5e693077aab\n  size: 10\n  hash: md5\n  path: data.csv\n" {
		t.Errorf("got\n%s", b)
	}
}

func TestParseFileRejects(t *testing.T) {
	for name, in := range map[string]string{
		"unknown top key": "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  path: a\nowner: me\n",
		"unknown out key": "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  path: a\n  owner: me\n",
		"bad md5":         "outs:\n- md5: xyz\n  path: a\n",
		"no path":         "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n",
		"no md5":          "outs:\n- path: a\n",
		"not a mapping":   "- a\n",
		"no outs":         "desc: x\n",
		"bad yaml":        "outs: [\n",
		"bad hash":        "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  hash: sha1\n  path: a\n",
	} {
		if _, err := ParseFile([]byte(in), "t.dvc"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Uppercase md5 values are lower-cased, as DVC does on load.
	f, err := ParseFile([]byte("outs:\n- md5: ACBD18DB4CC2F85CEDEF654FCCC4A4D8\n  size: 3\n  hash: md5\n  path: foo\n"), "t.dvc")
	if err != nil || f.Outs[0].MD5 != "acbd18db4cc2f85cedef654fccc4a4d8" {
		t.Errorf("%+v %v", f, err)
	}
}
