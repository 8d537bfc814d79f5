-- +goose Up
-- The ledger is purged by dispatch (the rows of dispatches over for longer
-- than the retention), through its primary key: the index on updated_at,
-- which every result update had to maintain, goes.
DROP INDEX ledger_updated;
CREATE INDEX dispatches_over ON dispatches (updated_at) WHERE status IN ('done', 'stopped');

-- +goose Down
DROP INDEX dispatches_over;
CREATE INDEX ledger_updated ON ledger (updated_at);
