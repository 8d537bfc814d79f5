package store

import (
	"context"
	"fmt"

	"github.com/herald-oss/herald/profiles"
)

// AddSessions records session starts in one transaction: per app the first
// and last use, the session count and the app version; per UTC day the
// session count; and the user's first and last session times.
func (s *Store) AddSessions(ctx context.Context, sessions []profiles.Session) error {
	if len(sessions) == 0 {
		return nil
	}
	least, greatest := s.dialect.least(), s.dialect.greatest()
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		for _, ss := range sessions {
			ms := ss.Time.UnixMilli()
			if _, err := t.exec(ctx, `INSERT INTO user_apps (user_id, app_id, first_used, last_used, sessions, app_version) VALUES (?, ?, ?, ?, 1, ?)
ON CONFLICT (user_id, app_id) DO UPDATE SET first_used = `+least+`(user_apps.first_used, excluded.first_used),
last_used = `+greatest+`(user_apps.last_used, excluded.last_used), sessions = user_apps.sessions + 1,
app_version = CASE WHEN excluded.app_version <> '' THEN excluded.app_version ELSE user_apps.app_version END`,
				ss.UserID, ss.AppID, ms, ms, ss.AppVersion); err != nil {
				return fmt.Errorf("store: user_apps: %w", err)
			}
			if _, err := t.exec(ctx, `INSERT INTO user_session_days (user_id, day, sessions) VALUES (?, ?, 1)
ON CONFLICT (user_id, day) DO UPDATE SET sessions = user_session_days.sessions + 1`, ss.UserID, day(ss.Time)); err != nil {
				return fmt.Errorf("store: user_session_days: %w", err)
			}
			if _, err := t.exec(ctx, `UPDATE users SET first_session_at = CASE WHEN first_session_at IS NULL OR first_session_at > ? THEN ? ELSE first_session_at END,
last_session_at = CASE WHEN last_session_at IS NULL OR last_session_at < ? THEN ? ELSE last_session_at END, version = version + 1 WHERE id = ?`,
				ms, ms, ms, ms, ss.UserID); err != nil {
				return fmt.Errorf("store: users sessions: %w", err)
			}
		}
		return nil
	})
}
