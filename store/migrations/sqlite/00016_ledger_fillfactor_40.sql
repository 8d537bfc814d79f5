-- +goose Up
-- PostgreSQL's ledger fillfactor (HOT result updates); SQLite has no
-- equivalent. Kept so both stores share one migration version.
SELECT 1;

-- +goose Down
SELECT 1;
