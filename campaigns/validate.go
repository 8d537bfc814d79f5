package campaigns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

// Problem is one invalid field: its path ("messages.apple_push.alert") and
// the reason (with the template's line:col for a Liquid mistake).
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ValidationError lists every problem of a request.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Reason
	}
	return strings.Join(parts, "; ")
}

type problems []Problem

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// unavailableChannels are Braze message keys Herald has no channel for.
var unavailableChannels = map[string]bool{"email": true, "sms": true, "whats_app": true, "kindle_push": true,
	"windows_phone8_push": true, "windows_universal_push": true, "line": true}

// Input is a campaign as the API accepts it.
type Input struct {
	Name                       string                     `json:"name"`
	Messages                   map[string]json.RawMessage `json:"messages"`
	Audience                   *Audience                  `json:"audience"`
	RecipientSubscriptionState string                     `json:"recipient_subscription_state"`
	Schedule                   *Schedule                  `json:"schedule"`
	SendBy                     *time.Time                 `json:"send_by"`
	Variants                   []VariantInput             `json:"variants"`
	ControlPercent             int                        `json:"control_percent"`
	Rules
}

// DecodeInput reads a campaign JSON body strictly (unknown fields are errors).
func DecodeInput(r io.Reader) (*Input, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var in Input
	if err := dec.Decode(&in); err != nil {
		return nil, &ValidationError{Problems: []Problem{{Field: "body", Reason: "invalid JSON: " + err.Error()}}}
	}
	return &in, nil
}

// validateMessages parses every message object's templates. It returns the
// objects decoded (numbers as float64).
func validateMessages(eng *templates.Engine, raw map[string]json.RawMessage, field string, ps *problems) map[string]map[string]any {
	if len(raw) == 0 {
		ps.add(field, "at least one message is required")
		return nil
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]map[string]any{}
	for _, ch := range keys {
		path := field + "." + ch
		switch {
		case unavailableChannels[ch]:
			ps.add(path, "Herald has no %s channel", ch)
			continue
		case ch != ApplePush && ch != AndroidPush && ch != WebPush && ch != ContentCard && ch != InAppMessage && ch != Webhook:
			ps.add(path, "unknown message channel %q", ch)
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(raw[ch], &obj); err != nil || obj == nil {
			ps.add(path, "want a JSON object")
			continue
		}
		switch ch {
		case ContentCard:
			validateCard(obj, path, ps)
		case InAppMessage:
			validateInApp(obj, path, ps)
		case Webhook:
			validateWebhook(obj, path, ps)
		}
		if _, err := eng.ParseObject(obj); err != nil {
			for _, se := range templates.SyntaxErrors(err) {
				f := path
				if se.Field != "" {
					f += "." + se.Field
				}
				ps.add(f, "%d:%d: %s", se.Line, se.Column, se.Message)
			}
			if len(templates.SyntaxErrors(err)) == 0 {
				ps.add(path, "%v", err)
			}
			continue
		}
		out[ch] = obj
	}
	return out
}

// validateAudience checks an audience: a saved segment that exists, or a
// valid inline filter whose references exist.
func validateAudience(ctx context.Context, a *Audience, r segments.Resolver, field string, ps *problems) {
	switch {
	case a == nil || (a.SegmentID == "" && len(a.Filter) == 0):
		ps.add(field, "give segment_id or filter")
	case a.SegmentID != "" && len(a.Filter) > 0:
		ps.add(field, "give segment_id or filter, not both")
	case a.SegmentID != "":
		if _, err := r(ctx, a.SegmentID); err != nil {
			ps.add(field+".segment_id", "%v", err)
		}
	default:
		f, err := segments.Parse(a.Filter)
		var perr *segments.Error
		if errors.As(err, &perr) {
			for _, p := range perr.Problems {
				ps.add(field+".filter."+p.Path, "%s", p.Message)
			}
			return
		}
		if err != nil {
			ps.add(field+".filter", "%v", err)
			return
		}
		if _, err := f.Resolve(ctx, r); err != nil {
			ps.add(field+".filter", "%v", err)
		}
	}
}

// audienceFilter is the filter JSON a dispatch of a campaign pages.
func audienceFilter(a Audience) json.RawMessage {
	if a.SegmentID != "" {
		b, _ := json.Marshal(map[string]any{"segment": map[string]any{"segment_id": a.SegmentID, "comparison": "in"}})
		return b
	}
	return bytes.Clone(a.Filter)
}

func validState(s string, field string, ps *problems) string {
	switch s {
	case "":
		return SubscriptionSubscribed
	case SubscriptionOptedIn, SubscriptionSubscribed, SubscriptionAll:
		return s
	}
	ps.add(field, "want opted_in, subscribed or all, got %q", s)
	return s
}
