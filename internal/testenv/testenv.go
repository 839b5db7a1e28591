// Package testenv decides what a test does when something it needs from
// outside (a database server, a browser) is not there: skip, or, with
// GATEHOUSE_TEST_REQUIRE_ALL=1 (as CI sets it), fail, so that a missing
// server cannot pass as a green run.
package testenv

import (
	"os"
	"testing"
)

// RequireAll is the variable that turns skips into failures.
const RequireAll = "GATEHOUSE_TEST_REQUIRE_ALL"

// RequireOrSkip ends the test because what is missing: with
// GATEHOUSE_TEST_REQUIRE_ALL=1 as a failure, else as a skip.
func RequireOrSkip(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(RequireAll) == "1" {
		t.Fatalf("%s is required (%s=1)", what, RequireAll)
	}
	t.Skipf("%s not available", what)
}

// DSN returns the value of the environment variable envVar, a database url;
// when it is empty the test is skipped, or failed under RequireAll.
func DSN(t testing.TB, envVar string) string {
	t.Helper()
	dsn := os.Getenv(envVar)
	if dsn == "" {
		RequireOrSkip(t, envVar)
	}
	return dsn
}
