-- +goose Up
-- Campaigns and their versions: a dispatch keeps the version it was launched
-- with; templates are cached per version.
CREATE TABLE campaigns (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    version    BIGINT NOT NULL,
    definition TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE campaign_versions (
    campaign_id TEXT    NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    definition  TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, version)
);

-- A dispatch is one send of a campaign (or of an ad-hoc message): the source
-- of truth for its progress. (campaign_id, occurrence) makes a launch, a
-- request or a schedule occurrence happen once.
CREATE TABLE dispatches (
    id               TEXT    PRIMARY KEY,
    campaign_id      TEXT    NOT NULL,
    campaign_version BIGINT NOT NULL,
    occurrence       TEXT    NOT NULL,
    spec             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    page_cursor      BIGINT NOT NULL DEFAULT 0,
    paging_done      BOOLEAN NOT NULL DEFAULT false,
    pages            BIGINT NOT NULL DEFAULT 0,
    pages_done       BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (campaign_id, occurrence)
);

-- A page is up to 500 users of a dispatch, delivered by one task. done_at is
-- NULL until every message of the page is final.
CREATE TABLE dispatch_pages (
    dispatch_id   TEXT    NOT NULL REFERENCES dispatches (id) ON DELETE CASCADE,
    first_user_id BIGINT NOT NULL,
    user_ids      TEXT    NOT NULL,
    enqueued_at   BIGINT NOT NULL,
    done_at       BIGINT,
    PRIMARY KEY (dispatch_id, first_user_id)
);
CREATE INDEX dispatch_pages_open ON dispatch_pages (enqueued_at) WHERE done_at IS NULL;

-- The delivery ledger: one row per (dispatch, user, channel, device; '' when
-- the channel has none). Only the claimer (claim_token) sends; a claim left
-- by a killed worker is taken over after lease_until, with the same
-- message_id (and so the same collapse id).
CREATE TABLE ledger (
    dispatch_id TEXT    NOT NULL,
    user_id     BIGINT NOT NULL,
    channel     TEXT    NOT NULL,
    device      TEXT    NOT NULL,
    campaign_id TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    provider_id TEXT    NOT NULL DEFAULT '',
    claim_token TEXT    NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (dispatch_id, user_id, channel, device)
);
CREATE INDEX ledger_updated ON ledger (updated_at);

-- Engagement events derived from the ledger (send, delivery, bounce, abort),
-- once each.
CREATE TABLE engagement (
    dispatch_id TEXT    NOT NULL,
    user_id     BIGINT NOT NULL,
    channel     TEXT    NOT NULL,
    device      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    campaign_id TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    at          BIGINT NOT NULL,
    PRIMARY KEY (dispatch_id, user_id, channel, device, kind)
);
CREATE INDEX engagement_campaign ON engagement (campaign_id, at);

-- Content Cards in users' feeds.
CREATE TABLE cards (
    id           TEXT    PRIMARY KEY,
    user_id      BIGINT NOT NULL,
    campaign_id  TEXT    NOT NULL,
    dispatch_id  TEXT    NOT NULL,
    card         TEXT    NOT NULL,
    pinned       BOOLEAN NOT NULL DEFAULT false,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    viewed_at    BIGINT,
    clicked_at   BIGINT,
    dismissed_at BIGINT,
    UNIQUE (dispatch_id, user_id)
);
CREATE INDEX cards_user ON cards (user_id, created_at);

-- +goose Down
DROP TABLE cards;
DROP TABLE engagement;
DROP TABLE ledger;
DROP TABLE dispatch_pages;
DROP TABLE dispatches;
DROP TABLE campaign_versions;
DROP TABLE campaigns;
