package segments

import (
	"sort"

	"github.com/herald-oss/herald/profiles"
)

// stdAttr is a standard attribute: its column in users and its value in a
// profile ("" when unset).
type stdAttr struct {
	column string
	get    func(u *profiles.User) string
}

// standardAttrs are the names attribute filters accept.
var standardAttrs = map[string]stdAttr{
	"first_name":    {"first_name", func(u *profiles.User) string { return u.Standard.FirstName }},
	"last_name":     {"last_name", func(u *profiles.User) string { return u.Standard.LastName }},
	"email":         {"email", func(u *profiles.User) string { return u.Standard.Email }},
	"email_address": {"email", func(u *profiles.User) string { return u.Standard.Email }},
	"phone":         {"phone", func(u *profiles.User) string { return u.Standard.Phone }},
	"phone_number":  {"phone", func(u *profiles.User) string { return u.Standard.Phone }},
	"country":       {"country", func(u *profiles.User) string { return u.Standard.Country }},
	"city":          {"home_city", func(u *profiles.User) string { return u.Standard.HomeCity }},
	"home_city":     {"home_city", func(u *profiles.User) string { return u.Standard.HomeCity }},
	"language":      {"language", func(u *profiles.User) string { return u.Standard.Language }},
	"time_zone":     {"time_zone", func(u *profiles.User) string { return u.Standard.TimeZone }},
	"gender":        {"gender", func(u *profiles.User) string { return u.Standard.Gender }},
	"date_of_birth": {"dob", func(u *profiles.User) string { return u.Standard.DOB }},
	"dob":           {"dob", func(u *profiles.User) string { return u.Standard.DOB }},
	"external_id":   {"external_id", func(u *profiles.User) string { return u.ExternalID }},
	"user_id":       {"external_id", func(u *profiles.User) string { return u.ExternalID }},
}

func standardAttrNames() []string {
	names := make([]string, 0, len(standardAttrs))
	for k := range standardAttrs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
