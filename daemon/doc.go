// Package daemon builds every Herald component from a validated config and runs
// the roles with one lifecycle: start in order, report READY to systemd, drain on
// SIGTERM or SIGINT (in reverse order, within lifecycle.drain_timeout), then stop
// hard. It also implements the command-line subcommands; cmd/herald only calls
// Main. It is the only package that imports everything.
package daemon
