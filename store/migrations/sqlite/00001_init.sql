-- +goose Up
-- High-volume tables (events, purchases, their day rollups, session days) carry no
-- foreign key to users: a key check locks the user row for every inserted row.
-- Deleting a user deletes their rows explicitly (store.DeleteUsers).
-- Users have no stored braze_id: it is computed from id (profiles.BrazeIDFor).
CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id      TEXT    UNIQUE,
    random_bucket    INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    first_name       TEXT,
    last_name        TEXT,
    email            TEXT,
    phone            TEXT,
    country          TEXT,
    home_city        TEXT,
    language         TEXT,
    time_zone        TEXT,
    dob              TEXT,
    gender           TEXT,
    push_subscribe   TEXT    NOT NULL DEFAULT 'subscribed',
    email_subscribe  TEXT    NOT NULL DEFAULT 'subscribed',
    custom           TEXT    NOT NULL DEFAULT '{}',
    total_revenue    REAL    NOT NULL DEFAULT 0,
    first_session_at INTEGER,
    last_session_at  INTEGER,
    version          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX users_email ON users (email) WHERE email IS NOT NULL;
CREATE INDEX users_phone ON users (phone) WHERE phone IS NOT NULL;

CREATE TABLE user_aliases (
    label   TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (label, name)
);
CREATE INDEX user_aliases_user ON user_aliases (user_id);

CREATE TABLE apps (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    platform    TEXT    NOT NULL,
    sdk_key     TEXT    NOT NULL UNIQUE,
    source      TEXT    NOT NULL,
    credentials BLOB,
    has_apns    INTEGER NOT NULL DEFAULT 0,
    has_fcm     INTEGER NOT NULL DEFAULT 0,
    has_webpush INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE devices (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id         TEXT    NOT NULL REFERENCES apps (id),
    platform       TEXT    NOT NULL,
    token_key      TEXT    NOT NULL,
    token          TEXT    NOT NULL,
    device_id      TEXT    NOT NULL DEFAULT '',
    push_enabled   INTEGER NOT NULL DEFAULT 1,
    invalid_at     INTEGER,
    invalid_reason TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (app_id, token_key)
);
CREATE INDEX devices_user ON devices (user_id);
CREATE INDEX devices_device_id ON devices (device_id) WHERE device_id <> '';

CREATE TABLE user_apps (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id      TEXT    NOT NULL,
    first_used  INTEGER NOT NULL,
    last_used   INTEGER NOT NULL,
    sessions    INTEGER NOT NULL DEFAULT 0,
    app_version TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, app_id)
);

CREATE TABLE user_session_days (
    user_id  INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    PRIMARY KEY (user_id, day)
);

CREATE TABLE events (
    user_id    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    time       INTEGER NOT NULL,
    app_id     TEXT    NOT NULL DEFAULT '',
    properties TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_user_name_time ON events (user_id, name, time);

CREATE TABLE user_event_days (
    user_id  INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    day      INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, name, day)
);

CREATE TABLE purchases (
    user_id    INTEGER NOT NULL,
    product_id TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    price      REAL    NOT NULL,
    time       INTEGER NOT NULL,
    app_id     TEXT    NOT NULL DEFAULT '',
    properties TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX purchases_user_time ON purchases (user_id, time);

CREATE TABLE user_purchase_days (
    user_id    INTEGER NOT NULL,
    product_id TEXT    NOT NULL,
    day        INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    revenue    REAL    NOT NULL,
    first_at   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, product_id, day)
);

CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    key_hash   BLOB    NOT NULL UNIQUE,
    scopes     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE user_purchase_days;
DROP TABLE purchases;
DROP TABLE user_event_days;
DROP TABLE events;
DROP TABLE user_session_days;
DROP TABLE user_apps;
DROP TABLE devices;
DROP TABLE apps;
DROP TABLE user_aliases;
DROP TABLE users;
