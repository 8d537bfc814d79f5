// Package config holds Herald's whole configuration tree.
//
// A configuration is built in three steps, always in this order:
//
//  1. Default() returns a Config with every field set to its documented default;
//  2. Load decodes a YAML file on top of it strictly (an unknown key is an error that
//     names its key path and line) and then applies HERALD_* environment overrides;
//  3. Validate reports every problem at once, joined with errors.Join, each prefixed
//     with the key path of the field it concerns.
//
// config imports none of Herald's other packages: the daemon maps each section onto
// the small option structs of the packages it builds.
package config
