package campaigns_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

func TestCreateValidatesEverything(t *testing.T) {
	t.Parallel()
	resolver := func(_ context.Context, id string) (*segments.Filter, error) {
		return nil, errors.New("no segment " + id)
	}
	svc := campaigns.NewService(nil, nil, templates.New(templates.Options{}), resolver, nil)
	in, err := campaigns.DecodeInput(strings.NewReader(`{
	  "name": "",
	  "messages": {
	    "apple_push": {"alert": {"title": "Hi\n{{ first_name | shout }}"}},
	    "email": {"subject": "x"},
	    "content_card": {"type": "POSTER", "title": "t", "time_to_live": 99999999}
	  },
	  "audience": {"filter": {"OR": [{"random_bucket": {"comparison": "greater", "value": 3}}]}},
	  "recipient_subscription_state": "everyone",
	  "schedule": {"type": "weekly"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Create(context.Background(), in)
	var verr *campaigns.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Create: %v", err)
	}
	got := map[string]string{}
	for _, p := range verr.Problems {
		got[p.Field] = p.Reason
	}
	for field, reason := range map[string]string{
		"name":                               "required",
		"messages.apple_push.alert.title":    `2:17: unknown filter "shout"`,
		"messages.email":                     "Herald has no email channel",
		"messages.content_card.type":         "want CLASSIC, CAPTIONED_IMAGE or BANNER",
		"messages.content_card.description":  "required",
		"messages.content_card.time_to_live": "at most 30 days",
		"audience.filter.OR[0].comparison":   `unknown comparison "greater"`,
		"recipient_subscription_state":       `got "everyone"`,
		"schedule.type":                      `got "weekly"`,
	} {
		if !strings.Contains(got[field], reason) {
			t.Errorf("%s: %q, want it to contain %q", field, got[field], reason)
		}
	}
	if len(got) != 9 {
		t.Errorf("%d problems: %v", len(got), got)
	}
	// a segment audience must exist
	in, _ = campaigns.DecodeInput(strings.NewReader(`{"name":"x","messages":{"web_push":{"alert":"hi"}},"audience":{"segment_id":"gone"}}`))
	if _, err := svc.Create(context.Background(), in); err == nil || !strings.Contains(err.Error(), "audience.segment_id: no segment gone") {
		t.Errorf("unknown segment: %v", err)
	}
	if _, err := campaigns.DecodeInput(strings.NewReader(`{"name":"x","bogus":1}`)); err == nil {
		t.Error("an unknown field was accepted")
	}
}
