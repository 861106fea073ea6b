package postgres

import (
	"strings"
	"testing"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/store/storetest"
)

// The conformance suite against a real PostgreSQL: a throwaway cluster
// from Debian's postgresql, or $HOUSECTL_TEST_POSTGRES_DSN.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Open {
		var dsn string
		return func(t *testing.T) (*store.DB, error) {
			if dsn == "" {
				dsn = testenv.Postgres(t)
			}
			return Open(t.Context(), dsn)
		}
	})
}

func TestRedactedDSNInErrors(t *testing.T) {
	_, err := Open(t.Context(), "postgres://ana:s3cret@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("opened a server that is not there")
	}
	if got := err.Error(); !strings.Contains(got, "ana:***@127.0.0.1") || strings.Contains(got, "s3cret") {
		t.Errorf("error %q", got)
	}
}
