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

// TestReaddAsDVC updates existing .dvc files as `dvc add` of real DVC
// 3.64.0 did (ruamel's round trip + DVC's apply_diff): keys already there
// keep their place and their comments' columns, new keys go at the end of
// the output, keys that no longer apply go. Each want is what DVC wrote,
// from: git init && dvc init && <write before> && <change the data> &&
// dvc add PATH && cat PATH.dvc.
func TestReaddAsDVC(t *testing.T) {
	userKeys := `# data for the model
outs:
- md5: 37b51d194a7513e45b56f6524f2d51f2
  size: 4
  hash: md5
  path: foo
  desc: raw census rows   # keep me
  meta:
    owner: ana
    tags: [a, b]
meta:
  source: statlib
`
	legacy := "outs:\n- md5: 0123456789abcdef0123456789abcdef   # old hash\n  size: 3   # bytes\n  path: data.csv    # my data\n"
	for _, tt := range []struct {
		name, before string
		out          Out
		want         string
	}{
		{"content changed (echo changed > foo)", userKeys,
			Out{MD5: "ec1bebaea2c042beb68f7679ddd106a4", Size: 8, Path: "foo"},
			`# data for the model
outs:
- md5: ec1bebaea2c042beb68f7679ddd106a4
  size: 8
  hash: md5
  path: foo
  desc: raw census rows   # keep me
  meta:
    owner: ana
    tags: [a, b]
meta:
  source: statlib
`},
		{"file became a directory (mkdir foo; echo a > foo/a)", userKeys,
			Out{MD5: "45b1eb2ff8072c35f82255c3c22c1ae9.dir", Size: 2, NFiles: 1, Path: "foo"},
			`# data for the model
outs:
- md5: 45b1eb2ff8072c35f82255c3c22c1ae9.dir
  size: 2
  hash: md5
  path: foo
  desc: raw census rows   # keep me
  meta:
    owner: ana
    tags: [a, b]
  nfiles: 1
meta:
  source: statlib
`},
		{"DVC 2 file, longer value (seq 1 3000 > data.csv)", legacy,
			Out{MD5: "ee9762749fc5338b6c9b0948d14219c7", Size: 13893, Path: "data.csv"},
			"outs:\n- md5: ee9762749fc5338b6c9b0948d14219c7   # old hash\n  size: 13893 # bytes\n  path: data.csv    # my data\n  hash: md5\n"},
		{"DVC 2 file, shorter value (echo x > data.csv)", "outs:\n- md5: ee9762749fc5338b6c9b0948d14219c7   # old hash\n  size: 13893 # bytes\n  path: data.csv    # my data\n  hash: md5\n",
			Out{MD5: "401b30e3b8b5d629635a5c613cdb7919", Size: 2, Path: "data.csv"},
			"outs:\n- md5: 401b30e3b8b5d629635a5c613cdb7919   # old hash\n  size: 2     # bytes\n  path: data.csv    # my data\n  hash: md5\n"},
		{"DVC 2 directory (mkdir d1; echo a > d1/a)", "outs:\n- md5: 0123456789abcdef0123456789abcdef   # old hash\n  size: 3   # bytes\n  path: d1    # my dir\n",
			Out{MD5: "45b1eb2ff8072c35f82255c3c22c1ae9.dir", Size: 2, NFiles: 1, Path: "d1"},
			"outs:\n- md5: 45b1eb2ff8072c35f82255c3c22c1ae9.dir # old hash\n  size: 2   # bytes\n  path: d1    # my dir\n  nfiles: 1\n  hash: md5\n"},
	} {
		f, err := ParseFile([]byte(tt.before), "x.dvc")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		f.SetOut(tt.out)
		b, err := f.Bytes()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(b) != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, b, tt.want)
		}
	}
	// A directory that becomes a file again loses nfiles.
	f, _ := ParseFile([]byte("outs:\n- md5: 45b1eb2ff8072c35f82255c3c22c1ae9.dir\n  size: 2\n  nfiles: 1\n  hash: md5\n  path: d\n"), "d.dvc")
	f.SetOut(Out{MD5: "acbd18db4cc2f85cedef654fccc4a4d8", Size: 3, Path: "d"})
	if b, _ := f.Bytes(); strings.Contains(string(b), "nfiles") {
		t.Errorf("nfiles kept for a file:\n%s", b)
	}
}

func TestLegacyFileReadAsLegacy(t *testing.T) {
	f, err := ParseFile([]byte("outs:\n- md5: e5ebd4c02cefbe7955977c67ada242b7\n  size: 10\n  path: data.csv\n"), "data.csv.dvc")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Outs[0].Legacy() {
		t.Fatal("a .dvc without hash: md5 must read as legacy")
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
