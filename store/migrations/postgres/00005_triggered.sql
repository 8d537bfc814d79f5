-- +goose Up
-- A triggered send is one user's delayed send of an action-based campaign,
-- written in the transaction that stored the triggering event. The scheduler
-- turns it into a one-user dispatch when due_at comes (durable across Redis
-- loss); an exception event before then cancels it. id is derived from the
-- campaign, the user and the event, so a re-posted event adds nothing.
CREATE TABLE triggered_sends (
    id               TEXT    PRIMARY KEY,
    campaign_id      TEXT    NOT NULL,
    user_id          BIGINT  NOT NULL,
    event_name       TEXT    NOT NULL,
    event_at         BIGINT  NOT NULL,
    properties       TEXT    NOT NULL,
    due_at           BIGINT  NOT NULL,
    status           TEXT    NOT NULL,
    reason           TEXT    NOT NULL DEFAULT '',
    dispatch_id      TEXT    NOT NULL DEFAULT '',
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX triggered_sends_due ON triggered_sends (due_at) WHERE status = 'pending';
CREATE INDEX triggered_sends_user ON triggered_sends (user_id, campaign_id) WHERE status = 'pending';

-- +goose Down
DROP TABLE triggered_sends;
