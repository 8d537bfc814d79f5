package campaigns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
)

// Users finds users and writes attributes before a triggered send.
type Users interface {
	FindUserIDs(ctx context.Context, l profiles.Lookup) ([]int64, []string, error)
	Track(ctx context.Context, body []byte) error
}

// maxRecipients is Braze's limit of listed recipients per request.
const maxRecipients = 50

// SendRequest is /messages/send (queue.SendPayload): an ad-hoc message.
type SendRequest = queue.SendPayload

// TriggerRequest is /campaigns/trigger/send (queue.TriggerPayload).
type TriggerRequest = queue.TriggerPayload

// Send starts an ad-hoc dispatch of messages to listed users or a segment.
// RequestID, when set, makes the request happen once.
func (s *Service) Send(ctx context.Context, users Users, req *SendRequest) (*Dispatch, error) {
	var ps problems
	raw := map[string]json.RawMessage{}
	for k, v := range req.Messages {
		raw[k] = v
	}
	msgs := validateMessages(s.tmpl, raw, "messages", &ps)
	state := validState(req.RecipientSubscriptionState, "recipient_subscription_state", &ps)
	spec := Spec{Messages: msgs, RecipientSubscriptionState: state}
	listed := len(req.ExternalUserIDs) > 0 || len(req.UserAliases) > 0
	var filters []json.RawMessage
	if req.SegmentID != "" {
		if !req.Broadcast && !listed {
			ps.add("broadcast", "must be true to send to a segment")
		}
		if _, err := s.resolver(ctx, req.SegmentID); err != nil {
			ps.add("segment_id", "%v", err)
		}
		filters = append(filters, audienceFilter(Audience{SegmentID: req.SegmentID}))
	}
	if len(req.Audience) > 0 {
		validateAudience(ctx, &Audience{Filter: req.Audience}, s.resolver, "audience", &ps)
		filters = append(filters, req.Audience)
	}
	switch {
	case len(req.ExternalUserIDs) > maxRecipients:
		ps.add("external_user_ids", "at most %d, got %d", maxRecipients, len(req.ExternalUserIDs))
	case len(req.UserAliases) > maxRecipients:
		ps.add("user_aliases", "at most %d, got %d", maxRecipients, len(req.UserAliases))
	case !listed && len(filters) == 0:
		ps.add("external_user_ids", "give external_user_ids, user_aliases, audience, or segment_id with broadcast")
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	if listed {
		// Listed users, kept only when they are in the segment or audience
		// given with them (checked at send time).
		l := profiles.Lookup{ExternalIDs: req.ExternalUserIDs}
		for _, a := range req.UserAliases {
			l.Aliases = append(l.Aliases, profiles.Alias{Name: a.AliasName, Label: a.AliasLabel})
		}
		ids, _, err := users.FindUserIDs(ctx, l)
		if err != nil {
			return nil, err
		}
		spec.UserIDs = ids
		if len(ids) == 0 {
			return s.start(ctx, "", 0, req.RequestID, spec) // nobody found: an empty dispatch
		}
	}
	spec.Filter = andFilters(filters)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return s.start(ctx, "", 0, req.RequestID, spec)
}

// Trigger starts a dispatch of an API-triggered campaign, with trigger
// properties for templates (api_trigger_properties).
func (s *Service) Trigger(ctx context.Context, users Users, req *TriggerRequest) (*Dispatch, error) {
	var ps problems
	c, err := s.st.Campaign(ctx, req.CampaignID)
	if err != nil {
		return nil, err
	}
	if c.Definition.Schedule.Type != ScheduleAPITriggered {
		ps.add("campaign_id", "campaign %s is not API-triggered (schedule %s)", c.ID, c.Definition.Schedule.Type)
	}
	if c.Status == StatusStopped || c.Status == StatusPaused {
		ps.add("campaign_id", "campaign %s is %s", c.ID, c.Status)
	}
	if len(req.Recipients) > maxRecipients {
		ps.add("recipients", "at most %d, got %d", maxRecipients, len(req.Recipients))
	}
	if len(req.Recipients) == 0 && !req.Broadcast {
		ps.add("recipients", "give recipients, or broadcast: true to send to the campaign's audience")
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	spec := Spec{Messages: c.Definition.Messages, RecipientSubscriptionState: c.Definition.RecipientSubscriptionState,
		TriggerProperties: req.TriggerProperties, SendBy: c.Definition.SendBy, Rules: c.Definition.Rules,
		Variants: c.Definition.Variants, ControlPercent: c.Definition.ControlPercent}
	if len(req.Audience) > 0 {
		validateAudience(ctx, &Audience{Filter: req.Audience}, s.resolver, "audience", &ps)
		if err := ps.err(); err != nil {
			return nil, err
		}
	}
	if len(req.Recipients) == 0 {
		spec.Filter = andFilters([]json.RawMessage{audienceFilter(c.Definition.Audience), req.Audience}[:1+min(len(req.Audience), 1)])
		return s.start(ctx, c.ID, c.Version, req.RequestID, spec)
	}
	if len(req.Audience) > 0 {
		spec.Filter = req.Audience // recipients outside it are not sent to
	}
	if err := writeAttributes(ctx, users, req.Recipients); err != nil {
		return nil, err
	}
	spec.PerUserProperties = map[int64]map[string]any{}
	for i, r := range req.Recipients {
		l := profiles.Lookup{}
		switch {
		case r.ExternalUserID != "":
			l.ExternalIDs = []string{r.ExternalUserID}
		case r.UserAlias != nil:
			l.Aliases = []profiles.Alias{{Name: r.UserAlias.AliasName, Label: r.UserAlias.AliasLabel}}
		default:
			return nil, &ValidationError{Problems: []Problem{{Field: fmt.Sprintf("recipients[%d]", i), Reason: "give external_user_id or user_alias"}}}
		}
		ids, _, err := users.FindUserIDs(ctx, l)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			spec.UserIDs = append(spec.UserIDs, id)
			if len(r.TriggerProperties) > 0 {
				spec.PerUserProperties[id] = r.TriggerProperties
			}
		}
	}
	return s.start(ctx, c.ID, c.Version, req.RequestID, spec)
}

// writeAttributes writes recipients' attributes before the send; a recipient
// with send_to_existing_only false is created when missing.
func writeAttributes(ctx context.Context, users Users, rs []queue.Recipient) error {
	var attrs []map[string]any
	for _, r := range rs {
		existingOnly := r.SendToExistingOnly == nil || *r.SendToExistingOnly
		if len(r.Attributes) == 0 && existingOnly {
			continue
		}
		a := map[string]any{}
		for k, v := range r.Attributes {
			a[k] = v
		}
		switch {
		case r.ExternalUserID != "":
			a["external_id"] = r.ExternalUserID
		case r.UserAlias != nil:
			a["user_alias"] = map[string]string{"alias_name": r.UserAlias.AliasName, "alias_label": r.UserAlias.AliasLabel}
		}
		if existingOnly {
			a["_update_existing_only"] = true
		}
		attrs = append(attrs, a)
	}
	if len(attrs) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(map[string]any{"attributes": attrs}); err != nil {
		return err
	}
	return users.Track(ctx, b.Bytes())
}

// start creates a dispatch (once per request id) and enqueues it.
func (s *Service) start(ctx context.Context, campaignID string, version int64, requestID string, spec Spec) (*Dispatch, error) {
	now := s.now().UTC()
	occ := requestID
	if occ == "" {
		occ = NewID()
	}
	d := &Dispatch{ID: NewID(), CampaignID: campaignID, CampaignVersion: version, Occurrence: "request:" + occ,
		Status: DispatchRunning, Spec: spec, CreatedAt: now, UpdatedAt: now}
	d, _, err := s.st.CreateDispatch(ctx, d)
	if err != nil {
		return nil, err
	}
	if err := s.enq.EnqueueDispatch(ctx, queue.DispatchPayload{DispatchID: d.ID}); err != nil {
		return d, err
	}
	return d, nil
}

// andFilters combines filters with AND (nil for none).
func andFilters(fs []json.RawMessage) json.RawMessage {
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	b, _ := json.Marshal(map[string]any{"AND": fs}) // raw JSON values: cannot fail
	return b
}
