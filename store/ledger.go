package store

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// Claim claims ledger rows for one worker (token) atomically, in key
// order. A row that does not exist is created as claimed; a row left in
// retry, or claimed under a lease that ended before now, is taken over (its
// message id is kept, its attempts counted); a terminal row is Finished; a
// row under another worker's live lease is Busy.
func (s *Store) Claim(ctx context.Context, claims []campaigns.Claim, token string, now, leaseUntil time.Time) ([]campaigns.ClaimResult, error) {
	out := make([]campaigns.ClaimResult, len(claims))
	if len(claims) == 0 {
		return out, nil
	}
	if s.Driver() == "postgres" {
		return s.claimPostgres(ctx, claims, token, now, leaseUntil)
	}
	err := s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		nowMS, leaseMS := now.UnixMilli(), leaseUntil.UnixMilli()
		cols := s.cols("", "", "", "", "", "", "", "", "", "", "", "")
		for start := 0; start < len(claims); start += rowsPerInsert {
			batch := claims[start:min(start+rowsPerInsert, len(claims))]
			args := make([]any, 0, len(batch)*len(cols))
			for _, c := range batch {
				args = append(args, c.DispatchID, c.UserID, c.Channel, c.Device, c.CampaignID, c.MessageID,
					campaigns.LedgerClaimed, token, leaseMS, 1, nowMS, nowMS)
			}
			if _, err := t.exec(ctx, "INSERT INTO ledger (dispatch_id, user_id, channel, device, campaign_id, message_id, status, claim_token, lease_until, attempts, created_at, updated_at) VALUES "+
				placeholders(len(batch), cols)+" ON CONFLICT (dispatch_id, user_id, channel, device) DO NOTHING", args...); err != nil {
				return fmt.Errorf("store: claim: %w", err)
			}
		}
		// Take over what is claimable, then read what every row is now: one
		// statement each per batch of keys.
		keyCols := s.cols("text", "bigint", "text", "text")
		for start := 0; start < len(claims); start += rowsPerInsert {
			batch := claims[start:min(start+rowsPerInsert, len(claims))]
			keys := make([]any, 0, 4*len(batch))
			for _, c := range batch {
				keys = append(keys, c.DispatchID, c.UserID, c.Channel, c.Device)
			}
			bound, bargs := ledgerRange("", batch, func(c campaigns.Claim) campaigns.LedgerKey { return c.LedgerKey })
			in := bound + "(dispatch_id, user_id, channel, device) IN (VALUES " + placeholders(len(batch), keyCols) + ")"
			keys = append(bargs, keys...)
			args := append([]any{campaigns.LedgerClaimed, token, leaseMS, nowMS}, keys...)
			args = append(args, token, campaigns.LedgerRetry, campaigns.LedgerClaimed, nowMS)
			if _, err := t.exec(ctx, `UPDATE ledger SET status = ?, claim_token = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
WHERE `+in+` AND claim_token <> ? AND (status = ? OR (status = ? AND lease_until < ?))`, args...); err != nil {
				return fmt.Errorf("store: take over claims: %w", err)
			}
			rows, err := t.query(ctx, "SELECT dispatch_id, user_id, channel, device, status, claim_token, message_id, attempts FROM ledger WHERE "+in, keys...)
			if err != nil {
				return fmt.Errorf("store: read claims: %w", err)
			}
			got := map[campaigns.LedgerKey]campaigns.ClaimResult{}
			for rows.Next() {
				var k campaigns.LedgerKey
				var status, owner string
				var r campaigns.ClaimResult
				if err := rows.Scan(&k.DispatchID, &k.UserID, &k.Channel, &k.Device, &status, &owner, &r.MessageID, &r.Attempts); err != nil {
					rows.Close()
					return err
				}
				r.State = claimState(status, owner, token)
				got[k] = r
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for i, c := range batch {
				r, ok := got[c.LedgerKey]
				if !ok {
					return fmt.Errorf("store: claim of %+v vanished", c.LedgerKey)
				}
				out[start+i] = r
			}
		}
		return nil
	})
	return out, err
}

// claimState is what a claimer holding token finds in a row of status,
// claimed by owner.
func claimState(status, owner, token string) campaigns.ClaimState {
	switch {
	case campaigns.Terminal(status):
		return campaigns.Finished
	case status == campaigns.LedgerClaimed && owner == token:
		return campaigns.Claimed
	}
	return campaigns.Busy
}

// Record writes the outcomes of one page in one transaction: claimed rows
// (only while token still owns them) take their state, reason and provider
// id, and the engagement event their final state stands for
// (campaigns.OutcomeEvent, at now) is inserted with them; aborted rows that
// were never claimed are inserted as aborted (a row that exists is left
// alone). Engagement events are inserted once each. RecordEvents does not
// return the events of claimed outcomes.
func (s *Store) Record(ctx context.Context, outcomes []campaigns.Outcome, events []campaigns.Engagement, token string, now time.Time) error {
	return s.record(ctx, outcomes, events, token, now, nil)
}

