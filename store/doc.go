// Package store persists Herald's data in SQLite (modernc.org/sqlite, embedded, one
// process) or PostgreSQL (pgx, production, many processes). Both run the same SQL
// through database/sql with small dialect differences, apply embedded goose
// migrations, and pass one contract suite (package storetest).
//
// Times are stored as Unix milliseconds (BIGINT) and days as days since the Unix
// epoch, identically in both databases, so queries and the segment SQL compiler
// treat them alike. Bulk paths are batched: one statement per page of rows.
//
// SQLite serves exactly one process: Open takes an exclusive lock on a file beside
// the database and refuses a second process with a clear message.
package store
