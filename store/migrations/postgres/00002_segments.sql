-- +goose Up
-- Saved segments. filter is the canonical filter JSON; segment_refs lists the
-- segments each filter references directly, so a referenced segment cannot be
-- deleted (the foreign key refuses it even against a concurrent writer).
CREATE TABLE segments (
    id         TEXT   PRIMARY KEY,
    name       TEXT   NOT NULL,
    filter     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE segment_refs (
    segment_id TEXT NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    ref_id     TEXT NOT NULL REFERENCES segments (id),
    PRIMARY KEY (segment_id, ref_id)
);
CREATE INDEX segment_refs_ref ON segment_refs (ref_id);

-- Background segment exports (/users/export/segment). fields and files are JSON
-- lists; fields is NULL when every field is exported.
CREATE TABLE exports (
    id          TEXT   PRIMARY KEY,
    segment_id  TEXT   NOT NULL,
    fields      TEXT,
    status      TEXT   NOT NULL,
    dir         TEXT   NOT NULL,
    files       TEXT   NOT NULL DEFAULT '[]',
    rows        BIGINT NOT NULL DEFAULT 0,
    error       TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX exports_status ON exports (status, created_at);

-- +goose Down
DROP TABLE exports;
DROP TABLE segment_refs;
DROP TABLE segments;
