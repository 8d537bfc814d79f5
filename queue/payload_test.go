package queue

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, data, want string // want: a substring of the error, "" for none
	}{
		{"ok", `{"dispatch_id":"d1","first_user_id":42}`, ""},
		{"unknown field", `{"dispatch_id":"d1","first_user_id":1,"page":3}`, `unknown field "page"`},
		{"wrong type", `{"dispatch_id":"d1","first_user_id":"1"}`, "first_user_id"},
		{"trailing data", `{"dispatch_id":"d1","first_user_id":1} {}`, "data after"},
		{"not an object", `[1]`, "cannot unmarshal"},
		{"null", `null`, "dispatch_id: required"},
		{"empty", ``, "EOF"},
		{"missing id", `{"first_user_id":1}`, "dispatch_id: required"},
		{"negative first user", `{"dispatch_id":"d","first_user_id":-1}`, "must not be negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := decode[DeliverPayload]([]byte(c.data))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("decode: %v", err)
			case c.want == "" && p != (DeliverPayload{DispatchID: "d1", FirstUserID: 42}):
				t.Fatalf("decoded %+v", p)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	yes := true
	for _, c := range []struct {
		name string
		p    interface{ Validate() error }
		want string
	}{
		{"dispatch", DispatchPayload{DispatchID: "d"}, ""},
		{"dispatch without id", DispatchPayload{}, "dispatch_id: required"},
		{"dispatch wave", DispatchPayload{DispatchID: "d", Wave: 3}, ""},
		{"dispatch negative wave", DispatchPayload{DispatchID: "d", Wave: -1}, "wave: must not be negative"},
		{"trigger to users", TriggerPayload{CampaignID: "c", Recipients: []Recipient{{ExternalUserID: "u"},
			{UserAlias: &Alias{AliasName: "n", AliasLabel: "l"}, SendToExistingOnly: &yes}}}, ""},
		{"trigger broadcast", TriggerPayload{CampaignID: "c", Broadcast: true}, ""},
		{"trigger to an audience", TriggerPayload{CampaignID: "c", Audience: json.RawMessage(`{"AND":[]}`)}, ""},
		{"trigger without campaign", TriggerPayload{Broadcast: true}, "campaign_id: required"},
		{"trigger to nobody", TriggerPayload{CampaignID: "c"}, "recipients: required"},
		{"trigger broadcast with recipients", TriggerPayload{CampaignID: "c", Broadcast: true, Recipients: []Recipient{{ExternalUserID: "u"}}}, "not allowed with broadcast"},
		{"trigger recipient without id", TriggerPayload{CampaignID: "c", Recipients: []Recipient{{}}}, "recipients[0]: external_user_id or user_alias required"},
		{"trigger recipient with both", TriggerPayload{CampaignID: "c", Recipients: []Recipient{{ExternalUserID: "u", UserAlias: &Alias{AliasName: "n", AliasLabel: "l"}}}}, "exclusive"},
		{"trigger half alias", TriggerPayload{CampaignID: "c", Recipients: []Recipient{{UserAlias: &Alias{AliasName: "n"}}}}, "recipients[0].user_alias"},
		{"trigger too many", TriggerPayload{CampaignID: "c", Recipients: make([]Recipient, 51)}, "at most 50"},
		{"send", SendPayload{Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"hi"}`)}, ExternalUserIDs: []string{"u"}}, ""},
		{"send to a segment", SendPayload{Messages: map[string]json.RawMessage{"web_push": nil}, SegmentID: "s", Broadcast: true}, ""},
		{"send without messages", SendPayload{ExternalUserIDs: []string{"u"}}, "messages: required"},
		{"send to nobody", SendPayload{Messages: map[string]json.RawMessage{"web_push": nil}}, "one is required"},
		{"send to too many", SendPayload{Messages: map[string]json.RawMessage{"web_push": nil}, ExternalUserIDs: make([]string, 30), UserAliases: make([]Alias, 21)}, "at most 50 users, got 51"},
		{"send bad state", SendPayload{Messages: map[string]json.RawMessage{"web_push": nil}, Broadcast: true, RecipientSubscriptionState: "maybe"}, "recipient_subscription_state"},
	} {
		err := c.p.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestTaskIDs(t *testing.T) {
	t.Parallel()
	if got := DispatchTaskID("d-1"); got != "dispatch:d-1" {
		t.Errorf("DispatchTaskID = %q", got)
	}
	if got := WaveTaskID("d-1", 2); got != "dispatch:d-1:wave:2" {
		t.Errorf("WaveTaskID = %q", got)
	}
	if got := WaveTaskID("d-1", 0); got != "dispatch:d-1" {
		t.Errorf("WaveTaskID of wave 0 = %q", got)
	}
	if got := DeliverTaskID("d-1", 12345); got != "deliver:d-1:12345" {
		t.Errorf("DeliverTaskID = %q", got)
	}
	if triggerTaskID("") != "" || sendTaskID("r") != "send:r" || triggerTaskID("r") != "trigger:r" {
		t.Error("request task ids")
	}
}

// The JSON names are Braze's (/campaigns/trigger/send, /messages/send).
func TestPayloadJSONNames(t *testing.T) {
	t.Parallel()
	no := false
	data, _ := json.Marshal(TriggerPayload{CampaignID: "c", TriggerProperties: map[string]any{"k": "v"},
		Recipients: []Recipient{{ExternalUserID: "u", UserAlias: &Alias{AliasName: "n", AliasLabel: "l"},
			TriggerProperties: map[string]any{}, Attributes: map[string]any{"a": 1}, SendToExistingOnly: &no}}})
	for _, key := range []string{`"campaign_id"`, `"trigger_properties"`, `"recipients"`, `"external_user_id"`, `"user_alias"`,
		`"alias_name"`, `"alias_label"`, `"attributes"`, `"send_to_existing_only":false`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("trigger JSON lacks %s: %s", key, data)
		}
	}
	data, _ = json.Marshal(SendPayload{Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{}`)},
		ExternalUserIDs: []string{"u"}, SegmentID: "s", Broadcast: true, RecipientSubscriptionState: "all"})
	for _, key := range []string{`"messages"`, `"external_user_ids"`, `"segment_id"`, `"broadcast"`, `"recipient_subscription_state"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("send JSON lacks %s: %s", key, data)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if d := retryDelay(n, errTest, nil); d < want || d > want+want/4+2*time.Second {
			t.Errorf("retryDelay(%d) = %s, want %s plus at most 25%%", n, d, want)
		}
	}
	for _, n := range []int{9, 20, 1000} {
		if d := retryDelay(n, errTest, nil); d < maxRetry || d > maxRetry+maxRetry/4+2*time.Second {
			t.Errorf("retryDelay(%d) = %s, want the %s cap plus jitter", n, d, maxRetry)
		}
	}
	// a Backoff waits at least its After, counted from the next whole second
	for _, after := range []time.Duration{0, 1500 * time.Millisecond, 30 * time.Second} {
		d := retryDelay(3, wrap(&Backoff{After: after, Reason: "429"}), nil)
		if want := max(after, MinBackoff); d < want || d > want+2*time.Second {
			t.Errorf("retryDelay(Backoff %s) = %s", after, d)
		}
	}
	if isFailure(wrap(&Backoff{After: time.Second})) || !isFailure(errTest) {
		t.Error("isFailure")
	}
	// asynq keeps the retry time in whole seconds, truncated: the run must not come early
	now := time.Date(2026, 1, 1, 0, 0, 0, 700_000_000, time.UTC)
	for _, wait := range []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second} {
		at := now.Add(notBefore(wait, now)).Truncate(time.Second)
		if at.Before(now.Add(wait)) || at.After(now.Add(wait+2*time.Second)) {
			t.Errorf("notBefore(%s) runs at %s, %s after now", wait, at, at.Sub(now))
		}
	}
}

// FuzzDecode: no input panics, and an accepted payload encodes back to an
// equal one.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"dispatch_id":"d","first_user_id":3}`))
	f.Add([]byte(`{"campaign_id":"c","recipients":[{"external_user_id":"u","trigger_properties":{"a":[1,{"b":null}]}}]}`))
	f.Add([]byte(`{"messages":{"apple_push":{"alert":"x"}},"segment_id":"s","broadcast":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip[DispatchPayload](t, data)
		roundTrip[DeliverPayload](t, data)
		roundTrip[TriggerPayload](t, data)
		roundTrip[SendPayload](t, data)
	})
}

func roundTrip[P payload](t *testing.T, data []byte) {
	p, err := decode[P](data)
	if err != nil {
		return
	}
	again, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("accepted %q but cannot encode it: %v", data, err)
	}
	q, err := decode[P](again)
	if err != nil {
		t.Fatalf("accepted %q but not its encoding %q: %v", data, again, err)
	}
	a, _ := json.Marshal(q)
	if !reflect.DeepEqual(again, a) {
		t.Fatalf("round trip changed %s into %s", again, a)
	}
}
