package store

import (
	"context"

	"github.com/herald-oss/herald/profiles"
)

// AddSessions records session starts in one transaction: per app the first
// and last use, the session count and the app version; per UTC day the
// session count; and the user's first and last session times.
func (s *Store) AddSessions(ctx context.Context, sessions []profiles.Session) error {
	if len(sessions) == 0 {
		return nil
	}
	return s.InTx(ctx, func(ptx profiles.Tx) error { return ptx.(*tx).AddSessions(ctx, sessions) })
}
