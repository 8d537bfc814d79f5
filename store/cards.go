package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// AddCards puts content cards into users' feeds, in one transaction; a
// dispatch's card already in a user's feed is kept as it is. changed_at is
// stamped with the database's clock as the row is written (however long
// after its CreatedAt that is), so incremental syncs see the card as new.
func (s *Store) AddCards(ctx context.Context, cards []*campaigns.Card) error {
	if len(cards) == 0 {
		return nil
	}
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		cols := append(s.cols("", "", "", "", "", "", "", ""), s.dbNowMS())
		for start := 0; start < len(cards); start += rowsPerInsert {
			batch := cards[start:min(start+rowsPerInsert, len(cards))]
			args := make([]any, 0, len(batch)*(len(cols)-1))
			for _, c := range batch {
				body, err := json.Marshal(c.Card)
				if err != nil {
					return fmt.Errorf("store: card %s: %w", c.ID, err)
				}
				args = append(args, c.ID, c.UserID, c.CampaignID, c.DispatchID, string(body), c.Pinned, c.CreatedAt.UnixMilli(), c.ExpiresAt.UnixMilli())
			}
			if _, err := t.exec(ctx, "INSERT INTO cards (id, user_id, campaign_id, dispatch_id, card, pinned, created_at, expires_at, changed_at) VALUES "+
				placeholders(len(batch), cols)+" ON CONFLICT (dispatch_id, user_id) DO NOTHING", args...); err != nil {
				return fmt.Errorf("store: add cards: %w", err)
			}
		}
		return nil
	})
}

// dbNowMS is the database's clock in Unix milliseconds, as SQL.
func (s *Store) dbNowMS() string {
	if s.Driver() == "postgres" {
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// cardCols are a card's columns as scanCard reads them.
const cardCols = "id, user_id, campaign_id, dispatch_id, card, pinned, created_at, expires_at, viewed_at, clicked_at, dismissed_at, changed_at"

func scanCard(r rowScanner) (*campaigns.Card, error) {
	c := &campaigns.Card{}
	var body string
	var created, changed int64
	var expires, viewed, clicked, dismissed sql.NullInt64
	if err := r.Scan(&c.ID, &c.UserID, &c.CampaignID, &c.DispatchID, &body, &c.Pinned, &created, &expires, &viewed, &clicked, &dismissed, &changed); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &c.Card); err != nil {
		return nil, fmt.Errorf("store: card %s: %w", c.ID, err)
	}
	c.CreatedAt, c.ExpiresAt = time.UnixMilli(created).UTC(), fromMS(expires)
	c.ViewedAt, c.ClickedAt, c.DismissedAt = fromMS(viewed), fromMS(clicked), fromMS(dismissed)
	if changed > 0 {
		c.ChangedAt = time.UnixMilli(changed).UTC()
	}
	return c, nil
}

// Cards returns a user's cards that have not expired at now and were not
// dismissed, newest first.
func (s *Store) Cards(ctx context.Context, userID int64, now time.Time) ([]*campaigns.Card, error) {
	cards, err := s.UserCards(ctx, userID, now)
	if err != nil {
		return nil, err
	}
	out := cards[:0]
	for _, c := range cards {
		if c.DismissedAt.IsZero() {
			out = append(out, c)
		}
	}
	return out, nil
}

// UserCards returns a user's cards that had not expired at since, dismissed
// ones too, newest first.
func (s *Store) UserCards(ctx context.Context, userID int64, since time.Time) ([]*campaigns.Card, error) {
	rows, err := s.query(ctx, "SELECT "+cardCols+` FROM cards
WHERE user_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, id`, userID, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: cards: %w", err)
	}
	return collect(rows, scanCard)
}

// CardsByID returns the user's cards of ids; unknown ids and other users'
// cards are left out.
func (s *Store) CardsByID(ctx context.Context, userID int64, ids []string) ([]*campaigns.Card, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.query(ctx, "SELECT "+cardCols+" FROM cards WHERE user_id = ? AND id IN ("+inList(len(ids))+")",
		append([]any{userID}, strArgs(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("store: cards by id: %w", err)
	}
	return collect(rows, scanCard)
}

// firstImpressionSpec is the partial index dispatches_first_impression's
// predicate (migration 00011), repeated literally so the planner uses it.
const firstImpressionSpec = `spec LIKE '%"card_creation":"at_first_impression"%'`

// FirstImpressionDispatches lists the running and done dispatches created
// after since whose content card is created at first impression (of any
// variant), oldest first.
func (s *Store) FirstImpressionDispatches(ctx context.Context, since time.Time) ([]*campaigns.Dispatch, error) {
	rows, err := s.query(ctx, "SELECT "+dispatchCols+" FROM dispatches WHERE "+firstImpressionSpec+
		" AND created_at > ? AND status IN (?, ?) ORDER BY created_at, id",
		since.UnixMilli(), campaigns.DispatchRunning, campaigns.DispatchDone)
	if err != nil {
		return nil, fmt.Errorf("store: first impression dispatches: %w", err)
	}
	return collect(rows, scanDispatch)
}

// CardsDecided returns which of the dispatches have decided the user's card:
// the card is in the feed (whatever its state), or its ledger row says it
// was not sent (aborted, failed).
func (s *Store) CardsDecided(ctx context.Context, userID int64, dispatchIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(dispatchIDs) == 0 {
		return out, nil
	}
	in := inList(len(dispatchIDs))
	args := append([]any{userID}, strArgs(dispatchIDs)...)
	args = append(append(args, userID, campaigns.ContentCard, campaigns.LedgerAborted, campaigns.LedgerFailed), strArgs(dispatchIDs)...)
	rows, err := s.query(ctx, "SELECT dispatch_id FROM cards WHERE user_id = ? AND dispatch_id IN ("+in+`)
UNION SELECT dispatch_id FROM ledger WHERE user_id = ? AND channel = ? AND device = '' AND status IN (?, ?) AND dispatch_id IN (`+in+")", args...)
	if err != nil {
		return nil, fmt.Errorf("store: cards decided: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// cardStateCols maps an engagement kind to the card column it sets.
var cardStateCols = map[string]string{
	campaigns.EngageImpression: "viewed_at",
	campaigns.EngageClick:      "clicked_at",
	campaigns.EngageDismiss:    "dismissed_at",
}

// SetCardStates applies a user's card engagement in one transaction: each
// state is set once (the first report's time) and stamps changed_at with
// at; a dismissed card changes no more. Unknown kinds are refused.
func (s *Store) SetCardStates(ctx context.Context, userID int64, states []campaigns.CardState, at time.Time) error {
	if len(states) == 0 {
		return nil
	}
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		for _, st := range states {
			col, ok := cardStateCols[st.Kind]
			if !ok {
				return fmt.Errorf("store: card state %q", st.Kind)
			}
			if _, err := t.exec(ctx, "UPDATE cards SET "+col+" = ?, changed_at = ? WHERE id = ? AND user_id = ? AND "+col+" IS NULL AND dismissed_at IS NULL",
				st.At.UnixMilli(), at.UnixMilli(), st.ID, userID); err != nil {
				return fmt.Errorf("store: card state: %w", err)
			}
		}
		return nil
	})
}
