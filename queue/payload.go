package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Task types.
const (
	// TypeDispatch pages a dispatch's audience and enqueues a TypeDeliver task per page.
	TypeDispatch = "campaign:dispatch"
	// TypeDeliver delivers one page (at most 500 users) of a dispatch.
	TypeDeliver = "campaign:deliver"
	// TypeTrigger is an API-triggered campaign send (Braze's /campaigns/trigger/send).
	TypeTrigger = "campaign:trigger"
	// TypeSend is an ad-hoc send of message objects (Braze's /messages/send).
	TypeSend = "messages:send"
)

// Types are the task types, in a fixed order.
func Types() []string { return []string{TypeDispatch, TypeDeliver, TypeTrigger, TypeSend} }

// MaxRecipients caps the users one trigger or send payload names, as Braze
// caps one request: payloads stay small.
const MaxRecipients = 50

// DispatchPayload starts (or resumes) a dispatch recorded in the store. Wave
// names one wave (1, 2, …) of a local-time dispatch; 0 is the dispatch itself.
type DispatchPayload struct {
	DispatchID string `json:"dispatch_id"`
	Wave       int    `json:"wave,omitempty"`
}

// DeliverPayload names one page of a dispatch by the first user id on it (a
// stable name when the dispatch re-runs on a changed audience).
type DeliverPayload struct {
	DispatchID  string `json:"dispatch_id"`
	FirstUserID int64  `json:"first_user_id"`
}

// TriggerPayload carries an API-triggered campaign send, in the shape of
// Braze's /campaigns/trigger/send body.
type TriggerPayload struct {
	// RequestID, when set, makes the enqueue idempotent: a second enqueue with
	// the same id (within the client's Retention) is a no-op.
	RequestID         string         `json:"request_id,omitempty"`
	CampaignID        string         `json:"campaign_id"`
	TriggerProperties map[string]any `json:"trigger_properties,omitempty"`
	Recipients        []Recipient    `json:"recipients,omitempty"`
	// Audience is a connected-audience filter narrowing the campaign's audience.
	Audience  json.RawMessage `json:"audience,omitempty"`
	Broadcast bool            `json:"broadcast,omitempty"`
}

// Recipient is one user of a trigger send.
type Recipient struct {
	ExternalUserID    string         `json:"external_user_id,omitempty"`
	UserAlias         *Alias         `json:"user_alias,omitempty"`
	TriggerProperties map[string]any `json:"trigger_properties,omitempty"`
	// Attributes are written to the profile before the send.
	Attributes map[string]any `json:"attributes,omitempty"`
	// SendToExistingOnly: nil means true (Braze's default).
	SendToExistingOnly *bool `json:"send_to_existing_only,omitempty"`
}

// Alias is a Braze user alias.
type Alias struct {
	AliasName  string `json:"alias_name"`
	AliasLabel string `json:"alias_label"`
}

// SendPayload carries an ad-hoc send, in the shape of Braze's /messages/send
// body.
type SendPayload struct {
	// RequestID, when set, makes the enqueue idempotent (see TriggerPayload).
	RequestID string `json:"request_id,omitempty"`
	// Messages maps a channel key (apple_push, android_push, web_push, …) to its
	// message object.
	Messages        map[string]json.RawMessage `json:"messages"`
	ExternalUserIDs []string                   `json:"external_user_ids,omitempty"`
	UserAliases     []Alias                    `json:"user_aliases,omitempty"`
	SegmentID       string                     `json:"segment_id,omitempty"`
	// Audience is a connected-audience filter.
	Audience  json.RawMessage `json:"audience,omitempty"`
	Broadcast bool            `json:"broadcast,omitempty"`
	// RecipientSubscriptionState is opted_in, subscribed or all; empty means subscribed.
	RecipientSubscriptionState string `json:"recipient_subscription_state,omitempty"`
}

// DispatchTaskID is the task id of a dispatch: "dispatch:<id>".
func DispatchTaskID(dispatchID string) string { return "dispatch:" + dispatchID }

// WaveTaskID is the task id of one wave of a local-time dispatch:
// "dispatch:<id>:wave:<n>" (wave 0 is the dispatch's own DispatchTaskID).
func WaveTaskID(dispatchID string, wave int) string {
	if wave == 0 {
		return DispatchTaskID(dispatchID)
	}
	return DispatchTaskID(dispatchID) + ":wave:" + strconv.Itoa(wave)
}

// DeliverTaskID is the task id of a page: "deliver:<dispatch>:<first user id>".
func DeliverTaskID(dispatchID string, firstUserID int64) string {
	return "deliver:" + dispatchID + ":" + strconv.FormatInt(firstUserID, 10)
}

