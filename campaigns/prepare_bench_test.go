package campaigns

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/templates"
)

// BenchmarkPreparePage is the worker's per-user work on one page of 500
// users before the claim (audience check, variables, rendering, devices), for
// the fan-out benchmark's campaign: one op is one page.
func BenchmarkPreparePage(b *testing.B) {
	p, err := NewPipeline(nil, nil, nil, templates.New(templates.Options{}), nil, PipelineOptions{})
	if err != nil {
		b.Fatal(err)
	}
	title := "Hi {{${first_name}}}"
	body := `{% if custom_attribute.${plan} == "pro" %}Your pro plan{% else %}Try pro{% endif %}`
	var filter json.RawMessage = []byte(`{"push_enabled":{}}`)
	d := &Dispatch{ID: "d1", CampaignID: "c1", Spec: Spec{Filter: filter, RecipientSubscriptionState: SubscriptionSubscribed,
		Messages: map[string]map[string]any{
			ApplePush:   {"alert": map[string]any{"title": title, "body": body}},
			AndroidPush: {"title": title, "alert": body},
			WebPush:     {"title": title, "alert": body},
		}}}
	c, err := p.compile(context.Background(), d)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	platforms := []string{profiles.PlatformIOS, profiles.PlatformAndroid, profiles.PlatformWeb}
	var page []*profiles.Profile
	for i := range 500 {
		u := &profiles.User{ID: int64(i + 1), ExternalID: fmt.Sprintf("u%05d", i), RandomBucket: i % 10000,
			Standard: profiles.Standard{FirstName: fmt.Sprintf("Name%d", i)},
			Custom:   profiles.Custom{"plan": map[bool]string{true: "pro", false: "free"}[i%3 == 0], "score": float64(i)}}
		pl := platforms[i%3]
		page = append(page, &profiles.Profile{User: u, Devices: []profiles.Device{{ID: int64(i + 1), UserID: u.ID, AppID: "app-" + pl,
			Platform: pl, Token: fmt.Sprintf("tok-%064d", i), TokenKey: fmt.Sprintf("tok-%064d", i), PushEnabled: true,
			CreatedAt: now, UpdatedAt: now}}})
	}
	b.ReportAllocs()
	for b.Loop() {
		r := &run{d: d, now: now}
		n := 0
		for _, prof := range page {
			n += len(p.prepare(context.Background(), r, c, prof, nil))
		}
		if n != 500 {
			b.Fatalf("%d messages prepared, want 500", n)
		}
	}
}
