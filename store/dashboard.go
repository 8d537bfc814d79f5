package store

import (
	"context"
	"fmt"
	"time"
)

// UserActivity is what the dashboard's user lookup shows beside a profile:
// the user's latest events and the messages of recent sends.
type UserActivity struct {
	Events   []ActivityEvent
	Messages []ReceivedMessage
}

// ActivityEvent is one custom event of a user.
type ActivityEvent struct {
	Name       string
	Time       time.Time
	AppID      string
	Properties string // JSON object
}

// ReceivedMessage is one message of a send to a user: its ledger row (state
// and reason) and the engagement recorded for it.
type ReceivedMessage struct {
	CampaignID   string
	CampaignName string
	DispatchID   string
	Channel      string
	Device       string
	Status       string // ledger state: delivered, dropped, aborted, … ("" once purged)
	Reason       string
	At           time.Time
	Engagement   []string // engagement kinds: delivery, bounce, open, click, …
}

// activityDispatches bounds how far back the messages of a user are looked
// for: the newest dispatches, each read through the (dispatch, user) prefix
// of the ledger's and the engagement's keys.
const activityDispatches = 200

// UserActivity returns up to limit of the user's newest events, and the
// user's messages among the newest activityDispatches dispatches.
func (s *Store) UserActivity(ctx context.Context, userID int64, limit int) (*UserActivity, error) {
	out := &UserActivity{}
	rows, err := s.query(ctx, "SELECT name, time, app_id, CAST(properties AS TEXT) FROM events WHERE user_id = ? ORDER BY time DESC, seq DESC LIMIT ?", userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: user events: %w", err)
	}
	for rows.Next() {
		var e ActivityEvent
		var at int64
		if err := rows.Scan(&e.Name, &at, &e.AppID, &e.Properties); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: user events: %w", err)
		}
		e.Time = time.UnixMilli(at).UTC()
		out.Events = append(out.Events, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: user events: %w", err)
	}
	recent := "SELECT id, campaign_id FROM dispatches ORDER BY created_at DESC LIMIT " + fmt.Sprint(activityDispatches)
	rows, err = s.query(ctx, `SELECT l.dispatch_id, l.campaign_id, COALESCE(c.name, ''), l.channel, l.device, l.status, l.reason, l.updated_at
		FROM (`+recent+`) d JOIN ledger l ON l.dispatch_id = d.id AND l.user_id = ?
		LEFT JOIN campaigns c ON c.id = l.campaign_id
		ORDER BY l.updated_at DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: user messages: %w", err)
	}
	type msgKey struct{ dispatch, channel, device string }
	index := map[msgKey]int{}
	for rows.Next() {
		var m ReceivedMessage
		var at int64
		if err := rows.Scan(&m.DispatchID, &m.CampaignID, &m.CampaignName, &m.Channel, &m.Device, &m.Status, &m.Reason, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: user messages: %w", err)
		}
		m.At = time.UnixMilli(at).UTC()
		index[msgKey{m.DispatchID, m.Channel, m.Device}] = len(out.Messages)
		out.Messages = append(out.Messages, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: user messages: %w", err)
	}
	rows, err = s.query(ctx, `SELECT e.dispatch_id, e.campaign_id, COALESCE(c.name, ''), e.channel, e.device, e.kind, e.at
		FROM (`+recent+`) d JOIN engagement e ON e.dispatch_id = d.id AND e.user_id = ?
		LEFT JOIN campaigns c ON c.id = e.campaign_id
		ORDER BY e.at DESC LIMIT ?`, userID, limit*4)
	if err != nil {
		return nil, fmt.Errorf("store: user engagement: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m ReceivedMessage
		var kind string
		var at int64
		if err := rows.Scan(&m.DispatchID, &m.CampaignID, &m.CampaignName, &m.Channel, &m.Device, &kind, &at); err != nil {
			return nil, fmt.Errorf("store: user engagement: %w", err)
		}
		k := msgKey{m.DispatchID, m.Channel, m.Device}
		i, ok := index[k]
		if !ok { // the ledger row was purged: the engagement still tells
			m.At = time.UnixMilli(at).UTC()
			i = len(out.Messages)
			index[k] = i
			out.Messages = append(out.Messages, m)
		}
		out.Messages[i].Engagement = append(out.Messages[i].Engagement, kind)
	}
	return out, rows.Err()
}
