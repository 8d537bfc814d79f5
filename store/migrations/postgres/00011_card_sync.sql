-- +goose Up
-- Content Cards sync. changed_at is when a card's state (viewed, clicked,
-- dismissed) last changed, 0 until it does: an incremental sync sends the
-- cards changed since its token.
ALTER TABLE cards ADD COLUMN changed_at BIGINT NOT NULL DEFAULT 0;

-- Every sync reads the dispatches whose content card is created at the
-- user's first impression; this partial index keeps that a scan of those
-- few, however many dispatches there are. The query repeats the predicate
-- word for word (the planner matches it literally).
CREATE INDEX dispatches_first_impression ON dispatches (created_at)
    WHERE spec LIKE '%"card_creation":"at_first_impression"%';

-- +goose Down
DROP INDEX dispatches_first_impression;
ALTER TABLE cards DROP COLUMN changed_at;
