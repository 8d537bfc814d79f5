package templates

import (
	"time"

	"github.com/herald-oss/herald/profiles"
)

// VarsOptions add what a profile does not hold.
type VarsOptions struct {
	// EventProperties are the properties of the event that triggered the send.
	EventProperties map[string]any
	// APITriggerProperties are the trigger_properties of an API-triggered send.
	APITriggerProperties map[string]any
	// Now is the send time; when set, templates can read it as {{ now }}.
	Now time.Time
}

// ProfileVars builds the variables a template sees for one user:
//
//	first_name last_name email_address phone_number country city language
//	time_zone gender date_of_birth user_id braze_id random_bucket_number
//	most_recent_app_version last_used_app_date (a time)
//	custom_attribute.<key>           (times stay times, so | date: works)
//	event_properties.<key>  api_trigger_properties.<key>
//	most_recently_used_device.{platform, id} (model, os, carrier: nil)
//	subscribed_state.{push, email_global}
//
// An unset attribute is absent, so it renders empty or takes a default.
func ProfileVars(p *profiles.Profile, opts VarsOptions) Vars {
	// Sized for every variable at once: growing a map rehashes it.
	v := make(Vars, varsSize)
	v["custom_attribute"] = map[string]any{}
	v["event_properties"] = nonNil(opts.EventProperties)
	v["api_trigger_properties"] = nonNil(opts.APITriggerProperties)
	// Braze's device fields are null when unknown; profiles know only the
	// platform and the device id.
	v["most_recently_used_device"] = map[string]any{}
	v["subscribed_state"] = map[string]any{}
	if !opts.Now.IsZero() {
		v["now"] = opts.Now
	}
	if p == nil || p.User == nil {
		return v
	}
	u := p.User
	std := u.Standard
	set := func(name, value string) {
		if value != "" {
			v[name] = value
		}
	}
	set("first_name", std.FirstName)
	set("last_name", std.LastName)
	set("email_address", std.Email)
	set("phone_number", std.Phone)
	set("country", std.Country)
	set("city", std.HomeCity)
	set("language", std.Language)
	set("time_zone", std.TimeZone)
	set("gender", std.Gender)
	set("date_of_birth", std.DOB)
	set("user_id", u.ExternalID)
	set("braze_id", u.BrazeID)
	v["random_bucket_number"] = u.RandomBucket
	// The profile's own map, not a copy: rendering never writes into the
	// variables (osteele/liquid assigns into a copy of the top level).
	v["custom_attribute"] = map[string]any(u.Custom)
	subs := v["subscribed_state"].(map[string]any)
	if std.PushSubscribe != "" {
		subs["push"] = std.PushSubscribe
	}
	if std.EmailSubscribe != "" {
		subs["email_global"] = std.EmailSubscribe
	}

	lastUsed := u.LastSessionAt
	var latest *profiles.AppUsage
	for i := range p.Apps {
		a := &p.Apps[i]
		if latest == nil || a.LastUsed.After(latest.LastUsed) {
			latest = a
		}
	}
	if latest != nil {
		if latest.Version != "" {
			v["most_recent_app_version"] = latest.Version
		}
		if latest.LastUsed.After(lastUsed) {
			lastUsed = latest.LastUsed
		}
	}
	if !lastUsed.IsZero() {
		v["last_used_app_date"] = lastUsed
	}

	var device *profiles.Device
	for i := range p.Devices {
		d := &p.Devices[i]
		if d.Valid() && (device == nil || d.UpdatedAt.After(device.UpdatedAt)) {
			device = d
		}
	}
	if device != nil {
		dv := v["most_recently_used_device"].(map[string]any)
		if device.Platform != "" {
			dv["platform"] = device.Platform
		}
		if device.DeviceID != "" {
			dv["id"] = device.DeviceID
		}
	}
	return v
}

// varsSize is how many variables ProfileVars may set.
const varsSize = 24

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
