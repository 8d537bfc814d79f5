// Package e2e tests the dashboard in a real browser: headless Chromium,
// driven with chromedp, against a `herald dev` built from this repository
// (SQLite, the in-process Redis, the fake push providers) and started for
// the test.
//
// The browser is found at $HERALD_TEST_CHROMIUM, else as chromium,
// chromium-browser, google-chrome or google-chrome-stable on PATH (Debian:
// apt-get install chromium). Without one the test is skipped, except with
// HERALD_TEST_REQUIRE_SERVICES=1 (CI), where a missing browser fails it.
//
// Screenshots are test artifacts (t.ArtifactDir): kept with
// `go test ./dashboard/e2e -artifacts -outputdir DIR`, else removed with the
// test's temporary files. The test log prints their paths.
package e2e
