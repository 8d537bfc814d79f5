package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// On PostgreSQL the ledger statements take a page's rows as array parameters
// (one per column, unnested by the server): one statement text whatever the
// page size, prepared once per connection, a handful of parameters to encode
// instead of thousands.

// claimUpsert creates the rows that do not exist as claimed and takes over
// those left in retry or under a lease that ended; it returns the rows it
// claimed. A row it does not return exists and was not claimable.
const claimUpsert = `INSERT INTO ledger (dispatch_id, user_id, channel, device, campaign_id, message_id, status, claim_token, lease_until, attempts, created_at, updated_at)
SELECT k.dispatch_id, k.user_id, k.channel, k.device, k.campaign_id, k.message_id, $7, $8, $9, 1, $10, $10
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS k (dispatch_id, user_id, channel, device, campaign_id, message_id)
ON CONFLICT (dispatch_id, user_id, channel, device) DO UPDATE SET status = excluded.status, claim_token = excluded.claim_token,
  lease_until = excluded.lease_until, attempts = ledger.attempts + 1, updated_at = excluded.updated_at
WHERE ledger.claim_token <> excluded.claim_token AND (ledger.status = $11 OR (ledger.status = excluded.status AND ledger.lease_until < $10))
RETURNING dispatch_id, user_id, channel, device, message_id, attempts`

