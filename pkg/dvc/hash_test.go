package dvc

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
)

func md5hex(s string) ID {
	sum := md5.Sum([]byte(s))
	return ID(hex.EncodeToString(sum[:]))
}

func TestHashReader(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"foo", "acbd18db4cc2f85cedef654fccc4a4d8"},
		{"MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude,MedHouseVal\n8.3252,41.0,6.984127,1.02381,322.0,2.555556,37.88,-122.23,4.526\n", "637797d07f8469c2b104fa0add77ff8b"},
		{"California housing sample\n", "c76b438f3306f1bce48688dd131a3985"},
		{"a,b\r\n1,2\r\n", "b202f333fba4fd38d4b8e5e693077aab"}, // DVC 3: raw bytes, no dos2unix
	} {
		id, n, err := HashReader(strings.NewReader(tt.in))
		if err != nil || string(id) != tt.want || n != int64(len(tt.in)) {
			t.Errorf("HashReader(%q) = %s, %d, %v; want %s", tt.in, id, n, err, tt.want)
		}
	}
}

func TestHashLegacyReader(t *testing.T) {
	id, n, err := HashLegacyReader(strings.NewReader("a,b\r\n1,2\r\n"))
	if err != nil || id != "e5ebd4c02cefbe7955977c67ada242b7" || n != 10 {
		t.Errorf("legacy = %s %d %v, want e5ebd4c02cefbe7955977c67ada242b7 10", id, n, err)
	}
	// Binary content is hashed raw.
	bin := "\x00\r\n\x01"
	id, _, _ = HashLegacyReader(strings.NewReader(bin))
	if id != md5hex(bin) {
		t.Errorf("binary legacy hash %s, want raw md5", id)
	}
	// Large input: several 1 MiB chunks, each converted on its own.
	big := bytes.Repeat([]byte("xy\r\n"), chunkSize/2) // 2 chunks, CRLFs inside them
	id, n, _ = HashLegacyReader(bytes.NewReader(big))
	if n != int64(len(big)) || id != md5hex(strings.ReplaceAll(string(big), "\r\n", "\n")) {
		t.Errorf("multi-chunk legacy hash %s size %d", id, n)
	}
	// A CRLF split by a chunk boundary stays as it is, as in dvc-data.
	split := append(bytes.Repeat([]byte("a"), chunkSize-1), "\r\nb"...)
	id, _, _ = HashLegacyReader(bytes.NewReader(split))
	if id != md5hex(string(split)) {
		t.Errorf("a CRLF across chunks must not be converted")
	}
}

func TestIsTextBlock(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"", true},
		{"hello\r\n", true},
		{"a\x00b", false},
		{strings.Repeat("\xff", 31) + strings.Repeat("a", 69), false},
		{strings.Repeat("\xff", 30) + strings.Repeat("a", 70), true},
		{strings.Repeat("a", 512) + strings.Repeat("\xff", 1000), true}, // only the first 512 bytes count
	} {
		if got := IsTextBlock([]byte(tt.in)); got != tt.want {
			t.Errorf("IsTextBlock(%q...) = %v", tt.in[:min(len(tt.in), 10)], got)
		}
	}
}

// The vectors of reference/formats.md A2.
func TestManifestVectors(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		manifest string
		id       ID
	}{
		{
			"file and subdir",
			map[string]string{"file": "file", "subdir/subfile": "subfile"},
			`[{"md5": "8c7dd922ad47494fc02c388e12c00eac", "relpath": "file"}, {"md5": "293b26bf46281c75310f75c336661a05", "relpath": "subdir/subfile"}]`,
			"b6dcab6ccd17ca0a8bf4a215a37d14cc.dir",
		},
		{"foo bar", map[string]string{"foo": "foo", "bar": "bar"}, "", "5ea40360f5b4ec688df672a4db9c17d1.dir"},
		{"empty", map[string]string{}, "[]", "d751713988987e9331980363e24189ce.dir"},
		{
			"sorting and escaping",
			map[string]string{"a/b.csv": "x\n", "a-b.csv": "y\n", "a.csv": "z\n", "café.txt": "w\n"},
			`[{"md5": "009520053b00386d1173f3988c55d192", "relpath": "a-b.csv"}, {"md5": "a8a78d0ff555c931f045b6f448129846", "relpath": "a.csv"}, {"md5": "401b30e3b8b5d629635a5c613cdb7919", "relpath": "a/b.csv"}, {"md5": "b938b801a0bfbd5ca4825715039e7574", "relpath": "caf\u00e9.txt"}]`,
			"78f6aedb3feba478c14ebeed1bf2d25c.dir",
		},
		{
			"california example",
			map[string]string{
				"housing.csv":    "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude,MedHouseVal\n8.3252,41.0,6.984127,1.02381,322.0,2.555556,37.88,-122.23,4.526\n",
				"docs/README.md": "California housing sample\n",
			},
			`[{"md5": "c76b438f3306f1bce48688dd131a3985", "relpath": "docs/README.md"}, {"md5": "637797d07f8469c2b104fa0add77ff8b", "relpath": "housing.csv"}]`,
			"512e35699dec07417e3609f831fd9f61.dir",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Manifest
			for p, c := range tt.files {
				m = append(m, Entry{MD5: md5hex(c), RelPath: p})
			}
			m.Sort()
			if tt.manifest != "" && string(m.Encode()) != tt.manifest {
				t.Errorf("manifest\n got %s\nwant %s", m.Encode(), tt.manifest)
			}
			if m.ID() != tt.id {
				t.Errorf("id = %s, want %s", m.ID(), tt.id)
			}
			back, err := DecodeManifest(m.Encode())
			if err != nil || len(back) != len(m) {
				t.Errorf("decode: %v", err)
			}
		})
	}
}

func TestPyJSONEscapes(t *testing.T) {
	got := string(appendPyJSONString(nil, "q\"\\\n\r\t\b\f/<>&\x01é😀"))
	want := `"q\"\\\n\r\t\b\f/<>&\u0001\u00e9\ud83d\ude00"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseID(t *testing.T) {
	if id, err := ParseID("ACBD18DB4CC2F85CEDEF654FCCC4A4D8.dir"); err != nil || id != "acbd18db4cc2f85cedef654fccc4a4d8.dir" || !id.IsDir() || id.Hex() != "acbd18db4cc2f85cedef654fccc4a4d8" {
		t.Errorf("ParseID = %q, %v", id, err)
	}
	for _, bad := range []string{"", "abc", "zcbd18db4cc2f85cedef654fccc4a4d8", "acbd18db4cc2f85cedef654fccc4a4d8.txt"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
	if _, err := DecodeManifest([]byte(`[{"md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "../x"}]`)); err == nil {
		t.Error("a manifest climbing out with .. was accepted")
	}
}
