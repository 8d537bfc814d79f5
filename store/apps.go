package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herald-oss/herald/profiles"
)

const appCols = "id, name, platform, sdk_key, source, credentials, has_apns, has_fcm, has_webpush, created_at, updated_at"

func scanApp(r rowScanner) (*profiles.App, error) {
	var a profiles.App
	var created, updated int64
	err := r.Scan(&a.ID, &a.Name, &a.Platform, &a.SDKKey, &a.Source, &a.Sealed, &a.Kinds.APNs, &a.Kinds.FCM, &a.Kinds.WebPush, &created, &updated)
	if err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &a, nil
}

// CreateApp inserts an app; ErrConflict if the id is taken.
func (s *Store) CreateApp(ctx context.Context, a *profiles.App) error {
	_, err := s.exec(ctx, "INSERT INTO apps ("+appCols+") VALUES (?,?,?,?,?,?,?,?,?,?,?)",
		a.ID, a.Name, a.Platform, a.SDKKey, a.Source, a.Sealed, a.Kinds.APNs, a.Kinds.FCM, a.Kinds.WebPush,
		a.CreatedAt.UnixMilli(), a.UpdatedAt.UnixMilli())
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
// without credentials keeps those set through the API.
func (s *Store) UpsertApp(ctx context.Context, a *profiles.App) error {
	_, err := s.exec(ctx, "INSERT INTO apps ("+appCols+") VALUES (?,?,?,?,?,?,?,?,?,?,?) "+
		`ON CONFLICT (id) DO UPDATE SET name = excluded.name, platform = excluded.platform, source = excluded.source,
		 credentials = COALESCE(excluded.credentials, apps.credentials),
		 has_apns = CASE WHEN excluded.credentials IS NULL THEN apps.has_apns ELSE excluded.has_apns END,
		 has_fcm = CASE WHEN excluded.credentials IS NULL THEN apps.has_fcm ELSE excluded.has_fcm END,
		 has_webpush = CASE WHEN excluded.credentials IS NULL THEN apps.has_webpush ELSE excluded.has_webpush END,
		 updated_at = excluded.updated_at`,
		a.ID, a.Name, a.Platform, a.SDKKey, a.Source, nullBytes(a.Sealed), a.Kinds.APNs, a.Kinds.FCM, a.Kinds.WebPush,
		a.CreatedAt.UnixMilli(), a.UpdatedAt.UnixMilli())
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

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
