-- +goose Up
-- One row per (user, dispatch, push channel) a worker decided to send: what
-- frequency capping counts and re-eligibility looks back on. Written, under
-- a lock on the users, before the messages are claimed.
CREATE TABLE user_sends (
    user_id     INTEGER  NOT NULL,
    dispatch_id TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    campaign_id TEXT    NOT NULL,
    at          INTEGER  NOT NULL,
    PRIMARY KEY (user_id, dispatch_id, channel)
);
CREATE INDEX user_sends_at ON user_sends (user_id, at);

-- +goose Down
DROP TABLE user_sends;
