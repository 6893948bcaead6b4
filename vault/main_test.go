package vault

import (
	"os"
	"testing"

	"github.com/notevault/notevault/vault/pgstore/pgtest"
)

// TestMain stops the throwaway PostgreSQL the tests that need one start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
