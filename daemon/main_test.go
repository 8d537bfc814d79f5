package daemon

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestMain lets a test run herald as a child process of the test binary (for
// real signals): with HERALD_TEST_MAIN_ARGS set, the binary runs Main instead
// of the tests.
func TestMain(m *testing.M) {
	if args := os.Getenv("HERALD_TEST_MAIN_ARGS"); args != "" {
		os.Exit(Main(context.Background(), strings.Fields(args), os.Stdout, os.Stderr, os.Environ()))
	}
	os.Exit(m.Run())
}