// claimPostgres is Claim on PostgreSQL: one statement claims what can be
// claimed; the rows it leaves (finished, or busy under another lease) are
// read after, through the primary key.
func (s *Store) claimPostgres(ctx context.Context, claims []campaigns.Claim, token string, now, leaseUntil time.Time) ([]campaigns.ClaimResult, error) {
	// In key order, so that concurrent claimers lock alike; a key asked for
	// twice is claimed once (a statement may not update a row twice).
	sorted := slices.Clone(claims)
	slices.SortFunc(sorted, func(a, b campaigns.Claim) int { return compareKeys(a.LedgerKey, b.LedgerKey) })
	sorted = slices.CompactFunc(sorted, func(a, b campaigns.Claim) bool { return a.LedgerKey == b.LedgerKey })
	var cols ledgerColumns
	camps, msgs := make([]string, 0, len(sorted)), make([]string, 0, len(sorted))
	for _, c := range sorted {
		cols.add(c.LedgerKey)
		camps, msgs = append(camps, c.CampaignID), append(msgs, c.MessageID)
	}
	nowMS, keyArgs := now.UnixMilli(), cols.args()
	got := make(map[campaigns.LedgerKey]campaigns.ClaimResult, len(sorted))
	err := s.retry(ctx, func(int) error {
		clear(got)
		rows, err := s.write.QueryContext(ctx, claimUpsert, append(keyArgs, textArray(camps), textArray(msgs),
			campaigns.LedgerClaimed, token, leaseUntil.UnixMilli(), nowMS, campaigns.LedgerRetry)...)
		if err != nil {
			return fmt.Errorf("store: claim: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k campaigns.LedgerKey
			r := campaigns.ClaimResult{State: campaigns.Claimed}
			if err := rows.Scan(&k.DispatchID, &k.UserID, &k.Channel, &k.Device, &r.MessageID, &r.Attempts); err != nil {
				return err
			}
			got[k] = r
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	var rest []campaigns.LedgerKey
	for _, c := range sorted {
		if _, ok := got[c.LedgerKey]; !ok {
			rest = append(rest, c.LedgerKey)
		}
	}
	if err := s.readClaims(ctx, rest, token, got); err != nil {
		return nil, err
	}
	out := make([]campaigns.ClaimResult, len(claims))
	for i, c := range claims {
		r, ok := got[c.LedgerKey]
		if !ok {
			return nil, fmt.Errorf("store: claim of %+v vanished", c.LedgerKey)
		}
		out[i] = r
	}
	return out, nil
}

// readClaims reads what the rows of keys are now into got. It reads every
// row of their users (an index range per user) and keeps those asked for.
func (s *Store) readClaims(ctx context.Context, keys []campaigns.LedgerKey, token string, got map[campaigns.LedgerKey]campaigns.ClaimResult) error {
	if len(keys) == 0 {
		return nil
	}
	want := make(map[campaigns.LedgerKey]bool, len(keys))
	var dispatches []string
	var users []int64
	for _, k := range keys {
		want[k] = true
		if !slices.Contains(dispatches, k.DispatchID) {
			dispatches = append(dispatches, k.DispatchID)
		}
		if n := len(users); n == 0 || users[n-1] != k.UserID { // keys are sorted
			users = append(users, k.UserID)
		}
	}
	rows, err := s.read.QueryContext(ctx, `SELECT dispatch_id, user_id, channel, device, status, claim_token, message_id, attempts
FROM ledger WHERE dispatch_id = ANY($1::text[]) AND user_id = ANY($2::bigint[])`, textArray(dispatches), intArray(users))
	if err != nil {
		return fmt.Errorf("store: read claims: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k campaigns.LedgerKey
		var status, owner string
		var r campaigns.ClaimResult
		if err := rows.Scan(&k.DispatchID, &k.UserID, &k.Channel, &k.Device, &status, &owner, &r.MessageID, &r.Attempts); err != nil {
			return err
		}
		if want[k] {
			r.State = claimState(status, owner, token)
			got[k] = r
		}
	}
	return rows.Err()
}

// recordPostgres is Record on PostgreSQL: one statement per kind of row.
func (s *Store) recordPostgres(ctx context.Context, claimed, aborts []campaigns.Outcome, events []campaigns.Engagement, token string, nowMS int64) error {
	var rec ledgerColumns
	states, reasons, providers := make([]string, 0, len(claimed)), make([]string, 0, len(claimed)), make([]string, 0, len(claimed))
	for _, o := range claimed {
		rec.add(o.LedgerKey)
		states, reasons, providers = append(states, o.State), append(reasons, o.Reason), append(providers, o.ProviderID)
	}
	var ab ledgerColumns
	abCamps, abMsgs, abStates, abReasons := make([]string, 0, len(aborts)), make([]string, 0, len(aborts)), make([]string, 0, len(aborts)), make([]string, 0, len(aborts))
	for _, o := range aborts {
		ab.add(o.LedgerKey)
		abCamps, abMsgs = append(abCamps, o.CampaignID), append(abMsgs, o.MessageID)
		abStates, abReasons = append(abStates, o.State), append(abReasons, o.Reason)
	}
	var ev ledgerColumns
	kinds, evCamps, evReasons, ats := make([]string, 0, len(events)), make([]string, 0, len(events)), make([]string, 0, len(events)), make([]int64, 0, len(events))
	for _, e := range events {
		ev.add(e.LedgerKey)
		kinds, evCamps, evReasons, ats = append(kinds, e.Kind), append(evCamps, e.CampaignID), append(evReasons, e.Reason), append(ats, e.At.UnixMilli())
	}
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		if len(claimed) > 0 {
			if err := t.hashJoins(ctx); err != nil {
				return err
			}
			bound, bargs := ledgerRange("ledger.", claimed, func(o campaigns.Outcome) campaigns.LedgerKey { return o.LedgerKey })
			args := append(append(append([]any{nowMS}, rec.args()...), textArray(states), textArray(reasons), textArray(providers), token), bargs...)
			if _, err := t.exec(ctx, `UPDATE ledger SET status = v.status, reason = v.reason, provider_id = v.provider_id, lease_until = 0, updated_at = ?
FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS v (dispatch_id, user_id, channel, device, status, reason, provider_id)
WHERE ledger.claim_token = ? AND `+bound+`ledger.dispatch_id = v.dispatch_id AND ledger.user_id = v.user_id AND ledger.channel = v.channel AND ledger.device = v.device`,
				args...); err != nil {
				return fmt.Errorf("store: record: %w", err)
			}
		}
		if len(aborts) > 0 {
			if _, err := t.exec(ctx, `INSERT INTO ledger (dispatch_id, user_id, channel, device, campaign_id, message_id, status, reason, created_at, updated_at)
SELECT a.*, ?, ? FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS a
ON CONFLICT (dispatch_id, user_id, channel, device) DO NOTHING`,
				append(append([]any{nowMS, nowMS}, ab.args()...), textArray(abCamps), textArray(abMsgs), textArray(abStates), textArray(abReasons))...); err != nil {
				return fmt.Errorf("store: record aborts: %w", err)
			}
		}
		if len(events) > 0 {
			if _, err := t.exec(ctx, `INSERT INTO engagement (dispatch_id, user_id, channel, device, kind, campaign_id, reason, at)
SELECT * FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[])
ON CONFLICT (dispatch_id, user_id, channel, device, kind) DO NOTHING`,
				append(ev.args(), textArray(kinds), textArray(evCamps), textArray(evReasons), intArray(ats))...); err != nil {
				return fmt.Errorf("store: engagement: %w", err)
			}
		}
		return nil
	})
}

// hashJoins makes PostgreSQL join a page's keys (an unnested array
// parameter) to the ledger rows of the page's key range by hashing, for the
// rest of the transaction. Both sides may be estimated at a few rows (an
// array parameter is not analyzed; the ledger of a running dispatch has no
// statistics yet), so the planner otherwise may pick a nested loop comparing
// every key with every row.
func (t *tx) hashJoins(ctx context.Context) error {
	if _, err := t.exec(ctx, "SET LOCAL enable_nestloop = off"); err != nil {
		return fmt.Errorf("store: set enable_nestloop: %w", err)
	}
	return nil
}

// ledgerColumns holds ledger keys column by column, as array parameters.
type ledgerColumns struct {
	dispatches []string
	users      []int64
	channels   []string
	devices    []string
}

func (c *ledgerColumns) add(k campaigns.LedgerKey) {
	c.dispatches = append(c.dispatches, k.DispatchID)
	c.users = append(c.users, k.UserID)
	c.channels = append(c.channels, k.Channel)
	c.devices = append(c.devices, k.Device)
}

// args are the four columns as array parameters.
func (c *ledgerColumns) args() []any {
	return []any{textArray(c.dispatches), intArray(c.users), textArray(c.channels), textArray(c.devices)}
}

func compareKeys(a, b campaigns.LedgerKey) int {
	return cmp.Or(cmp.Compare(a.DispatchID, b.DispatchID), cmp.Compare(a.UserID, b.UserID),
		cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Device, b.Device))
}