// RecordEvents is Record that also returns the engagement events it stored
// (those not stored before).
func (s *Store) RecordEvents(ctx context.Context, outcomes []campaigns.Outcome, events []campaigns.Engagement, token string, now time.Time) ([]campaigns.Engagement, error) {
	var added []campaigns.Engagement
	err := s.record(ctx, outcomes, events, token, now, &added)
	return added, err
}

// eventKey identifies an engagement row.
type eventKey struct {
	campaigns.LedgerKey
	kind string
}

// record is Record; with added set, the events stored are appended to it.
func (s *Store) record(ctx context.Context, outcomes []campaigns.Outcome, events []campaigns.Engagement, token string, now time.Time, added *[]campaigns.Engagement) error {
	if len(outcomes) == 0 && len(events) == 0 {
		return nil
	}
	nowMS := now.UnixMilli()
	var claimed, aborts []campaigns.Outcome
	for _, o := range outcomes {
		if o.Claimed {
			claimed = append(claimed, o)
		} else {
			aborts = append(aborts, o)
		}
	}
	if s.Driver() == "postgres" {
		return s.recordPostgres(ctx, claimed, aborts, events, token, nowMS, added)
	}
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		events := events // each try adds the claimed rows' events anew
		vcols := s.cols("text", "bigint", "text", "text", "text", "text", "text")
		for start := 0; start < len(claimed); start += rowsPerInsert {
			batch := claimed[start:min(start+rowsPerInsert, len(claimed))]
			args := make([]any, 0, len(batch)*len(vcols)+2)
			for _, o := range batch {
				args = append(args, o.DispatchID, o.UserID, o.Channel, o.Device, o.State, o.Reason, o.ProviderID)
			}
			args = append(args, nowMS)
			bound, bargs := ledgerRange("ledger.", batch, func(o campaigns.Outcome) campaigns.LedgerKey { return o.LedgerKey })
			args = append(append(args, bargs...), token)
			rows, err := t.query(ctx, `WITH v (dispatch_id, user_id, channel, device, status, reason, provider_id) AS (VALUES `+placeholders(len(batch), vcols)+`)
UPDATE ledger SET status = v.status, reason = v.reason, provider_id = v.provider_id, lease_until = 0, updated_at = ?
FROM v WHERE `+bound+`ledger.dispatch_id = v.dispatch_id AND ledger.user_id = v.user_id AND ledger.channel = v.channel
AND ledger.device = v.device AND ledger.claim_token = ?
RETURNING ledger.dispatch_id, ledger.user_id, ledger.channel, ledger.device, ledger.campaign_id, ledger.status, ledger.reason`, args...)
			if err != nil {
				return fmt.Errorf("store: record: %w", err)
			}
			updated, err := collect(rows, func(r rowScanner) (campaigns.Outcome, error) {
				var o campaigns.Outcome
				err := r.Scan(&o.DispatchID, &o.UserID, &o.Channel, &o.Device, &o.CampaignID, &o.State, &o.Reason)
				return o, err
			})
			if err != nil {
				return fmt.Errorf("store: record: %w", err)
			}
			for _, o := range updated { // the events of the claims that held
				if e, ok := campaigns.OutcomeEvent(o, now); ok {
					events = append(events, e)
				}
			}
		}
		acols := s.cols("", "", "", "", "", "", "", "", "", "")
		var inserted []campaigns.LedgerKey
		for start := 0; start < len(aborts); start += rowsPerInsert {
			batch := aborts[start:min(start+rowsPerInsert, len(aborts))]
			args := make([]any, 0, len(batch)*len(acols))
			for _, o := range batch {
				args = append(args, o.DispatchID, o.UserID, o.Channel, o.Device, o.CampaignID, o.MessageID, o.State, o.Reason, nowMS, nowMS)
			}
			rows, err := t.query(ctx, `INSERT INTO ledger (dispatch_id, user_id, channel, device, campaign_id, message_id, status, reason, created_at, updated_at)
VALUES `+placeholders(len(batch), acols)+` ON CONFLICT (dispatch_id, user_id, channel, device) DO NOTHING
RETURNING dispatch_id, user_id, channel, device`, args...)
			if err != nil {
				return fmt.Errorf("store: record aborts: %w", err)
			}
			keys, err := collect(rows, scanLedgerKey)
			if err != nil {
				return fmt.Errorf("store: record aborts: %w", err)
			}
			inserted = append(inserted, keys...)
		}
		events = withoutStaleAborts(events, aborts, inserted)
		cols := s.cols("", "", "", "", "", "", "", "")
		for start := 0; start < len(events); start += rowsPerInsert {
			batch := events[start:min(start+rowsPerInsert, len(events))]
			args := make([]any, 0, len(batch)*len(cols))
			for _, e := range batch {
				args = append(args, e.DispatchID, e.UserID, e.Channel, e.Device, e.Kind, e.CampaignID, e.Reason, e.At.UnixMilli())
			}
			q := "INSERT INTO engagement (dispatch_id, user_id, channel, device, kind, campaign_id, reason, at) VALUES " +
				placeholders(len(batch), cols) + " ON CONFLICT (dispatch_id, user_id, channel, device, kind) DO NOTHING"
			if added == nil {
				if _, err := t.exec(ctx, q, args...); err != nil {
					return fmt.Errorf("store: engagement: %w", err)
				}
				continue
			}
			if err := t.addedEvents(ctx, q+" RETURNING dispatch_id, user_id, channel, device, kind", args, batch, added); err != nil {
				return err
			}
		}
		return nil
	})
}