func triggerTaskID(requestID string) string { return taskIDFor("trigger:", requestID) }
func sendTaskID(requestID string) string    { return taskIDFor("send:", requestID) }

func taskIDFor(prefix, requestID string) string {
	if requestID == "" {
		return "" // asynq picks a random id: no idempotency asked for
	}
	return prefix + requestID
}

// Validate reports what makes the payload unusable.
func (p DispatchPayload) Validate() error {
	var errs []error
	if p.DispatchID == "" {
		errs = append(errs, errors.New("dispatch_id: required"))
	}
	if p.Wave < 0 {
		errs = append(errs, fmt.Errorf("wave: must not be negative, got %d", p.Wave))
	}
	return errors.Join(errs...)
}

// Validate reports what makes the payload unusable.
func (p DeliverPayload) Validate() error {
	var errs []error
	if p.DispatchID == "" {
		errs = append(errs, errors.New("dispatch_id: required"))
	}
	if p.FirstUserID < 0 {
		errs = append(errs, fmt.Errorf("first_user_id: must not be negative, got %d", p.FirstUserID))
	}
	return errors.Join(errs...)
}

// Validate reports what makes the payload unusable. The campaigns package
// checks the rest (the campaign exists, the audience filter is valid).
func (p TriggerPayload) Validate() error {
	var errs []error
	if p.CampaignID == "" {
		errs = append(errs, errors.New("campaign_id: required"))
	}
	if len(p.Recipients) > MaxRecipients {
		errs = append(errs, fmt.Errorf("recipients: at most %d, got %d", MaxRecipients, len(p.Recipients)))
	}
	if p.Broadcast && len(p.Recipients) > 0 {
		errs = append(errs, errors.New("recipients: not allowed with broadcast"))
	}
	if !p.Broadcast && len(p.Recipients) == 0 && len(p.Audience) == 0 {
		errs = append(errs, errors.New("recipients: required unless audience or broadcast is given"))
	}
	for i, r := range p.Recipients {
		switch {
		case r.ExternalUserID == "" && r.UserAlias == nil:
			errs = append(errs, fmt.Errorf("recipients[%d]: external_user_id or user_alias required", i))
		case r.ExternalUserID != "" && r.UserAlias != nil:
			errs = append(errs, fmt.Errorf("recipients[%d]: external_user_id and user_alias are exclusive", i))
		case r.UserAlias != nil:
			if err := r.UserAlias.validate(); err != nil {
				errs = append(errs, fmt.Errorf("recipients[%d].user_alias: %w", i, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Validate reports what makes the payload unusable. The campaigns package
// checks the message objects themselves.
func (p SendPayload) Validate() error {
	var errs []error
	if len(p.Messages) == 0 {
		errs = append(errs, errors.New("messages: required"))
	}
	if n := len(p.ExternalUserIDs) + len(p.UserAliases); n > MaxRecipients {
		errs = append(errs, fmt.Errorf("external_user_ids, user_aliases: at most %d users, got %d", MaxRecipients, n))
	}
	for i, id := range p.ExternalUserIDs {
		if id == "" {
			errs = append(errs, fmt.Errorf("external_user_ids[%d]: empty", i))
		}
	}
	for i, a := range p.UserAliases {
		if err := a.validate(); err != nil {
			errs = append(errs, fmt.Errorf("user_aliases[%d]: %w", i, err))
		}
	}
	if len(p.ExternalUserIDs) == 0 && len(p.UserAliases) == 0 && p.SegmentID == "" && len(p.Audience) == 0 && !p.Broadcast {
		errs = append(errs, errors.New("external_user_ids, user_aliases, segment_id, audience or broadcast: one is required"))
	}
	switch p.RecipientSubscriptionState {
	case "", "opted_in", "subscribed", "all":
	default:
		errs = append(errs, fmt.Errorf("recipient_subscription_state: %q is not one of opted_in, subscribed, all", p.RecipientSubscriptionState))
	}
	return errors.Join(errs...)
}

func (a Alias) validate() error {
	if a.AliasName == "" || a.AliasLabel == "" {
		return errors.New("alias_name and alias_label required")
	}
	return nil
}

// payload is what every payload type provides.
type payload interface {
	DispatchPayload | DeliverPayload | TriggerPayload | SendPayload
	Validate() error
}

// decode reads a payload strictly: one JSON object with known fields only,
// nothing after it, and valid.
func decode[P payload](data []byte) (P, error) {
	var p P
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return p, errors.New("data after the payload object")
	}
	return p, p.Validate()
}
