package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/scheduler"
)

// Local-time sends: a local_sends row per local-time dispatch, its waves in
// dispatch_waves, and its pages in dispatch_pages as any dispatch's (with
// the wave that recorded them).

// CreateLocalSend stores a local-time send (before its dispatch).
func (s *Store) CreateLocalSend(ctx context.Context, l *campaigns.LocalSend) error {
	if _, err := s.exec(ctx, "INSERT INTO local_sends (dispatch_id, wall_time, policy, launched_at) VALUES (?,?,?,?)",
		l.DispatchID, l.WallTime.String(), l.Policy.String(), l.LaunchedAt.UnixMilli()); err != nil {
		return fmt.Errorf("store: create local send: %w", err)
	}
	return nil
}

// DeleteLocalSend removes a local-time send whose dispatch was not created.
func (s *Store) DeleteLocalSend(ctx context.Context, dispatchID string) error {
	if _, err := s.exec(ctx, "DELETE FROM local_sends WHERE dispatch_id = ?", dispatchID); err != nil {
		return fmt.Errorf("store: delete local send: %w", err)
	}
	return nil
}

// LocalSend returns a dispatch's local-time send (campaigns.ErrNotFound when
// the dispatch is not one).
func (s *Store) LocalSend(ctx context.Context, dispatchID string) (*campaigns.LocalSend, error) {
	var wall, policy, skipped string
	var launched int64
	var planned sql.NullInt64
	err := s.queryRow(ctx, "SELECT wall_time, policy, launched_at, skipped, planned_at FROM local_sends WHERE dispatch_id = ?", dispatchID).
		Scan(&wall, &policy, &launched, &skipped, &planned)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: local send %q: %w", dispatchID, campaigns.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: local send: %w", err)
	}
	l := &campaigns.LocalSend{DispatchID: dispatchID, LaunchedAt: time.UnixMilli(launched).UTC(), PlannedAt: fromMS(planned)}
	if l.WallTime, err = scheduler.ParseLocalTime(wall); err != nil {
		return nil, fmt.Errorf("store: local send %s: %w", dispatchID, err)
	}
	if l.Policy, err = scheduler.ParsePolicy(policy); err != nil {
		return nil, fmt.Errorf("store: local send %s: %w", dispatchID, err)
	}
	if err := json.Unmarshal([]byte(skipped), &l.Skipped); err != nil {
		return nil, fmt.Errorf("store: local send %s skipped zones: %w", dispatchID, err)
	}
	return l, nil
}

// SetLocalSchedule moves a dispatch still scheduled to due and makes it a
// local-time send of l (not one when l is nil), in one transaction; false,
// changing nothing, when the dispatch is not scheduled any more.
func (s *Store) SetLocalSchedule(ctx context.Context, dispatchID string, due time.Time, l *campaigns.LocalSend, at time.Time) (bool, error) {
	ok := false
	err := s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		res, err := t.exec(ctx, "UPDATE dispatches SET due_at = ?, updated_at = ? WHERE id = ? AND status = ?",
			due.UnixMilli(), at.UnixMilli(), dispatchID, campaigns.DispatchScheduled)
		if err != nil {
			return fmt.Errorf("store: reschedule dispatch: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		ok = true
		if _, err := t.exec(ctx, "DELETE FROM local_sends WHERE dispatch_id = ?", dispatchID); err != nil {
			return fmt.Errorf("store: replace local send: %w", err)
		}
		if l == nil {
			return nil
		}
		_, err = t.exec(ctx, "INSERT INTO local_sends (dispatch_id, wall_time, policy, launched_at) VALUES (?,?,?,?)",
			dispatchID, l.WallTime.String(), l.Policy.String(), l.LaunchedAt.UnixMilli())
		if err != nil {
			return fmt.Errorf("store: replace local send: %w", err)
		}
		return nil
	})
	return ok, err
}

// TimeZones lists the distinct time zone names of users, sorted; "" stands
// for users with none.
func (s *Store) TimeZones(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, "SELECT DISTINCT COALESCE(time_zone, '') AS z FROM users ORDER BY z")
	if err != nil {
		return nil, fmt.Errorf("store: time zones: %w", err)
	}
	return collect(rows, func(r rowScanner) (string, error) {
		var z string
		return z, r.Scan(&z)
	})
}

