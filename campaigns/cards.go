package campaigns

import (
	"encoding/json"
	"fmt"
	"time"
)

// Card is a Content Card in one user's feed.
type Card struct {
	ID         string
	UserID     int64
	CampaignID string
	DispatchID string
	// Card is the rendered content_card object (type, title, description,
	// image_url, uris, extra, …).
	Card      map[string]any
	Pinned    bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Content Card limits (Braze's).
const (
	MaxCardBytes = 2048
	MaxCardTTL   = 30 * 24 * time.Hour
)

var cardTypes = map[string]bool{"CLASSIC": true, "CAPTIONED_IMAGE": true, "BANNER": true}

// validateCard checks a content_card object when a campaign is saved.
func validateCard(obj map[string]any, path string, ps *problems) {
	typ, _ := obj["type"].(string)
	if !cardTypes[typ] {
		ps.add(path+".type", "want CLASSIC, CAPTIONED_IMAGE or BANNER, got %v", obj["type"])
	}
	need := []string{"title", "description"}
	switch typ {
	case "BANNER":
		need = []string{"image_url"}
	case "CAPTIONED_IMAGE":
		need = append(need, "image_url")
	}
	for _, f := range need {
		if s, _ := obj[f].(string); s == "" {
			ps.add(path+"."+f, "required for a %s card", typ)
		}
	}
	_, hasTTL := obj["time_to_live"]
	_, hasAt := obj["expire_at"]
	switch {
	case hasTTL && hasAt:
		ps.add(path+".expire_at", "give time_to_live or expire_at, not both")
	case hasTTL:
		ttl, ok := obj["time_to_live"].(float64)
		if !ok || ttl <= 0 || time.Duration(ttl)*time.Second > MaxCardTTL {
			ps.add(path+".time_to_live", "want seconds, at most 30 days")
		}
	case hasAt:
		if s, ok := obj["expire_at"].(string); !ok || !validTime(s) {
			ps.add(path+".expire_at", "want an ISO 8601 time")
		}
	}
}

func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// newCard builds a user's card from its rendered object; it fails with the
// size when the card is over MaxCardBytes.
func newCard(obj map[string]any, userID int64, d *Dispatch, id string, now time.Time) (*Card, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxCardBytes {
		return nil, fmt.Errorf("the card is %d bytes, over %d", len(b), MaxCardBytes)
	}
	c := &Card{ID: id, UserID: userID, CampaignID: d.CampaignID, DispatchID: d.ID, Card: obj, CreatedAt: now,
		ExpiresAt: now.Add(MaxCardTTL)}
	c.Pinned, _ = obj["pinned"].(bool)
	if ttl, ok := obj["time_to_live"].(float64); ok && ttl > 0 {
		c.ExpiresAt = now.Add(min(time.Duration(ttl)*time.Second, MaxCardTTL))
	}
	if s, ok := obj["expire_at"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil && t.Before(c.ExpiresAt) {
			c.ExpiresAt = t
		}
	}
	return c, nil
}
