-- +goose Up
-- Item ids of /sdk/v1/data batches already applied, so a batch an SDK's
-- offline queue sends again applies nothing twice. item_key is the first 16 bytes
-- of SHA-256 over (app id, device id, item id) (profiles.SDKItemKey); seen_at
-- is when it was applied (Unix ms). Rows older than the replay window
-- (profiles.SDKReplayWindow, 30 days) may be purged (store.PurgeSDKItems):
-- items that old are refused by the decoder, so a purged id cannot be
-- re-applied.
CREATE TABLE sdk_items (
    item_key BLOB    PRIMARY KEY,
    seen_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sdk_items_seen_at ON sdk_items (seen_at);

-- +goose Down
DROP TABLE sdk_items;
