package store

import (
	"context"
	"fmt"
	"strings"
)

// audienceTables are the tables audience filters and page loads read.
var audienceTables = []string{"users", "devices", "user_apps", "user_session_days", "user_event_days", "user_purchase_days"}

// RefreshStats runs ANALYZE on the audience tables whose planner statistics
// are stale on PostgreSQL: never analyzed, or changed by more than a tenth of
// their rows (and 500 rows) since. A bulk import right before a launch leaves
// them stale until autovacuum comes round, and plans made from a table's
// empty past (a sequential scan of devices for every page of users) cost more
// than the ANALYZE. It returns the tables analyzed; on SQLite, none.
func (s *Store) RefreshStats(ctx context.Context) ([]string, error) {
	if s.Driver() != "postgres" {
		return nil, nil
	}
	rows, err := s.query(ctx, `SELECT relname FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname IN ('`+strings.Join(audienceTables, "', '")+`')
AND (COALESCE(last_analyze, last_autoanalyze) IS NULL OR n_mod_since_analyze > 500 + n_live_tup / 10)`)
	if err != nil {
		return nil, fmt.Errorf("store: table statistics: %w", err)
	}
	var stale []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		stale = append(stale, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: table statistics: %w", err)
	}
	for _, t := range stale {
		if _, err := s.exec(ctx, "ANALYZE "+t); err != nil { // t is one of audienceTables
			return nil, fmt.Errorf("store: analyze %s: %w", t, err)
		}
	}
	return stale, nil
}
