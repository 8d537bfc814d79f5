package campaigns_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/templates"
)

func TestPreview(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	svc := campaigns.NewService(nil, nil, templates.New(templates.Options{}), nil, func() time.Time { return now })
	ada := &profiles.Profile{User: &profiles.User{ExternalID: "ada", Standard: profiles.Standard{FirstName: "Ada"},
		Custom: profiles.Custom{"plan": "gold"}}}
	for _, tc := range []struct {
		name    string
		input   string
		user    *profiles.Profile
		want    string // the result as JSON
		wantErr bool
	}{
		{"profile variables", `{"messages":{"web_push":{"title":"Hi {{${first_name}}} ({{custom_attribute.${plan}}})","alert":"{{ now | date: '%Y' }}"}}}`, ada,
			`{"messages":{"web_push":{"alert":"2026","title":"Hi Ada (gold)"}}}`, false},
		{"unknown user", `{"messages":{"web_push":{"title":"Hi {{${first_name} | default: 'there'}}","alert":"a"}}}`, nil,
			`{"messages":{"web_push":{"alert":"a","title":"Hi there"}}}`, false},
		{"abort", `{"messages":{"apple_push":{"alert":{"title":"{% abort_message('no plan') %}","body":"b"}}}}`, ada,
			`{"messages":{},"aborted":{"apple_push":"no plan"}}`, false},
		{"syntax error", `{"messages":{"web_push":{"title":"{{ x | nosuchfilter }}","alert":"a"}}}`, ada,
			`{"messages":{},"problems":[{"field":"messages.web_push.title","reason":"1:8: unknown filter \"nosuchfilter\""}]}`, false},
		{"variants", `{"variants":[{"id":"a","percent":100,"messages":{"web_push":{"title":"A {{${first_name}}}","alert":"x"}}}]}`, ada,
			`{"messages":{"a/web_push":{"alert":"x","title":"A Ada"}}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in campaigns.Input
			if err := json.Unmarshal([]byte(tc.input), &in); err != nil {
				t.Fatal(err)
			}
			res, err := svc.Preview(context.Background(), &in, tc.user)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			got, _ := json.Marshal(res)
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
