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
// those left in retry or under a lease that ended; it returns the message id
// and attempts of the rows it claimed, and whether it created them (xmax 0:
// no earlier version). A created row holds the message id it was given,
// which names its key when no other key of the statement was given the same;
// a row taken over keeps the id of its first claim, which need not be the
// one given, so it is read back by key. A row it does not return exists and
// was not claimable. The rows are of one dispatch (and so of one campaign):
// those two are plain parameters, not columns of the arrays.
const claimUpsert = `INSERT INTO ledger (dispatch_id, user_id, channel, device, campaign_id, message_id, status, claim_token, lease_until, attempts, created_at, updated_at)
SELECT $1, k.user_id, k.channel, k.device, $2, k.message_id, $7, $8, $9, 1, $10, $10
FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[]) AS k (user_id, channel, device, message_id)
ON CONFLICT (dispatch_id, user_id, channel, device) DO UPDATE SET status = excluded.status, claim_token = excluded.claim_token,
  lease_until = excluded.lease_until, attempts = ledger.attempts + 1, updated_at = excluded.updated_at
WHERE ledger.claim_token <> excluded.claim_token AND (ledger.status = $11 OR (ledger.status = excluded.status AND ledger.lease_until < $10))
RETURNING message_id, attempts, xmax::text = '0'`

// claimPostgres is Claim on PostgreSQL: one statement per dispatch claims
// what can be claimed; the rows it leaves (finished, or busy under another
// lease) and the rows it took over (rare: retries and expired leases) are
// read after, through the primary key.
func (s *Store) claimPostgres(ctx context.Context, claims []campaigns.Claim, token string, now, leaseUntil time.Time) ([]campaigns.ClaimResult, error) {
	// In key order, so that concurrent claimers lock alike; a key asked for
	// twice is claimed once (a statement may not update a row twice).
	order := make([]int, len(claims))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return compareKeys(claims[a].LedgerKey, claims[b].LedgerKey) })
	all := order
	order = slices.CompactFunc(slices.Clone(all), func(a, b int) bool { return claims[a].LedgerKey == claims[b].LedgerKey })
	nowMS := now.UnixMilli()
	results := make([]campaigns.ClaimResult, len(claims)) // by claim index; State 0 until answered
	for _, group := range groupByDispatch(order, func(i int) (string, string) { return claims[i].DispatchID, claims[i].CampaignID }) {
		var cols ledgerColumns
		msgs := make([]string, 0, len(group))
		byMsg := make(map[string]int, len(group)) // message id -> claim index; -1 when two claims share it
		for _, i := range group {
			c := &claims[i]
			cols.add(c.LedgerKey)
			msgs = append(msgs, c.MessageID)
			if _, dup := byMsg[c.MessageID]; dup {
				byMsg[c.MessageID] = -1
			} else {
				byMsg[c.MessageID] = i
			}
		}
		c0 := &claims[group[0]]
		args := append([]any{c0.DispatchID, c0.CampaignID}, cols.args()...)
		args = append(args, textArray(msgs), campaigns.LedgerClaimed, token, leaseUntil.UnixMilli(), nowMS, campaigns.LedgerRetry)
		err := s.retry(ctx, func(int) error {
			rows, err := s.write.QueryContext(ctx, claimUpsert, args...)
			if err != nil {
				return fmt.Errorf("store: claim: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				r := campaigns.ClaimResult{State: campaigns.Claimed}
				var created bool
				if err := rows.Scan(&r.MessageID, &r.Attempts, &created); err != nil {
					return err
				}
				if i, ok := byMsg[r.MessageID]; ok && i >= 0 && created {
					results[i] = r
				}
			}
			return rows.Err()
		})
		if err != nil {
			return nil, err
		}
	}
	var rest []campaigns.LedgerKey
	for _, i := range order {
		if results[i].State == 0 {
			rest = append(rest, claims[i].LedgerKey)
		}
	}
	if len(rest) > 0 {
		got := make(map[campaigns.LedgerKey]campaigns.ClaimResult, len(rest))
		if err := s.readClaims(ctx, rest, token, got); err != nil {
			return nil, err
		}
		for _, i := range order {
			if results[i].State == 0 {
				r, ok := got[claims[i].LedgerKey]
				if !ok {
					return nil, fmt.Errorf("store: claim of %+v vanished", claims[i].LedgerKey)
				}
				results[i] = r
			}
		}
	}
	// A key asked for twice has the result of its first claim (the one in
	// order): the claims of a key are next to each other in all.
	for j := 1; j < len(all); j++ {
		if results[all[j]].State == 0 && claims[all[j]].LedgerKey == claims[all[j-1]].LedgerKey {
			results[all[j]] = results[all[j-1]]
		}
	}
	return results, nil
}

