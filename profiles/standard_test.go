package profiles

import (
	"fmt"
	"strings"
	"testing"
	_ "time/tzdata" // as cmd/herald: zones resolve on machines without them
)

func TestStandardOp(t *testing.T) {
	t.Parallel()
	const cleared = "<clear>"
	cases := []struct {
		field string
		value any
		// want is the stored value, clear for a clearing op, "" when an error is expected.
		want string
		err  string
	}{
		{"first_name", "Ann", "Ann", ""},
		{"first_name", "  Ann  ", "Ann", ""},
		{"first_name", "Zoë", "Zoë", ""},
		{"first_name", nil, cleared, ""},
		{"first_name", "", cleared, ""},
		{"first_name", "   ", cleared, ""},
		{"first_name", strings.Repeat("a", 255), strings.Repeat("a", 255), ""},
		{"first_name", strings.Repeat("a", 256), "", "at most 255"},
		{"first_name", 12.0, "", "must be a string or null"},
		{"first_name", true, "", "must be a string or null"},
		{"home_city", "Paris", "Paris", ""},

		{"email", "Ann.Smith@Example.COM", "ann.smith@example.com", ""},
		{"email", " ann+tag@example.com ", "ann+tag@example.com", ""},
		{"email", nil, cleared, ""},
		{"email", "not-an-address", "", "not a valid e-mail address"},
		{"email", "Ann <ann@example.com>", "", "not a valid e-mail address"},
		{"email", "ann@example.com, bob@example.com", "", "not a valid e-mail address"},
		{"email", "ann@", "", "not a valid e-mail address"},
		// a comment is no part of the address: storing it makes the address unsendable
		{"email", "ann@example.com(Ann)", "", "not a valid e-mail address"},
		{"email", "=?utf-8?q?Ann?=<ann@example.com>", "", "not a valid e-mail address"},

		{"country", "us", "US", ""},
		{"country", "Gb", "GB", ""},
		{"country", "USA", "", "ISO-3166-1"},
		{"country", "U1", "", "ISO-3166-1"},
		{"country", "ü", "", "ISO-3166-1"},

		{"language", "EN", "en", ""},
		{"language", "pt", "pt", ""},
		{"language", "en-US", "", "ISO-639-1"},
		{"language", "e", "", "ISO-639-1"},

		{"time_zone", "America/New_York", "America/New_York", ""},
		{"time_zone", "Europe/Paris", "Europe/Paris", ""},
		{"time_zone", "UTC", "UTC", ""},
		{"time_zone", "Mars/Olympus_Mons", "", "IANA time zone"},
		{"time_zone", "Local", "", "IANA time zone"},
		{"time_zone", "../../etc/passwd", "", "IANA time zone"},
		{"time_zone", "/etc/localtime", "", "IANA time zone"},
		{"time_zone", "+02:00", "", "IANA time zone"},

		{"dob", "1990-02-03", "1990-02-03", ""},
		{"dob", "1990-02-03T00:00:00Z", "1990-02-03", ""},
		{"dob", "1990-02-03T10:00:00", "1990-02-03", ""},
		{"dob", "2000-02-29", "2000-02-29", ""},
		{"dob", "1999-02-29", "", "YYYY-MM-DD"},
		{"dob", "03/02/1990", "", "YYYY-MM-DD"},
		{"dob", "1990-2-3", "", "YYYY-MM-DD"},
		{"dob", "19900203", "", "YYYY-MM-DD"},
		{"dob", nil, cleared, ""},

		{"gender", "M", "M", ""},
		{"gender", "f", "F", ""},
		{"gender", "male", "M", ""},
		{"gender", "Female", "F", ""},
		{"gender", "OTHER", "O", ""},
		{"gender", "n", "N", ""},
		{"gender", "P", "P", ""},
		{"gender", "u", "U", ""},
		{"gender", "X", "", "must be M, F, O, N, P or U"},
		{"gender", "man", "", "must be M, F, O, N, P or U"},
		{"gender", nil, cleared, ""},

		{"push_subscribe", "opted_in", "opted_in", ""},
		{"push_subscribe", "subscribed", "subscribed", ""},
		{"push_subscribe", "unsubscribed", "unsubscribed", ""},
		{"push_subscribe", "Subscribed", "", "must be opted_in, subscribed or unsubscribed"},
		{"push_subscribe", "true", "", "must be opted_in, subscribed or unsubscribed"},
		{"push_subscribe", nil, "", "cannot be null"},
		{"push_subscribe", false, "", "must be a string"},
		{"email_subscribe", "opted_in", "opted_in", ""},
		{"email_subscribe", "unsubscribed", "unsubscribed", ""},
		{"email_subscribe", "opted_out", "", "must be opted_in, subscribed or unsubscribed"},
		{"email_subscribe", nil, "", "cannot be null"},
		// An empty state must not clear the subscription when null may not: a
		// profile always has a subscription state.
		{"push_subscribe", "", "", "opted_in, subscribed or unsubscribed"},
		{"email_subscribe", "  ", "", "opted_in, subscribed or unsubscribed"},

		{"phone", "+1 (555) 010-9999", "+1 (555) 010-9999", ""},
		{"phone", strings.Repeat("1", 33), "", "at most 32"},
	}
	for _, tc := range cases {
		op, err := standardOp(tc.field, tc.value)
		name := fmt.Sprintf("%s=%.40q", tc.field, fmt.Sprint(tc.value))
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: op %+v, err %v; want an error containing %q", name, op, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: err %v; want %q", name, err, tc.want)
		case op.Field != tc.field:
			t.Errorf("%s: field %q; want %q", name, op.Field, tc.field)
		case tc.want == cleared:
			if op.Value != nil {
				t.Errorf("%s: value %q; want a clearing op", name, *op.Value)
			}
		case op.Value == nil:
			t.Errorf("%s: a clearing op; want %q", name, tc.want)
		case *op.Value != tc.want:
			t.Errorf("%s: value %q; want %q", name, *op.Value, tc.want)
		}
	}
}

