package templates

import "math/bits"

// VarSet is a set of the variables ProfileVars builds. A template's set
// (Template.Vars, Object.Vars) holds every variable whose name appears in its
// Liquid, so building only those gives it the same output: Liquid reaches a
// variable only by its literal name (Herald has no include or render tag).
// Building fewer variables saves the delivery pipeline a map per user and
// osteele/liquid a shorter copy of the bindings per render.
type VarSet uint32

const (
	varFirstName VarSet = 1 << iota
	varLastName
	varEmailAddress
	varPhoneNumber
	varCountry
	varCity
	varLanguage
	varTimeZone
	varGender
	varDateOfBirth
	varUserID
	varBrazeID
	varRandomBucket
	varCustomAttribute
	varEventProperties
	varAPITriggerProperties
	varDevice
	varSubscribedState
	varAppVersion
	varLastUsedAppDate
	varNow
	// varsListed marks a set as computed, so that a template reading no
	// variable (a set of only this bit) is not taken for "every variable".
	varsListed

	// AllVars is every variable.
	AllVars = varsListed<<1 - 1
)

// count is how many variables s holds.
func (s VarSet) count() int { return bits.OnesCount32(uint32(s &^ varsListed)) }

// varBit is the variable a name stands for, or 0.
func varBit(name string) VarSet {
	switch name {
	case "first_name":
		return varFirstName
	case "last_name":
		return varLastName
	case "email_address":
		return varEmailAddress
	case "phone_number":
		return varPhoneNumber
	case "country":
		return varCountry
	case "city":
		return varCity
	case "language":
		return varLanguage
	case "time_zone":
		return varTimeZone
	case "gender":
		return varGender
	case "date_of_birth":
		return varDateOfBirth
	case "user_id":
		return varUserID
	case "braze_id":
		return varBrazeID
	case "random_bucket_number":
		return varRandomBucket
	case "custom_attribute":
		return varCustomAttribute
	case "event_properties":
		return varEventProperties
	case "api_trigger_properties":
		return varAPITriggerProperties
	case "most_recently_used_device":
		return varDevice
	case "subscribed_state":
		return varSubscribedState
	case "most_recent_app_version":
		return varAppVersion
	case "last_used_app_date":
		return varLastUsedAppDate
	case "now":
		return varNow
	}
	return 0
}

// referencedVars is the set of variables named anywhere in Liquid source
// (tags and outputs after the dialect rewrite, string literals included): a
// superset of what the source can read.
func referencedVars(src string) VarSet {
	set := varsListed
	for i := 0; i < len(src); {
		if !isWordByte(src[i]) {
			i++
			continue
		}
		j := i
		for j < len(src) && isWordByte(src[j]) {
			j++
		}
		set |= varBit(src[i:j])
		i = j
	}
	return set
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
