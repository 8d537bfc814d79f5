-- +goose Up
-- The export stream reads engagement, events and purchases in insert order:
-- seq (AUTOINCREMENT, so never reused nor renumbered by VACUUM) numbers every
-- row. SQLite has one writer at a time, so seq order is commit order and no
-- safety lag is needed; stored_at stays 0 (PostgreSQL fills it). The tables
-- are rebuilt because SQLite cannot add such a column.
CREATE TABLE engagement_new (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    dispatch_id TEXT    NOT NULL,
    user_id     INTEGER NOT NULL,
    channel     TEXT    NOT NULL,
    device      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    campaign_id TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    stored_at   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO engagement_new (dispatch_id, user_id, channel, device, kind, campaign_id, reason, at)
SELECT dispatch_id, user_id, channel, device, kind, campaign_id, reason, at FROM engagement ORDER BY at;
DROP TABLE engagement;
ALTER TABLE engagement_new RENAME TO engagement;
CREATE UNIQUE INDEX engagement_key ON engagement (dispatch_id, user_id, channel, device, kind);
CREATE INDEX engagement_campaign ON engagement (campaign_id, at);

CREATE TABLE events_new (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    time       INTEGER NOT NULL,
    app_id     TEXT    NOT NULL DEFAULT '',
    properties TEXT    NOT NULL DEFAULT '{}',
    stored_at  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO events_new (user_id, name, time, app_id, properties)
SELECT user_id, name, time, app_id, properties FROM events ORDER BY rowid;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_user_name_time ON events (user_id, name, time);

CREATE TABLE purchases_new (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL,
    product_id TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    price      REAL    NOT NULL,
    time       INTEGER NOT NULL,
    app_id     TEXT    NOT NULL DEFAULT '',
    properties TEXT    NOT NULL DEFAULT '{}',
    stored_at  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO purchases_new (user_id, product_id, currency, price, time, app_id, properties)
SELECT user_id, product_id, currency, price, time, app_id, properties FROM purchases ORDER BY rowid;
DROP TABLE purchases;
ALTER TABLE purchases_new RENAME TO purchases;
CREATE INDEX purchases_user_time ON purchases (user_id, time);

-- One row per export connector: its cursor (last exported seq) per source,
-- and the lease of the worker exporting it.
CREATE TABLE export_cursors (
    connector      TEXT PRIMARY KEY,
    engagement_seq INTEGER NOT NULL DEFAULT 0,
    events_seq     INTEGER NOT NULL DEFAULT 0,
    purchases_seq  INTEGER NOT NULL DEFAULT 0,
    owner          TEXT    NOT NULL DEFAULT '',
    lease_until    INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE export_cursors;
ALTER TABLE purchases DROP COLUMN stored_at;
ALTER TABLE events DROP COLUMN stored_at;
ALTER TABLE engagement DROP COLUMN stored_at;
