// Package audiences manages saved segments and what is done with their
// audiences: create, update and delete segments (checking that the segments a
// filter references exist and form no cycle), count a segment's users, preview
// a filter, and export a segment's users to gzipped NDJSON files in the
// background.
//
// Filters are parsed, resolved and compiled by package segments, which is pure;
// this package stores them through the Store interface it defines (implemented
// by package store) and runs the compiled SQL there. The time a filter is
// evaluated at comes from an injected clock.
package audiences
