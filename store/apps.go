package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/sdkauth"
)

const appCols = "id, name, platform, sdk_key, source, credentials, has_apns, has_fcm, has_webpush, created_at, updated_at, " +
	"sdk_auth_mode, sdk_auth_algorithm, sdk_auth_secret, sdk_auth_public_key"

func scanApp(r rowScanner) (*profiles.App, error) {
	var a profiles.App
	var created, updated int64
	var mode string
	err := r.Scan(&a.ID, &a.Name, &a.Platform, &a.SDKKey, &a.Source, &a.Sealed, &a.Kinds.APNs, &a.Kinds.FCM, &a.Kinds.WebPush, &created, &updated,
		&mode, &a.SDKAuth.Algorithm, &a.SDKAuth.SealedSecret, &a.SDKAuth.PublicKey)
	if err != nil {
		return nil, err
	}
	a.SDKAuth.Mode = sdkauth.Mode(mode)
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &a, nil
}

// sdkAuthMode is the mode stored for a: disabled unless set.
func sdkAuthMode(a *profiles.App) string {
	if a.SDKAuth.Mode == "" {
		return string(sdkauth.Disabled)
	}
	return string(a.SDKAuth.Mode)
}

// CreateApp inserts an app; ErrConflict if the id is taken.
func (s *Store) CreateApp(ctx context.Context, a *profiles.App) error {
	_, err := s.exec(ctx, "INSERT INTO apps ("+appCols+") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		a.ID, a.Name, a.Platform, a.SDKKey, a.Source, a.Sealed, a.Kinds.APNs, a.Kinds.FCM, a.Kinds.WebPush,
		a.CreatedAt.UnixMilli(), a.UpdatedAt.UnixMilli(),
		sdkAuthMode(a), a.SDKAuth.Algorithm, nullBytes(a.SDKAuth.SealedSecret), a.SDKAuth.PublicKey)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: app %q: %w", a.ID, profiles.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create app: %w", err)
	}
	return nil
}

// UpsertApp creates an app or replaces its name, platform and source, keeping its
// SDK key and creation time. Credentials are replaced when given; an app declared
// without credentials keeps those set through the API. Likewise the SDK
// authentication settings are replaced when a.SDKAuth.Mode is set and kept
// otherwise.
func (s *Store) UpsertApp(ctx context.Context, a *profiles.App) error {
	declared := a.SDKAuth.Mode != ""
	_, err := s.exec(ctx, "INSERT INTO apps ("+appCols+") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "+
		`ON CONFLICT (id) DO UPDATE SET name = excluded.name, platform = excluded.platform, source = excluded.source,
		 credentials = COALESCE(excluded.credentials, apps.credentials),
		 has_apns = CASE WHEN excluded.credentials IS NULL THEN apps.has_apns ELSE excluded.has_apns END,
		 has_fcm = CASE WHEN excluded.credentials IS NULL THEN apps.has_fcm ELSE excluded.has_fcm END,
		 has_webpush = CASE WHEN excluded.credentials IS NULL THEN apps.has_webpush ELSE excluded.has_webpush END,
		 sdk_auth_mode = CASE WHEN ? THEN excluded.sdk_auth_mode ELSE apps.sdk_auth_mode END,
		 sdk_auth_algorithm = CASE WHEN ? THEN excluded.sdk_auth_algorithm ELSE apps.sdk_auth_algorithm END,
		 sdk_auth_secret = CASE WHEN ? THEN excluded.sdk_auth_secret ELSE apps.sdk_auth_secret END,
		 sdk_auth_public_key = CASE WHEN ? THEN excluded.sdk_auth_public_key ELSE apps.sdk_auth_public_key END,
		 updated_at = excluded.updated_at`,
		a.ID, a.Name, a.Platform, a.SDKKey, a.Source, nullBytes(a.Sealed), a.Kinds.APNs, a.Kinds.FCM, a.Kinds.WebPush,
		a.CreatedAt.UnixMilli(), a.UpdatedAt.UnixMilli(),
		sdkAuthMode(a), a.SDKAuth.Algorithm, nullBytes(a.SDKAuth.SealedSecret), a.SDKAuth.PublicKey,
		declared, declared, declared, declared)
	if err != nil {
		return fmt.Errorf("store: upsert app: %w", err)
	}
	return nil
}

// GetApp returns one app, or ErrNotFound.
func (s *Store) GetApp(ctx context.Context, id string) (*profiles.App, error) {
	a, err := scanApp(s.queryRow(ctx, "SELECT "+appCols+" FROM apps WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: app %q: %w", id, profiles.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get app: %w", err)
	}
	return a, nil
}

// AppBySDKKey returns the app whose public SDK key is key.
func (s *Store) AppBySDKKey(ctx context.Context, key string) (*profiles.App, error) {
	a, err := scanApp(s.queryRow(ctx, "SELECT "+appCols+" FROM apps WHERE sdk_key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: app with that sdk key: %w", profiles.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: app by sdk key: %w", err)
	}
	return a, nil
}

// ListApps returns every app ordered by id.
func (s *Store) ListApps(ctx context.Context) ([]*profiles.App, error) {
	rows, err := s.query(ctx, "SELECT "+appCols+" FROM apps ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list apps: %w", err)
	}
	defer rows.Close()
	var out []*profiles.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetAppCredentials replaces an app's sealed credentials.
func (s *Store) SetAppCredentials(ctx context.Context, id string, sealed []byte, k profiles.CredentialKinds, now time.Time) error {
	res, err := s.exec(ctx, "UPDATE apps SET credentials = ?, has_apns = ?, has_fcm = ?, has_webpush = ?, updated_at = ? WHERE id = ?",
		sealed, k.APNs, k.FCM, k.WebPush, now.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: set credentials: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: app %q: %w", id, profiles.ErrNotFound)
	}
	return nil
}

// SetAppSDKAuth replaces an app's SDK authentication settings.
func (s *Store) SetAppSDKAuth(ctx context.Context, id string, a profiles.SDKAuth, now time.Time) error {
	mode := string(a.Mode)
	if mode == "" {
		mode = string(sdkauth.Disabled)
	}
	res, err := s.exec(ctx, "UPDATE apps SET sdk_auth_mode = ?, sdk_auth_algorithm = ?, sdk_auth_secret = ?, sdk_auth_public_key = ?, updated_at = ? WHERE id = ?",
		mode, a.Algorithm, nullBytes(a.SealedSecret), a.PublicKey, now.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: set sdk auth: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: app %q: %w", id, profiles.ErrNotFound)
	}
	return nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
