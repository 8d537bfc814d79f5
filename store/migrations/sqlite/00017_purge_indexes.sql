-- +goose Up
-- The worker's hourly purges delete users' sends by age and finished
-- triggered sends by when they finished, a batch at a time: without these
-- indexes every batch scanned the whole table.
CREATE INDEX IF NOT EXISTS user_sends_purge ON user_sends (at);
CREATE INDEX IF NOT EXISTS triggered_sends_finished ON triggered_sends (updated_at) WHERE status <> 'pending';

-- +goose Down
DROP INDEX IF EXISTS triggered_sends_finished;
DROP INDEX IF EXISTS user_sends_purge;
