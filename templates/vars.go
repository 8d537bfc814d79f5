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
	// Only, when not zero, limits the variables to this set: the Vars of
	// the templates they are for (Template.Vars, Object.Vars, or their
	// union). Zero builds every variable.
	Only VarSet
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
	need := opts.Only
	if need == 0 {
		need = AllVars
	}
	v := make(Vars, need.count()) // sized for them all: growing a map rehashes it
	has := func(b VarSet) bool { return need&b != 0 }
	if has(varCustomAttribute) {
		v["custom_attribute"] = map[string]any{}
	}
	if has(varEventProperties) {
		v["event_properties"] = nonNil(opts.EventProperties)
	}
	if has(varAPITriggerProperties) {
		v["api_trigger_properties"] = nonNil(opts.APITriggerProperties)
	}
	// Braze's device fields are null when unknown; profiles know only the
	// platform and the device id.
	var dv, subs map[string]any
	if has(varDevice) {
		dv = map[string]any{}
		v["most_recently_used_device"] = dv
	}
	if has(varSubscribedState) {
		subs = map[string]any{}
		v["subscribed_state"] = subs
	}
	if has(varNow) && !opts.Now.IsZero() {
		v["now"] = opts.Now
	}
	if p == nil || p.User == nil {
		return v
	}
	u := p.User
	std := u.Standard
	set := func(b VarSet, name, value string) {
		if value != "" && has(b) {
			v[name] = value
		}
	}
	set(varFirstName, "first_name", std.FirstName)
	set(varLastName, "last_name", std.LastName)
	set(varEmailAddress, "email_address", std.Email)
	set(varPhoneNumber, "phone_number", std.Phone)
	set(varCountry, "country", std.Country)
	set(varCity, "city", std.HomeCity)
	set(varLanguage, "language", std.Language)
	set(varTimeZone, "time_zone", std.TimeZone)
	set(varGender, "gender", std.Gender)
	set(varDateOfBirth, "date_of_birth", std.DOB)
	set(varUserID, "user_id", u.ExternalID)
	set(varBrazeID, "braze_id", u.BrazeID)
	if has(varRandomBucket) {
		v["random_bucket_number"] = u.RandomBucket
	}
	if has(varCustomAttribute) {
		// The profile's own map, not a copy: rendering never writes into the
		// variables (osteele/liquid assigns into a copy of the top level).
		v["custom_attribute"] = map[string]any(u.Custom)
	}
	if subs != nil {
		if std.PushSubscribe != "" {
			subs["push"] = std.PushSubscribe
		}
		if std.EmailSubscribe != "" {
			subs["email_global"] = std.EmailSubscribe
		}
	}

	if has(varAppVersion | varLastUsedAppDate) {
		lastUsed := u.LastSessionAt
		var latest *profiles.AppUsage
		for i := range p.Apps {
			a := &p.Apps[i]
			if latest == nil || a.LastUsed.After(latest.LastUsed) {
				latest = a
			}
		}
		if latest != nil {
			if latest.Version != "" && has(varAppVersion) {
				v["most_recent_app_version"] = latest.Version
			}
			if latest.LastUsed.After(lastUsed) {
				lastUsed = latest.LastUsed
			}
		}
		if !lastUsed.IsZero() && has(varLastUsedAppDate) {
			v["last_used_app_date"] = lastUsed
		}
	}

	if dv == nil {
		return v
	}
	var device *profiles.Device
	for i := range p.Devices {
		d := &p.Devices[i]
		if d.Valid() && (device == nil || d.UpdatedAt.After(device.UpdatedAt)) {
			device = d
		}
	}
	if device != nil {
		if device.Platform != "" {
			dv["platform"] = device.Platform
		}
		if device.DeviceID != "" {
			dv["id"] = device.DeviceID
		}
	}
	return v
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
