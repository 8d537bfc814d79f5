//go:build race

package e2e

// raceEnabled: under -race herald is built with it too (its packages are
// then already in the build cache).
const raceEnabled = true
