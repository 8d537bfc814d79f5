package profiles

import (
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// standardOp validates and normalizes one standard attribute value.
func standardOp(field string, v any) (StandardOp, error) {
	op := StandardOp{Field: field}
	if v == nil {
		if field == "push_subscribe" || field == "email_subscribe" {
			return op, errors.New("cannot be null; use opted_in, subscribed or unsubscribed")
		}
		return op, nil
	}
	s, ok := v.(string)
	if !ok {
		return op, errors.New("must be a string or null")
	}
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 255 || !utf8.ValidString(s) {
		return op, errors.New("must be valid text of at most 255 characters")
	}
	if s == "" {
		if field == "push_subscribe" || field == "email_subscribe" {
			return op, errors.New("cannot be empty; use opted_in, subscribed or unsubscribed")
		}
		return op, nil // empty clears, like null
	}
	switch field {
	case "email":
		if a, err := mail.ParseAddress(s); err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, " <>") {
			return op, errors.New("not a valid e-mail address")
		}
		s = strings.ToLower(s)
	case "country":
		if len(s) != 2 || !letters(s) {
			return op, errors.New("must be an ISO-3166-1 alpha-2 code such as US")
		}
		s = strings.ToUpper(s)
	case "language":
		if len(s) != 2 || !letters(s) {
			return op, errors.New("must be an ISO-639-1 code such as en")
		}
		s = strings.ToLower(s)
	case "time_zone":
		if _, err := time.LoadLocation(s); err != nil || s == "Local" {
			return op, errors.New("not a known IANA time zone such as America/New_York")
		}
	case "dob":
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			if t2, ok := ParseTime(s); ok {
				t, err = t2, nil
			}
		}
		if err != nil {
			return op, errors.New("must be a date YYYY-MM-DD")
		}
		s = t.Format("2006-01-02")
	case "gender":
		g := strings.ToUpper(s)
		switch g {
		case "MALE":
			g = "M"
		case "FEMALE":
			g = "F"
		case "OTHER":
			g = "O"
		}
		switch g {
		case "M", "F", "O", "N", "P", "U":
		default:
			return op, errors.New("must be M, F, O, N, P or U")
		}
		s = g
	case "push_subscribe", "email_subscribe":
		switch s {
		case OptedIn, Subscribed, Unsubscribed:
		default:
			return op, errors.New("must be opted_in, subscribed or unsubscribed")
		}
	case "phone":
		if len(s) > 32 {
			return op, errors.New("must be at most 32 characters")
		}
	}
	op.Value = &s
	return op, nil
}

func letters(s string) bool {
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

// apply sets the field on std; it reports whether the value changed.
func (op StandardOp) apply(std *Standard) bool {
	var val string
	if op.Value != nil {
		val = *op.Value
	}
	var f *string
	switch op.Field {
	case "first_name":
		f = &std.FirstName
	case "last_name":
		f = &std.LastName
	case "email":
		f = &std.Email
	case "phone":
		f = &std.Phone
	case "country":
		f = &std.Country
	case "home_city":
		f = &std.HomeCity
	case "language":
		f = &std.Language
	case "time_zone":
		f = &std.TimeZone
	case "dob":
		f = &std.DOB
	case "gender":
		f = &std.Gender
	case "push_subscribe":
		f = &std.PushSubscribe
	case "email_subscribe":
		f = &std.EmailSubscribe
	default:
		return false
	}
	if *f == val {
		return false
	}
	*f = val
	return true
}