// groupByDispatch splits rows into runs of one dispatch and campaign, in
// the order they come (rows sorted by key make one run per dispatch).
func groupByDispatch[T any](rows []T, key func(T) (dispatch, campaign string)) [][]T {
	var out [][]T
	start := 0
	for i := 1; i <= len(rows); i++ {
		if i < len(rows) {
			d0, c0 := key(rows[start])
			d, c := key(rows[i])
			if d == d0 && c == c0 {
				continue
			}
		}
		out = append(out, rows[start:i])
		start = i
	}
	return out
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

// recordPostgres is Record on PostgreSQL: one statement per kind of row
// and dispatch (a page's rows are of one dispatch).
func (s *Store) recordPostgres(ctx context.Context, claimed, aborts []campaigns.Outcome, events []campaigns.Engagement, token string, nowMS int64,
	added *[]campaigns.Engagement) error {
	outcomeKey := func(o campaigns.Outcome) (string, string) { return o.DispatchID, o.CampaignID }
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		if len(claimed) > 0 {
			if err := t.hashJoins(ctx); err != nil {
				return err
			}
		}
		// A claimed row's campaign is already stored: group by dispatch only.
		for _, group := range groupByDispatch(claimed, func(o campaigns.Outcome) (string, string) { return o.DispatchID, "" }) {
			var rec ledgerColumns
			states, reasons, providers := make([]string, 0, len(group)), make([]string, 0, len(group)), make([]string, 0, len(group))
			for _, o := range group {
				rec.add(o.LedgerKey)
				states, reasons, providers = append(states, o.State), append(reasons, o.Reason), append(providers, o.ProviderID)
			}
			lo, hi := rec.userRange()
			args := append(append([]any{nowMS}, rec.args()...), textArray(states), textArray(reasons), textArray(providers), token, group[0].DispatchID, lo, hi, nowMS)
			// The claims that held take their state, and the engagement
			// event it stands for (campaigns.OutcomeEvent) is inserted from
			// the updated rows in the same statement.
			if _, err := t.exec(ctx, `WITH u AS (UPDATE ledger SET status = v.status, reason = v.reason, provider_id = v.provider_id, lease_until = 0, updated_at = ?
FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS v (user_id, channel, device, status, reason, provider_id)
WHERE ledger.claim_token = ? AND ledger.dispatch_id = ? AND ledger.user_id BETWEEN ? AND ?
AND ledger.user_id = v.user_id AND ledger.channel = v.channel AND ledger.device = v.device
RETURNING ledger.dispatch_id, ledger.campaign_id, ledger.user_id, ledger.channel, ledger.device, ledger.status, ledger.reason)
INSERT INTO engagement (dispatch_id, campaign_id, user_id, channel, device, kind, reason, at)
SELECT dispatch_id, campaign_id, user_id, channel, device, `+outcomeKindSQL+`, CASE WHEN status = '`+campaigns.LedgerDelivered+`' THEN '' ELSE reason END, ?
FROM u WHERE status IN ('`+campaigns.LedgerDelivered+`', '`+campaigns.LedgerDropped+`', '`+campaigns.LedgerAborted+`', '`+campaigns.LedgerFailed+`')
ON CONFLICT (dispatch_id, user_id, channel, device, kind) DO NOTHING`, args...); err != nil {
				return fmt.Errorf("store: record: %w", err)
			}
		}
		var inserted []campaigns.LedgerKey
		for _, group := range groupByDispatch(aborts, outcomeKey) {
			var ab ledgerColumns
			msgs, states, reasons := make([]string, 0, len(group)), make([]string, 0, len(group)), make([]string, 0, len(group))
			for _, o := range group {
				ab.add(o.LedgerKey)
				msgs, states, reasons = append(msgs, o.MessageID), append(states, o.State), append(reasons, o.Reason)
			}
			args := append([]any{group[0].DispatchID, group[0].CampaignID, nowMS, nowMS}, ab.args()...)
			rows, err := t.query(ctx, `INSERT INTO ledger (dispatch_id, campaign_id, created_at, updated_at, user_id, channel, device, message_id, status, reason)
SELECT ?, ?, ?, ?, a.* FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS a
ON CONFLICT (dispatch_id, user_id, channel, device) DO NOTHING
RETURNING dispatch_id, user_id, channel, device`,
				append(args, textArray(msgs), textArray(states), textArray(reasons))...)
			if err != nil {
				return fmt.Errorf("store: record aborts: %w", err)
			}
			keys, err := collect(rows, scanLedgerKey)
			if err != nil {
				return fmt.Errorf("store: record aborts: %w", err)
			}
			inserted = append(inserted, keys...)
		}
		events := withoutStaleAborts(events, aborts, inserted)
		for _, group := range groupByDispatch(events, func(e campaigns.Engagement) (string, string) { return e.DispatchID, e.CampaignID }) {
			var ev ledgerColumns
			kinds, reasons, ats := make([]string, 0, len(group)), make([]string, 0, len(group)), make([]int64, 0, len(group))
			for _, e := range group {
				ev.add(e.LedgerKey)
				kinds, reasons, ats = append(kinds, e.Kind), append(reasons, e.Reason), append(ats, e.At.UnixMilli())
			}
			args := append(append([]any{group[0].DispatchID, group[0].CampaignID}, ev.args()...), textArray(kinds), textArray(reasons), intArray(ats))
			q := `INSERT INTO engagement (dispatch_id, campaign_id, user_id, channel, device, kind, reason, at)
SELECT ?, ?, e.* FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[]) AS e
ON CONFLICT (dispatch_id, user_id, channel, device, kind) DO NOTHING`
			if added != nil {
				if err := t.addedEvents(ctx, q+" RETURNING dispatch_id, user_id, channel, device, kind", args, group, added); err != nil {
					return err
				}
				continue
			}
			if _, err := t.exec(ctx, q, args...); err != nil {
				return fmt.Errorf("store: engagement: %w", err)
			}
		}
		return nil
	})
}

