package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/herald-oss/herald/profiles"
)

var _ profiles.SDKTx = (*tx)(nil)

// ClaimSDKItems implements profiles.SDKTx: one insert per batch of keys, in
// key order (concurrent claims of the same keys wait for each other rather
// than deadlock); a key another transaction inserted first is not new.
func (t *tx) ClaimSDKItems(ctx context.Context, keys [][]byte, at time.Time) ([]bool, error) {
	out := make([]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	sorted := sortedItemKeys(keys)
	inserted := map[string]bool{}
	cols := t.s.cols("", "")
	for start := 0; start < len(sorted); start += rowsPerInsert {
		batch := sorted[start:min(start+rowsPerInsert, len(sorted))]
		args := make([]any, 0, 2*len(batch))
		for _, k := range batch {
			args = append(args, k, at.UnixMilli())
		}
		rows, err := t.query(ctx, "INSERT INTO sdk_items (item_key, seen_at) VALUES "+placeholders(len(batch), cols)+
			" ON CONFLICT (item_key) DO NOTHING RETURNING item_key", args...)
		if err != nil {
			return nil, fmt.Errorf("store: claim sdk items: %w", err)
		}
		if err := scanItemKeys(rows, inserted); err != nil {
			return nil, fmt.Errorf("store: claim sdk items: %w", err)
		}
	}
	for i, k := range keys {
		// a key twice in one call is new once
		out[i] = inserted[string(k)]
		delete(inserted, string(k))
	}
	return out, nil
}

// SDKItemsSeen implements profiles.SDKTx.
func (t *tx) SDKItemsSeen(ctx context.Context, keys [][]byte) ([]bool, error) {
	out := make([]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	seen := map[string]bool{}
	for start := 0; start < len(keys); start += rowsPerInsert {
		batch := keys[start:min(start+rowsPerInsert, len(keys))]
		args := make([]any, len(batch))
		for i, k := range batch {
			args[i] = k
		}
		rows, err := t.query(ctx, "SELECT item_key FROM sdk_items WHERE item_key IN ("+inList(len(batch))+")", args...)
		if err != nil {
			return nil, fmt.Errorf("store: sdk items seen: %w", err)
		}
		if err := scanItemKeys(rows, seen); err != nil {
			return nil, fmt.Errorf("store: sdk items seen: %w", err)
		}
	}
	for i, k := range keys {
		out[i] = seen[string(k)]
	}
	return out, nil
}

func sortedItemKeys(keys [][]byte) [][]byte {
	out := append([][]byte(nil), keys...)
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return out
}

func scanItemKeys(rows *sql.Rows, into map[string]bool) error {
	defer rows.Close()
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			return err
		}
		into[string(k)] = true
	}
	return rows.Err()
}

// PurgeSDKItems deletes the SDK item ids recorded before the given time and
// reports how many it deleted. Items older than profiles.SDKReplayWindow are
// refused, so ids older than that window are no longer needed.
func (s *Store) PurgeSDKItems(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM sdk_items WHERE seen_at < ?", before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: purge sdk items: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
