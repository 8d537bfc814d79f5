package templates

import (
	"reflect"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
)

func TestProfileVars(t *testing.T) {
	t.Parallel()
	saleEnds := time.Date(2026, 3, 20, 17, 0, 0, 0, time.UTC)
	p := &profiles.Profile{
		User: &profiles.User{
			BrazeID: "b-1", ExternalID: "ada-1", RandomBucket: 1234,
			Standard: profiles.Standard{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
				Phone: "+441234", Country: "GB", HomeCity: "London", Language: "en", TimeZone: "Europe/London",
				DOB: "1815-12-10", Gender: "F", PushSubscribe: profiles.OptedIn, EmailSubscribe: profiles.Subscribed},
			Custom:        profiles.Custom{"plan": "gold", "sale_ends": saleEnds},
			LastSessionAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		},
		Devices: []profiles.Device{
			{Platform: profiles.PlatformAndroid, DeviceID: "old", UpdatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
			{Platform: profiles.PlatformIOS, DeviceID: "newest-invalid", UpdatedAt: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC),
				InvalidAt: time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)},
			{Platform: profiles.PlatformIOS, DeviceID: "phone", UpdatedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		},
		Apps: []profiles.AppUsage{
			{AppID: "a", Version: "1.0", LastUsed: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			{AppID: "b", Version: "2.3.1", LastUsed: time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)},
		},
	}
	now := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	v := ProfileVars(p, VarsOptions{EventProperties: map[string]any{"sku": "A"}, Now: now})
	want := Vars{
		"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com", "phone_number": "+441234",
		"country": "GB", "city": "London", "language": "en", "time_zone": "Europe/London", "gender": "F",
		"date_of_birth": "1815-12-10", "user_id": "ada-1", "braze_id": "b-1", "random_bucket_number": 1234,
		"most_recent_app_version":   "2.3.1",
		"last_used_app_date":        time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC),
		"custom_attribute":          map[string]any{"plan": "gold", "sale_ends": saleEnds},
		"event_properties":          map[string]any{"sku": "A"},
		"api_trigger_properties":    map[string]any{},
		"most_recently_used_device": map[string]any{"platform": "ios", "id": "phone"},
		"subscribed_state":          map[string]any{"push": "opted_in", "email_global": "subscribed"},
		"now":                       now,
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got  %#v\nwant %#v", v, want)
	}

	e := New(Options{})
	got, err := renderString(t, e, `{{ custom_attribute.${sale_ends} | time_zone: ${time_zone} | date: '%-d %B %H:%M' }} `+
		`{{ last_used_app_date | date: '%F' }} {{ most_recently_used_device.${platform} }} v{{${most_recent_app_version}}}`, v)
	if err != nil || got != "20 March 17:00 2026-03-05 ios v2.3.1" {
		t.Errorf("render: %q, %v", got, err)
	}
}

func TestProfileVarsEmpty(t *testing.T) {
	t.Parallel()
	for _, p := range []*profiles.Profile{nil, {}, {User: &profiles.User{}}} {
		v := ProfileVars(p, VarsOptions{})
		for _, key := range []string{"custom_attribute", "event_properties", "api_trigger_properties", "most_recently_used_device", "subscribed_state"} {
			if _, ok := v[key].(map[string]any); !ok {
				t.Errorf("%v: %s is not a map", p, key)
			}
		}
		if _, ok := v["first_name"]; ok {
			t.Error("unset first_name present")
		}
		got, err := renderString(t, New(Options{}), `Hi {{${first_name} | default: 'there'}}{{ most_recently_used_device.${model} }}!`, v)
		if err != nil || got != "Hi there!" {
			t.Errorf("render: %q, %v", got, err)
		}
		// Braze's unknown device fields are null, not empty strings.
		got, err = renderString(t, New(Options{}), `{% if most_recently_used_device.${model} == nil and most_recently_used_device.${platform} == nil %}null{% endif %}`, v)
		if err != nil || got != "null" {
			t.Errorf("device fields: %q, %v", got, err)
		}
	}
}

// TestProfileVarsMissingTakeDefault checks every profile variable of issue 4:
// unset, each renders empty and takes a default; random_bucket_number is a
// number and last_used_app_date a time.
func TestProfileVarsMissingTakeDefault(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	names := []string{"first_name", "last_name", "email_address", "phone_number", "country", "city", "language",
		"time_zone", "gender", "date_of_birth", "user_id", "braze_id", "most_recent_app_version", "last_used_app_date"}
	v := ProfileVars(&profiles.Profile{User: &profiles.User{}}, VarsOptions{})
	for _, name := range names {
		src := "[{{${" + name + "}}}][{{${" + name + "} | default: 'none'}}]"
		if got, err := renderString(t, e, src, v); err != nil || got != "[][none]" {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	p := &profiles.Profile{User: &profiles.User{RandomBucket: 4321, LastSessionAt: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)}}
	got, err := renderString(t, e, `{{ ${random_bucket_number} | plus: 1 }} {% if ${random_bucket_number} > 999 %}big{% endif %} {{ ${last_used_app_date} | date: '%s' }} {{${last_used_app_date}}}`,
		ProfileVars(p, VarsOptions{}))
	if err != nil || got != "4322 big 1772357400 2026-03-01 09:30:00 UTC" {
		t.Errorf("types: %q, %v", got, err)
	}
}
