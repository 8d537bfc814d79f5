-- +goose Up
-- The ledger is purged by dispatch (the rows of dispatches over for longer
-- than the retention), through its primary key: the index on updated_at,
-- which every result update had to maintain, goes. Without it a result
-- update changes no indexed column, and the free space left in each page
-- lets PostgreSQL write the new row version beside the old one (a HOT
-- update) instead of inserting a new primary-key entry.
DROP INDEX ledger_updated;
ALTER TABLE ledger SET (fillfactor = 70);
CREATE INDEX dispatches_over ON dispatches (updated_at) WHERE status IN ('done', 'stopped');

-- +goose Down
DROP INDEX dispatches_over;
ALTER TABLE ledger RESET (fillfactor);
CREATE INDEX ledger_updated ON ledger (updated_at);