// A valid standard value is stored in a form that is itself valid and unchanged by
// normalizing again.
func TestStandardOpIdempotent(t *testing.T) {
	t.Parallel()
	inputs := map[string][]string{
		"email":     {"Ann@Example.COM", "x.y+z@sub.example.org"},
		"country":   {"fr", "NZ"},
		"language":  {"DE", "ja"},
		"time_zone": {"Asia/Tokyo", "Etc/GMT+5"},
		"dob":       {"1990-02-03T22:00:00-05:00", "1980-12-31"},
		"gender":    {"female", "o"},
	}
	for field, vals := range inputs {
		for _, v := range vals {
			op, err := standardOp(field, v)
			if err != nil {
				t.Errorf("%s=%q: %v", field, v, err)
				continue
			}
			again, err := standardOp(field, *op.Value)
			if err != nil || *again.Value != *op.Value {
				t.Errorf("%s=%q: normalized %q, then %v (%v); want it unchanged", field, v, *op.Value, again.Value, err)
			}
		}
	}
}

func TestStandardOpApply(t *testing.T) {
	t.Parallel()
	val := func(s string) *string { return &s }
	var std Standard
	fields := []string{"first_name", "last_name", "email", "phone", "country", "home_city", "language",
		"time_zone", "dob", "gender", "push_subscribe", "email_subscribe"}
	for _, f := range fields {
		if !(StandardOp{Field: f, Value: val("v-" + f)}).apply(&std) {
			t.Errorf("setting %s reported no change", f)
		}
	}
	want := Standard{FirstName: "v-first_name", LastName: "v-last_name", Email: "v-email", Phone: "v-phone",
		Country: "v-country", HomeCity: "v-home_city", Language: "v-language", TimeZone: "v-time_zone",
		DOB: "v-dob", Gender: "v-gender", PushSubscribe: "v-push_subscribe", EmailSubscribe: "v-email_subscribe"}
	if std != want {
		t.Fatalf("standard = %+v; want %+v", std, want)
	}
	if (StandardOp{Field: "email", Value: val("v-email")}).apply(&std) {
		t.Error("setting the same value reported a change")
	}
	if !(StandardOp{Field: "email"}).apply(&std) || std.Email != "" {
		t.Errorf("clearing email: %q; want it empty and a change reported", std.Email)
	}
	if (StandardOp{Field: "unknown", Value: val("x")}).apply(&std) {
		t.Error("an unknown field reported a change")
	}
}