// PlanWaves stores a local-time dispatch's waves and skipped zones, once:
// false when they were stored already. A plan of no wave sets the dispatch's
// paging done (and so finishes it, with no page).
func (s *Store) PlanWaves(ctx context.Context, dispatchID string, waves []campaigns.Wave, skipped []string, at time.Time) (bool, error) {
	ok := false
	err := s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		sk, _ := json.Marshal(append([]string{}, skipped...)) // []string: cannot fail
		res, err := t.exec(ctx, "UPDATE local_sends SET planned_at = ?, skipped = ? WHERE dispatch_id = ? AND planned_at IS NULL",
			at.UnixMilli(), string(sk), dispatchID)
		if err != nil {
			return fmt.Errorf("store: plan waves: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			ok = false // a retried transaction starts over
			return nil
		}
		ok = true
		for _, w := range waves {
			zones, _ := json.Marshal(w.Zones)
			if _, err := t.exec(ctx, "INSERT INTO dispatch_waves (dispatch_id, wave, at, zones, state) VALUES (?,?,?,?,?)",
				dispatchID, w.N, w.At.UnixMilli(), string(zones), campaigns.WavePending); err != nil {
				return fmt.Errorf("store: add wave: %w", err)
			}
		}
		if len(waves) == 0 {
			return t.advanceDispatch(ctx, dispatchID, 0, true, at)
		}
		return nil
	})
	return ok, err
}

const waveCols = "dispatch_id, wave, at, zones, state, page_cursor"

func scanWave(r rowScanner) (campaigns.Wave, error) {
	var w campaigns.Wave
	var at int64
	var zones string
	if err := r.Scan(&w.DispatchID, &w.N, &at, &zones, &w.State, &w.Cursor); err != nil {
		return w, err
	}
	w.At = time.UnixMilli(at).UTC()
	if err := json.Unmarshal([]byte(zones), &w.Zones); err != nil {
		return w, fmt.Errorf("store: wave %s/%d zones: %w", w.DispatchID, w.N, err)
	}
	return w, nil
}

// Waves lists a dispatch's waves in order.
func (s *Store) Waves(ctx context.Context, dispatchID string) ([]campaigns.Wave, error) {
	rows, err := s.query(ctx, "SELECT "+waveCols+" FROM dispatch_waves WHERE dispatch_id = ? ORDER BY wave", dispatchID)
	if err != nil {
		return nil, fmt.Errorf("store: waves: %w", err)
	}
	return collect(rows, scanWave)
}

// DueWaves lists the pending waves due at now of running dispatches (a
// paused dispatch's waves wait for its resume), oldest first.
func (s *Store) DueWaves(ctx context.Context, now time.Time, limit int) ([]campaigns.Wave, error) {
	rows, err := s.query(ctx, "SELECT w."+strings.ReplaceAll(waveCols, ", ", ", w.")+` FROM dispatch_waves w JOIN dispatches d ON d.id = w.dispatch_id
WHERE w.state = ? AND w.at <= ? AND d.status = ? ORDER BY w.at, w.dispatch_id, w.wave LIMIT ?`,
		campaigns.WavePending, now.UnixMilli(), campaigns.DispatchRunning, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due waves: %w", err)
	}
	return collect(rows, scanWave)
}

