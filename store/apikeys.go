package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-oss/herald/apikeys"
)

var _ apikeys.Store = (*Store)(nil)

func scanKey(r rowScanner) (*apikeys.Key, error) {
	var k apikeys.Key
	var scopes string
	var created int64
	var revoked sql.NullInt64
	if err := r.Scan(&k.ID, &k.Name, &k.Hash, &scopes, &created, &revoked); err != nil {
		return nil, err
	}
	k.Scopes = strings.Split(scopes, ",")
	k.CreatedAt, k.RevokedAt = time.UnixMilli(created).UTC(), fromMS(revoked)
	return &k, nil
}

const keyCols = "id, name, key_hash, scopes, created_at, revoked_at"

// CreateAPIKey stores a key.
func (s *Store) CreateAPIKey(ctx context.Context, k *apikeys.Key) error {
	_, err := s.exec(ctx, "INSERT INTO api_keys ("+keyCols+") VALUES (?,?,?,?,?,?)",
		k.ID, k.Name, k.Hash, strings.Join(k.Scopes, ","), k.CreatedAt.UnixMilli(), ms(k.RevokedAt))
	if isUniqueViolation(err) {
		return errors.New("store: an API key with this secret already exists")
	}
	if err != nil {
		return fmt.Errorf("store: create API key: %w", err)
	}
	return nil
}

// APIKeyByHash finds a key by the hash of its secret.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*apikeys.Key, error) {
	k, err := scanKey(s.queryRow(ctx, "SELECT "+keyCols+" FROM api_keys WHERE key_hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apikeys.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: API key: %w", err)
	}
	return k, nil
}

// ListAPIKeys lists keys, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]*apikeys.Key, error) {
	rows, err := s.query(ctx, "SELECT "+keyCols+" FROM api_keys ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("store: list API keys: %w", err)
	}
	defer rows.Close()
	var out []*apikeys.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a key by id.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.exec(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", at.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: revoke API key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apikeys.ErrNotFound
	}
	return nil
}
