-- +goose Up
-- A local-time send (scheduled or recurring, in_local_time) is one dispatch
-- sent in waves: one per instant at which some users' zones reach its wall
-- time. local_sends holds what the waves are planned from (written before
-- its dispatch, so no local-time dispatch exists without it); planned_at is
-- set once, when the waves are stored.
CREATE TABLE local_sends (
    dispatch_id TEXT    PRIMARY KEY,
    wall_time   TEXT    NOT NULL,
    policy      TEXT    NOT NULL,
    launched_at INTEGER NOT NULL,
    skipped     TEXT    NOT NULL DEFAULT '[]',
    planned_at  INTEGER
);

-- The waves of a local-time dispatch, numbered from 1 in order of at. state
-- goes pending -> started (by one scheduler, when at has come) -> paged (its
-- users are all in pages); page_cursor is the last user id it paged.
CREATE TABLE dispatch_waves (
    dispatch_id TEXT    NOT NULL REFERENCES dispatches (id) ON DELETE CASCADE,
    wave        INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    zones       TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    page_cursor INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER,
    paged_at    INTEGER,
    PRIMARY KEY (dispatch_id, wave)
);
CREATE INDEX dispatch_waves_pending ON dispatch_waves (at) WHERE state = 'pending';

-- The wave that recorded a page (0: a dispatch without waves).
ALTER TABLE dispatch_pages ADD COLUMN wave INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE dispatch_pages DROP COLUMN wave;
DROP TABLE dispatch_waves;
DROP TABLE local_sends;
