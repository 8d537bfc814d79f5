-- +goose Up
-- A scheduled dispatch waits in the store until due_at; the scheduler starts
-- it (durable across Redis loss, cancellable by stopping the campaign).
ALTER TABLE dispatches ADD COLUMN due_at INTEGER;
CREATE INDEX dispatches_due ON dispatches (due_at) WHERE status = 'scheduled';

-- +goose Down
DROP INDEX dispatches_due;
ALTER TABLE dispatches DROP COLUMN due_at;
