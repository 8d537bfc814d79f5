-- +goose Up
-- SDK authentication per app: mode disabled (the default), optional or
-- required; the algorithm (HS256 or RS256, '' without a key); the HS256
-- secret sealed with the encryption key, or the RS256 public key in PEM.
ALTER TABLE apps ADD COLUMN sdk_auth_mode TEXT NOT NULL DEFAULT 'disabled';
ALTER TABLE apps ADD COLUMN sdk_auth_algorithm TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN sdk_auth_secret BLOB;
ALTER TABLE apps ADD COLUMN sdk_auth_public_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE apps DROP COLUMN sdk_auth_public_key;
ALTER TABLE apps DROP COLUMN sdk_auth_secret;
ALTER TABLE apps DROP COLUMN sdk_auth_algorithm;
ALTER TABLE apps DROP COLUMN sdk_auth_mode;
