package apns

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sideshow/apns2"

	"github.com/herald-oss/herald/channels"
)

// MaxPayloadSize is APNs' limit on a notification body, in bytes. (VoIP pushes
// may carry 5120; Herald applies 4096 to every push type.)
const MaxPayloadSize = 4096

// MaxCollapseIDSize is APNs' limit on apns-collapse-id, in bytes.
const MaxCollapseIDSize = 64

// ErrInvalidPayload marks an apple_push object that cannot become an APNs
// notification; the message is Permanent with reason invalid_push_payload.
var ErrInvalidPayload = errors.New("invalid apple_push object")

// Keys Herald adds to every payload's custom data.
const (
	KeyMessageID  = "herald_message_id"
	KeyDispatchID = "herald_dispatch_id"
)

// Payload is one notification ready for APNs: the JSON body and the values of
// its headers.
type Payload struct {
	Body       []byte
	PushType   apns2.EPushType
	Priority   int       // apns-priority; 0 leaves APNs' default (10)
	Expiration time.Time // apns-expiration; zero sends no header
	CollapseID string    // apns-collapse-id
}

// BuildPayload builds the APNs notification for msg from its rendered Braze
// apple_push object (msg.Object); now dates a relative expiry. The custom data
// holds the object's extra, herald_message_id and herald_dispatch_id, and the
// Braze SDK keys ab_uri, ab_use_webview and ab.att (rich media). The collapse
// id is msg.CollapseID, or the object's collapse_id when that is empty. A
// content-available push with no alert, badge or sound is a background push of
// priority 5. An alert given but blank (an empty string, an object without
// title, subtitle or body) is refused unless the push is a background one
// (content-available, or push_type background), where it is left out; a
// negative badge is refused. Every error wraps ErrInvalidPayload, including a
// body over MaxPayloadSize, which names the size and the limit.
func BuildPayload(msg channels.Message, now time.Time) (Payload, error) {
	obj := msg.Object
	var p Payload
	var a aps

	alert, blankAlert, err := buildAlert(obj)
	if err != nil {
		return p, err
	}
	a.Alert = alert
	if n, ok, err := fieldInt(obj, "badge"); err != nil {
		return p, err
	} else if ok {
		if n < 0 {
			return p, fmt.Errorf("%w: badge %d is negative", ErrInvalidPayload, n)
		}
		a.Badge = &n
	}
	if v, ok := obj["sound"]; ok && v != nil {
		switch v.(type) {
		case string, map[string]any: // a name, or a critical-alert sound dictionary
			a.Sound = v
		default:
			return p, fmt.Errorf("%w: sound must be a string or an object, not %T", ErrInvalidPayload, v)
		}
	}
	if a.ThreadID, _, err = fieldString(obj, "notification_group_thread_id"); err != nil {
		return p, err
	}
	if a.Category, _, err = fieldString(obj, "category"); err != nil {
		return p, err
	}
	contentAvailable, _, err := fieldBool(obj, "content-available")
	if err != nil {
		return p, err
	}
	if contentAvailable {
		a.ContentAvailable = 1
	}
	if blankAlert && !contentAvailable && !explicitBackground(obj) {
		return p, fmt.Errorf("%w: the alert is empty (no title, subtitle or body); only a background push (content-available) may leave it empty", ErrInvalidPayload)
	}
	mutable, _, err := fieldBool(obj, "mutable_content")
	if err != nil {
		return p, err
	}
	if level, ok, err := fieldString(obj, "interruption_level"); err != nil {
		return p, err
	} else if ok {
		switch level {
		case "passive", "active", "time-sensitive", "critical":
			a.InterruptionLevel = level
		default:
			return p, fmt.Errorf("%w: interruption_level %q is not passive, active, time-sensitive or critical", ErrInvalidPayload, level)
		}
	}
	if score, ok, err := fieldFloat(obj, "relevance_score"); err != nil {
		return p, err
	} else if ok {
		if score < 0 || score > 1 {
			return p, fmt.Errorf("%w: relevance_score %v is outside 0.0–1.0", ErrInvalidPayload, score)
		}
		a.RelevanceScore = &score
	}

	custom, err := buildCustom(msg, &mutable)
	if err != nil {
		return p, err
	}
	if mutable {
		a.MutableContent = 1
	}
	if a.Alert == nil && a.Badge == nil && a.Sound == nil && a.ContentAvailable == 0 {
		return p, fmt.Errorf("%w: alert is required unless content-available is true (or a badge or sound is set)", ErrInvalidPayload)
	}
	silent := a.Alert == nil && a.Badge == nil && a.Sound == nil

	if err := buildHeaders(&p, msg, obj, silent, now); err != nil {
		return p, err
	}
	body, err := encodeBody(&a, custom, msg.ID, msg.DispatchID)
	if err != nil {
		return p, fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	if len(body) > MaxPayloadSize {
		return p, fmt.Errorf("%w: the payload is %d bytes, over APNs' limit of %d bytes", ErrInvalidPayload, len(body), MaxPayloadSize)
	}
	p.Body = body
	return p, nil
}

// explicitBackground reports a push_type of background.
func explicitBackground(obj map[string]any) bool {
	t, _ := obj["push_type"].(string)
	return apns2.EPushType(t) == apns2.PushTypeBackground
}

// buildCustom returns the payload's top-level custom data; a rich-media asset
// turns mutable on.
func buildCustom(msg channels.Message, mutable *bool) (map[string]any, error) {
	obj := msg.Object
	extra, _, err := fieldMap(obj, "extra")
	if err != nil {
		return nil, err
	}
	custom := make(map[string]any, len(extra)+3)
	for k, v := range extra {
		switch {
		case k == "ab" || k == "aps":
			return nil, fmt.Errorf("%w: extra may not contain the key %q", ErrInvalidPayload, k)
		case k == KeyMessageID && msg.ID != "", k == KeyDispatchID && msg.DispatchID != "":
			continue // Herald's ids win
		}
		custom[k] = v
	}
	if uri, ok, err := fieldString(obj, "custom_uri"); err != nil {
		return nil, err
	} else if ok && uri != "" {
		custom["ab_uri"] = uri
	}
	if webview, ok, err := fieldBool(obj, "use_webview"); err != nil {
		return nil, err
	} else if ok {
		custom["ab_use_webview"] = webview
	}
	assetURL, hasAsset, err := fieldString(obj, "asset_url")
	if err != nil {
		return nil, err
	}
	if hasAsset && assetURL != "" {
		fileType, _, err := fieldString(obj, "asset_file_type")
		if err != nil {
			return nil, err
		}
		switch fileType {
		case "aif", "gif", "jpg", "m4a", "mp3", "mp4", "png", "wav":
		default:
			return nil, fmt.Errorf("%w: asset_file_type %q is not one of aif, gif, jpg, m4a, mp3, mp4, png, wav", ErrInvalidPayload, fileType)
		}
		custom["ab"] = map[string]any{"att": map[string]string{"url": assetURL, "type": fileType}}
		*mutable = true
	}
	return custom, nil
}

// buildHeaders fills the push type, priority, expiration and collapse id.
func buildHeaders(p *Payload, msg channels.Message, obj map[string]any, silent bool, now time.Time) error {
	pushType, ok, err := fieldString(obj, "push_type")
	if err != nil {
		return err
	}
	switch {
	case !ok || pushType == "":
		p.PushType = apns2.PushTypeAlert
		if silent {
			p.PushType = apns2.PushTypeBackground
		}
	case ValidPushType(pushType):
		p.PushType = apns2.EPushType(pushType)
	default:
		return fmt.Errorf("%w: push_type %q is not an APNs push type", ErrInvalidPayload, pushType)
	}

	priority, ok, err := fieldInt(obj, "apns_priority")
	if err != nil {
		return err
	}
	if ok {
		switch priority {
		case 1, 5, 10:
			p.Priority = priority
		default:
			return fmt.Errorf("%w: apns_priority %d is not 10, 5 or 1", ErrInvalidPayload, priority)
		}
	}
	if p.PushType == apns2.PushTypeBackground && p.Priority != 1 {
		p.Priority = apns2.PriorityLow // APNs refuses priority 10 for background pushes
	}

	if p.Expiration, _, err = fieldExpiry(obj, "expiry", now); err != nil {
		return err
	}

	p.CollapseID = msg.CollapseID
	if p.CollapseID == "" {
		if p.CollapseID, _, err = fieldString(obj, "collapse_id"); err != nil {
			return err
		}
	}
	if len(p.CollapseID) > MaxCollapseIDSize {
		return fmt.Errorf("%w: the collapse id is %d bytes, over APNs' limit of %d bytes", ErrInvalidPayload, len(p.CollapseID), MaxCollapseIDSize)
	}
	return nil
}

// ValidPushType reports whether t is an apns-push-type APNs accepts.
func ValidPushType(t string) bool {
	switch apns2.EPushType(t) {
	case apns2.PushTypeAlert, apns2.PushTypeBackground, apns2.PushTypeLocation, apns2.PushTypeVOIP,
		apns2.PushTypeComplication, apns2.PushTypeFileProvider, apns2.PushTypeMDM,
		apns2.PushTypeLiveActivity, apns2.PushTypePushToTalk, "widgets", "controls":
		return true
	}
	return false
}

// TopicFor returns the apns-topic for a push type: Apple wants the bundle id
// with a suffix for some (".voip", ".complication", …). A topic that already
// ends with the suffix is kept.
func TopicFor(bundleID string, t apns2.EPushType) string {
	var suffix string
	switch t {
	case apns2.PushTypeVOIP:
		suffix = ".voip"
	case apns2.PushTypeComplication:
		suffix = ".complication"
	case apns2.PushTypeFileProvider:
		suffix = ".pushkit.fileprovider"
	case apns2.PushTypeLiveActivity:
		suffix = ".push-type.liveactivity"
	case apns2.PushTypeLocation:
		suffix = ".location-query"
	case apns2.PushTypePushToTalk:
		suffix = ".voip-ptt"
	default:
		return bundleID
	}
	if strings.HasSuffix(bundleID, suffix) {
		return bundleID
	}
	return bundleID + suffix
}