// outcomeKindSQL is campaigns.OutcomeEvent's kind of a ledger status, in
// SQL over a row with a status column.
const outcomeKindSQL = `CASE status WHEN '` + campaigns.LedgerDelivered + `' THEN '` + campaigns.EventDelivery +
	`' WHEN '` + campaigns.LedgerDropped + `' THEN '` + campaigns.EventBounce + `' ELSE '` + campaigns.EventAbort + `' END`

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

// ledgerColumns holds the keys of one dispatch's ledger rows column by
// column, as array parameters (the dispatch is a parameter of its own).
type ledgerColumns struct {
	users    []int64
	channels []string
	devices  []string
}

func (c *ledgerColumns) add(k campaigns.LedgerKey) {
	c.users = append(c.users, k.UserID)
	c.channels = append(c.channels, k.Channel)
	c.devices = append(c.devices, k.Device)
}

// args are the three columns as array parameters.
func (c *ledgerColumns) args() []any {
	return []any{intArray(c.users), textArray(c.channels), textArray(c.devices)}
}

// userRange is the lowest and highest user id held.
func (c *ledgerColumns) userRange() (lo, hi int64) {
	return slices.Min(c.users), slices.Max(c.users)
}

func compareKeys(a, b campaigns.LedgerKey) int {
	return cmp.Or(cmp.Compare(a.DispatchID, b.DispatchID), cmp.Compare(a.UserID, b.UserID),
		cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Device, b.Device))
}
