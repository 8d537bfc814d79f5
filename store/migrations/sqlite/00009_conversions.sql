-- +goose Up
-- A conversion: a user who was sent a campaign did one of its conversion
-- events within its window. Counted once per user, campaign and conversion
-- event (its index in the campaign's list); dispatch_id is the send it is
-- attributed to (the latest before it).
CREATE TABLE conversions (
    campaign_id      TEXT    NOT NULL,
    user_id          INTEGER  NOT NULL,
    conversion_index INTEGER NOT NULL,
    dispatch_id      TEXT    NOT NULL,
    at               INTEGER  NOT NULL,
    revenue          REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, user_id, conversion_index)
);

-- +goose Down
DROP TABLE conversions;
