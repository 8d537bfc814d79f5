package campaigns

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
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
	// The user's engagement (zero: not yet): set once each, by the SDK's
	// reports. A dismissed card has left the feed for good.
	ViewedAt, ClickedAt, DismissedAt time.Time
	// ChangedAt is when the card was written to the feed (the store's
	// clock) or its state last changed: incremental syncs send the cards
	// changed since their token.
	ChangedAt time.Time
}

// Card creation timings (a content_card's "card_creation"): written to the
// feed by the worker when the dispatch runs (the default), or at the user's
// first sync after it, when the user is in the audience then (cardsync.go).
const (
	CardAtLaunch          = "at_launch"
	CardAtFirstImpression = "at_first_impression"
)

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
	if v, ok := obj["card_creation"]; ok && v != CardAtLaunch && v != CardAtFirstImpression {
		ps.add(path+".card_creation", "want %s or %s, got %v", CardAtLaunch, CardAtFirstImpression, v)
	}
	for _, f := range []string{"pinned", "ios_use_webview", "android_use_webview", "web_use_webview"} {
		if v, ok := obj[f]; ok {
			if _, isBool := v.(bool); !isBool {
				ps.add(path+"."+f, "want true or false, got %v", v)
			}
		}
	}
	for _, f := range []string{"ios_uri", "android_uri", "web_uri", "image_url"} {
		v, ok := obj[f]
		if !ok {
			continue
		}
		s, isStr := v.(string)
		if !isStr || !validCardURI(s, f == "image_url") {
			want := "an absolute URI (https://…, or an app's deep link)"
			if f == "image_url" {
				want = "an http(s) URL"
			}
			ps.add(path+"."+f, "want %s, got %v", want, v)
		}
	}
	if v, ok := obj["uri_text"]; ok {
		if _, isStr := v.(string); !isStr {
			ps.add(path+".uri_text", "want a string")
		}
	}
	if v, ok := obj["extra"]; ok {
		extra, isObj := v.(map[string]any)
		if !isObj {
			ps.add(path+".extra", "want an object of key-value pairs")
		}
		for k, x := range extra {
			switch x.(type) {
			case string, float64, bool:
			default:
				ps.add(path+".extra."+k, "want a string, number or boolean")
			}
		}
	}
}

// validCardURI reports whether s can be a card's link (or image when
// image): absolute, with a scheme (http or https for an image). A value
// with Liquid is only known per user, when it is rendered.
func validCardURI(s string, image bool) bool {
	if strings.Contains(s, "{{") || strings.Contains(s, "{%") {
		return true
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
		return false
	}
	if image {
		return (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
	}
	return true
}

// cardAtFirstImpression reports whether a dispatch's content card (of the
// variant variantID; "" without variants) is created at the user's first
// sync rather than by the worker.
func cardAtFirstImpression(s Spec, variantID string) bool {
	msgs := s.Messages
	for _, v := range s.Variants {
		if v.ID == variantID {
			msgs = v.Messages
		}
	}
	return msgs[ContentCard]["card_creation"] == CardAtFirstImpression
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
