package apns

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// aps is the "aps" dictionary. Badge and RelevanceScore are pointers because 0
// is meaningful (clear the badge, least relevant).
type aps struct {
	Alert             any      `json:"alert,omitempty"`
	Badge             *int     `json:"badge,omitempty"`
	Sound             any      `json:"sound,omitempty"`
	ThreadID          string   `json:"thread-id,omitempty"`
	Category          string   `json:"category,omitempty"`
	ContentAvailable  int      `json:"content-available,omitempty"`
	MutableContent    int      `json:"mutable-content,omitempty"`
	InterruptionLevel string   `json:"interruption-level,omitempty"`
	RelevanceScore    *float64 `json:"relevance-score,omitempty"`
}

// apsAlert is the aps alert dictionary; fields in key order.
type apsAlert struct {
	ActionLocKey    string   `json:"action-loc-key,omitempty"`
	Body            string   `json:"body,omitempty"`
	LaunchImage     string   `json:"launch-image,omitempty"`
	LocArgs         []string `json:"loc-args,omitempty"`
	LocKey          string   `json:"loc-key,omitempty"`
	Subtitle        string   `json:"subtitle,omitempty"`
	SubtitleLocArgs []string `json:"subtitle-loc-args,omitempty"`
	SubtitleLocKey  string   `json:"subtitle-loc-key,omitempty"`
	Title           string   `json:"title,omitempty"`
	TitleLocArgs    []string `json:"title-loc-args,omitempty"`
	TitleLocKey     string   `json:"title-loc-key,omitempty"`
}

// field returns the field of an apple_push alert object's key: a string or a
// list of strings; neither for keys APNs does not know (and "sound", which
// only Live Activities read).
func (al *apsAlert) field(key string) (*string, *[]string) {
	switch key {
	case "action_loc_key":
		return &al.ActionLocKey, nil
	case "body":
		return &al.Body, nil
	case "launch_image":
		return &al.LaunchImage, nil
	case "loc_args":
		return nil, &al.LocArgs
	case "loc_key":
		return &al.LocKey, nil
	case "subtitle":
		return &al.Subtitle, nil
	case "subtitle_loc_args":
		return nil, &al.SubtitleLocArgs
	case "subtitle_loc_key":
		return &al.SubtitleLocKey, nil
	case "title":
		return &al.Title, nil
	case "title_loc_args":
		return nil, &al.TitleLocArgs
	case "title_loc_key":
		return &al.TitleLocKey, nil
	}
	return nil, nil
}

// visible reports whether the alert shows any text: a title, subtitle or body,
// literal or localized. Launch image, action button or arguments alone show
// nothing.
func (al *apsAlert) visible() bool {
	return strings.TrimSpace(al.Title) != "" || strings.TrimSpace(al.Subtitle) != "" || strings.TrimSpace(al.Body) != "" ||
		al.TitleLocKey != "" || al.SubtitleLocKey != "" || al.LocKey != ""
}

// buildAlert returns the aps alert: a string, a dictionary, or nil. blank
// reports an alert that was given but shows no text (an empty or blank
// string, an object without title, subtitle or body): the alert is then nil,
// and only a background push may go on without it.
func buildAlert(obj map[string]any) (alert any, blank bool, err error) {
	subtitle, hasSubtitle, err := fieldString(obj, "subtitle")
	if err != nil {
		return nil, false, err
	}
	hasSubtitle = hasSubtitle && subtitle != ""
	v := obj["alert"]
	switch alert := v.(type) {
	case nil:
		if hasSubtitle {
			return &apsAlert{Subtitle: subtitle}, false, nil
		}
		return nil, false, nil
	case string:
		if hasSubtitle {
			out := &apsAlert{Body: alert, Subtitle: subtitle}
			if !out.visible() {
				return nil, true, nil
			}
			return out, false, nil
		}
		if strings.TrimSpace(alert) == "" {
			return nil, true, nil
		}
		return alert, false, nil
	case map[string]any:
		out := &apsAlert{}
		for k := range alert {
			str, list := out.field(k)
			var err error
			switch {
			case str != nil:
				*str, _, err = fieldString(alert, k)
			case list != nil:
				*list, _, err = fieldStrings(alert, k)
			}
			if err != nil {
				return nil, false, fmt.Errorf("alert: %w", err)
			}
		}
		if out.Subtitle == "" {
			out.Subtitle = subtitle
		}
		if !out.visible() {
			return nil, true, nil
		}
		return out, false, nil
	}
	return nil, false, fmt.Errorf("%w: alert must be a string or an object, not %T", ErrInvalidPayload, v)
}

// encodeBody writes the payload: "aps", Herald's ids (when set) and the
// custom keys, in key order as json.Marshal would write one map, without
// reflecting over a map per message.
func encodeBody(a *aps, custom map[string]any, messageID, dispatchID string) ([]byte, error) {
	keys := make([]string, 0, len(custom)+3)
	for k := range custom {
		keys = append(keys, k)
	}
	keys = append(keys, "aps")
	if messageID != "" {
		keys = append(keys, KeyMessageID)
	}
	if dispatchID != "" {
		keys = append(keys, KeyDispatchID)
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	buf.Grow(256)
	enc := json.NewEncoder(&buf)
	encode := func(x any) error {
		if err := enc.Encode(x); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode ends with a newline
		return nil
	}
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		var v any
		switch k {
		case "aps":
			v = a
		case KeyMessageID:
			v = messageID
		case KeyDispatchID:
			v = dispatchID
		default:
			v = custom[k]
		}
		if err := encode(k); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := encode(v); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