// StartWave moves a pending wave to started; false when it was not pending.
func (s *Store) StartWave(ctx context.Context, dispatchID string, wave int, at time.Time) (bool, error) {
	res, err := s.exec(ctx, "UPDATE dispatch_waves SET state = ?, started_at = ? WHERE dispatch_id = ? AND wave = ? AND state = ?",
		campaigns.WaveStarted, at.UnixMilli(), dispatchID, wave, campaigns.WavePending)
	if err != nil {
		return false, fmt.Errorf("store: start wave: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// WaveScan streams a wave's users as AudienceScan does: the users matching
// where (or listed in a.UserIDs) whose zone ("" for none) is one of the
// wave's, or of an earlier wave's — or, for the last wave, of no wave and not
// skipped — and who are not yet in the dispatch's ledger.
func (s *Store) WaveScan(ctx context.Context, where string, args []any, a campaigns.WaveAudience, afterID int64, size int,
	fn func(ids []int64, last bool) error) error {
	if a.UserIDs != nil {
		where, args = "u.id IN ("+inList(len(a.UserIDs))+")", int64Args(a.UserIDs)
	}
	args = append([]any{}, args...)
	const zone = "COALESCE(u.time_zone, '')"
	cond := zone + " IN (" + inList(len(a.Zones)) + ")"
	args = append(args, stringArgs(a.Zones)...)
	var others []string
	if len(a.Earlier) > 0 {
		others = append(others, zone+" IN ("+inList(len(a.Earlier))+")")
		args = append(args, stringArgs(a.Earlier)...)
	}
	if a.Last && len(a.Known) > 0 {
		others = append(others, zone+" NOT IN ("+inList(len(a.Known))+")")
		args = append(args, stringArgs(a.Known)...)
	}
	if len(others) > 0 {
		cond += " OR ((" + strings.Join(others, " OR ") + ") AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.dispatch_id = ? AND l.user_id = u.id))"
		args = append(args, a.DispatchID)
	}
	return s.AudienceScan(ctx, "("+where+") AND ("+cond+")", args, afterID, size, fn)
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, v := range ss {
		out[i] = v
	}
	return out
}

// AddWavePages records pages of a wave and moves its cursor, in one
// transaction, and returns the pages as recorded. A page already recorded by
// this wave (a re-run of its task) is kept as it is and returned. A page whose
// first user is the first user of another wave's page (a user who changed
// zone, paged in both waves) is recorded without that user, and so on: the
// page key (dispatch, first user) must not drop the rest of the page, and
// the ledger already keeps that user to one message. waveDone marks the wave
// paged; the last wave paged sets the dispatch's paging done, after which the
// dispatch finishes as any other (AddPages, CompletePage).
func (s *Store) AddWavePages(ctx context.Context, dispatchID string, wave int, pages []campaigns.Page, cursor int64, waveDone bool,
	at time.Time) ([]campaigns.Page, error) {
	var recorded []campaigns.Page
	err := s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		recorded = recorded[:0]
		// The dispatch's row first: concurrent waves finishing take turns, so
		// the last one sees every other wave paged.
		if _, err := t.exec(ctx, "UPDATE dispatches SET updated_at = ? WHERE id = ?", at.UnixMilli(), dispatchID); err != nil {
			return fmt.Errorf("store: lock dispatch: %w", err)
		}
		for _, p := range pages {
			for ids := p.UserIDs; len(ids) > 0; ids = ids[1:] {
				pg := campaigns.Page{DispatchID: dispatchID, FirstUserID: ids[0], UserIDs: ids}
				added, err := t.addPage(ctx, dispatchID, pg, wave, at)
				if err != nil {
					return err
				}
				var owner int
				if !added {
					if err := t.queryRow(ctx, "SELECT wave FROM dispatch_pages WHERE dispatch_id = ? AND first_user_id = ?",
						dispatchID, pg.FirstUserID).Scan(&owner); err != nil {
						return fmt.Errorf("store: page's wave: %w", err)
					}
				}
				if added || owner == wave {
					recorded = append(recorded, pg)
					break
				}
			}
		}
		if _, err := t.exec(ctx, `UPDATE dispatch_waves SET page_cursor = CASE WHEN page_cursor > ? THEN page_cursor ELSE ? END,
state = CASE WHEN ? THEN ? ELSE state END, paged_at = CASE WHEN ? AND paged_at IS NULL THEN ? ELSE paged_at END
WHERE dispatch_id = ? AND wave = ?`,
			cursor, cursor, waveDone, campaigns.WavePaged, waveDone, at.UnixMilli(), dispatchID, wave); err != nil {
			return fmt.Errorf("store: advance wave: %w", err)
		}
		var open int
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM dispatch_waves WHERE dispatch_id = ? AND state <> ?",
			dispatchID, campaigns.WavePaged).Scan(&open); err != nil {
			return fmt.Errorf("store: open waves: %w", err)
		}
		return t.advanceDispatch(ctx, dispatchID, 0, open == 0, at)
	})
	return recorded, err
}