// scanLedgerKey reads a row of dispatch_id, user_id, channel, device.
func scanLedgerKey(r rowScanner) (campaigns.LedgerKey, error) {
	var k campaigns.LedgerKey
	err := r.Scan(&k.DispatchID, &k.UserID, &k.Channel, &k.Device)
	return k, err
}

// withoutStaleAborts drops the abort events of abort outcomes whose ledger
// row was already there (not among inserted): a page that runs again decides
// anew for every user, and one who has since left the segment or
// unsubscribed would otherwise get an abort event beside the message the
// first run delivered. The ledger keeps its row either way.
func withoutStaleAborts(events []campaigns.Engagement, aborts []campaigns.Outcome, inserted []campaigns.LedgerKey) []campaigns.Engagement {
	created := make(map[campaigns.LedgerKey]bool, len(inserted))
	for _, k := range inserted {
		created[k] = true
	}
	stale := map[campaigns.LedgerKey]bool{}
	for _, o := range aborts {
		if !created[o.LedgerKey] {
			stale[o.LedgerKey] = true
		}
	}
	if len(stale) == 0 {
		return events
	}
	out := make([]campaigns.Engagement, 0, len(events))
	for _, e := range events {
		if e.Kind == campaigns.EventAbort && stale[e.LedgerKey] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// addedEvents runs an engagement insert returning the keys it stored and
// appends the events of batch it stored to added.
func (t *tx) addedEvents(ctx context.Context, q string, args []any, batch []campaigns.Engagement, added *[]campaigns.Engagement) error {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: engagement: %w", err)
	}
	stored := map[eventKey]bool{}
	for rows.Next() {
		var k eventKey
		if err := rows.Scan(&k.DispatchID, &k.UserID, &k.Channel, &k.Device, &k.kind); err != nil {
			rows.Close()
			return err
		}
		stored[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range batch {
		if k := (eventKey{e.LedgerKey, e.Kind}); stored[k] {
			*added = append(*added, e)
			delete(stored, k)
		}
	}
	return nil
}

// ledgerRange returns, when every key of batch is of one dispatch, the
// condition "<prefix>dispatch_id = ? AND <prefix>user_id BETWEEN ? AND ? AND "
// and its arguments: a range of the ledger's primary key that the database
// reads through the index, whatever its statistics say (a ledger filling up
// during a dispatch has none yet, and a hash join over the whole table per
// page makes a dispatch quadratic). Otherwise it returns nothing.
func ledgerRange[T any](prefix string, batch []T, key func(T) campaigns.LedgerKey) (string, []any) {
	if len(batch) == 0 {
		return "", nil
	}
	first := key(batch[0])
	lo, hi := first.UserID, first.UserID
	for _, b := range batch[1:] {
		k := key(b)
		if k.DispatchID != first.DispatchID {
			return "", nil
		}
		lo, hi = min(lo, k.UserID), max(hi, k.UserID)
	}
	return prefix + "dispatch_id = ? AND " + prefix + "user_id BETWEEN ? AND ? AND ", []any{first.DispatchID, lo, hi}
}

// LedgerCounts counts a dispatch's ledger rows by state and reason.
func (s *Store) LedgerCounts(ctx context.Context, dispatchID string) (map[string]int64, error) {
	rows, err := s.query(ctx, "SELECT status, reason, COUNT(*) FROM ledger WHERE dispatch_id = ? GROUP BY status, reason", dispatchID)
	if err != nil {
		return nil, fmt.Errorf("store: ledger counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var status, reason string
		var n int64
		if err := rows.Scan(&status, &reason, &n); err != nil {
			return nil, err
		}
		key := status
		if reason != "" && status == campaigns.LedgerAborted {
			key += ":" + reason
		}
		out[key] += n
	}
	return out, rows.Err()
}

// PurgeLedger deletes the ledger rows of dispatches that have been over
// (done or stopped) since before the given time, one dispatch at a time
// through the primary key, and reports how many rows it deleted.
func (s *Store) PurgeLedger(ctx context.Context, before time.Time) (int64, error) {
	// The statuses are literals, as in the partial index dispatches_over.
	rows, err := s.query(ctx, `SELECT d.id FROM dispatches d WHERE d.status IN ('`+campaigns.DispatchDone+`', '`+campaigns.DispatchStopped+`')
AND d.updated_at < ? AND EXISTS (SELECT 1 FROM ledger l WHERE l.dispatch_id = d.id)`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: purge ledger: %w", err)
	}
	ids, err := collect(rows, func(r rowScanner) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge ledger: %w", err)
	}
	var total int64
	for _, id := range ids {
		res, err := s.exec(ctx, "DELETE FROM ledger WHERE dispatch_id = ?", id)
		if err != nil {
			return total, fmt.Errorf("store: purge ledger of dispatch %s: %w", id, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
