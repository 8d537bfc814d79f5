package profiles

import (
	"context"
	"fmt"
	"time"
)

// DropTokens invalidates device tokens a provider reported gone (APNs 410 or
// BadDeviceToken, FCM UNREGISTERED, Web Push 404/410). Token is what was sent to
// the provider (for web the subscription JSON); it is mapped to the device's key.
// The delivery path calls it; the sender knows no store.
func (s *Service) DropTokens(ctx context.Context, drops []DroppedToken) (int, error) {
	if len(drops) == 0 {
		return 0, nil
	}
	now := s.now().UTC()
	out := make([]TokenDrop, 0, len(drops))
	for _, d := range drops {
		key := d.Token
		if d.Platform == PlatformWeb {
			sub, err := ParseWebSubscription(d.Token)
			if err != nil {
				return 0, fmt.Errorf("drop token of app %s: %w", d.AppID, err)
			}
			key = sub.Endpoint
		} else if _, k, err := NormalizeToken(d.Platform, d.Token); err == nil {
			key = k
		}
		at := d.At
		if at.IsZero() {
			at = now
		}
		out = append(out, TokenDrop{AppID: d.AppID, TokenKey: key, Reason: d.Reason, At: at})
	}
	return s.store.InvalidateTokens(ctx, out)
}

// DroppedToken is a token a provider reported gone.
type DroppedToken struct {
	AppID    string
	Platform string
	Token    string
	Reason   string
	At       time.Time // zero: now
}
