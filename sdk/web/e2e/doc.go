// Package e2e tests the web SDK (sdk/web) in a real browser: headless
// Chromium, driven with chromedp, runs a page with the SDK against a
// `herald dev` built from this repository and started for the test.
//
// The browser is found at $HERALD_TEST_CHROMIUM, else as chromium,
// chromium-browser, google-chrome or google-chrome-stable on PATH (Debian:
// apt-get install chromium). Without one the test is skipped, except with
// HERALD_TEST_REQUIRE_SERVICES=1 (CI), where a missing browser fails it.
// Screenshots go to $HERALD_E2E_ARTIFACTS, else sdk/web/e2e/artifacts/<time>
// (ignored by git); the test log prints the directory.
package e2e
