package all

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/store"
)

// A log to read that does not exist is ErrNoLog, saying who writes it;
// Open creates it.
func TestOpenExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	if _, err := OpenExisting(t.Context(), "", path); !errors.Is(err, store.ErrNoLog) || !strings.Contains(err.Error(), "housectl serve writes it") {
		t.Fatalf("OpenExisting of no log: %v", err)
	}
	s, err := Open(t.Context(), "", path)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s, err = OpenExisting(t.Context(), "", path)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
}
