package profiles

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// ExportRequest is a decoded /users/export/ids body.
type ExportRequest struct {
	Lookup Lookup
	Fields map[string]bool // nil means every field
}

// ExportFields returns the fields_to_export names Braze documents. Herald fills those
// it has; the others (attribution, campaigns received, …) are accepted and left out.
func ExportFields() []string {
	return []string{
		"apps", "attributed_campaign", "attributed_source", "attributed_adgroup", "attributed_ad",
		"braze_id", "campaigns_received", "canvases_received", "cards_clicked", "country", "created_at",
		"custom_attributes", "custom_events", "devices", "dob", "email", "email_subscribe", "external_id",
		"first_name", "gender", "home_city", "language", "last_coordinates", "last_name", "phone",
		"purchases", "push_subscribe", "push_tokens", "random_bucket", "time_zone", "total_revenue",
		"uninstalled_at", "user_aliases",
	}
}

// DecodeExport decodes and checks a /users/export/ids body.
func DecodeExport(r io.Reader) (*ExportRequest, error) {
	var body struct {
		ExternalIDs []string `json:"external_ids"`
		Aliases     []Alias  `json:"user_aliases"`
		DeviceID    string   `json:"device_id"`
		BrazeID     string   `json:"braze_id"`
		Email       string   `json:"email_address"`
		Phone       string   `json:"phone"`
		Fields      []string `json:"fields_to_export"`
	}
	if err := decodeKnown(r, &body); err != nil {
		return nil, err
	}
	body.Email = strings.ToLower(strings.TrimSpace(body.Email)) // as standardOp stores it
	body.BrazeID = strings.ToLower(body.BrazeID)
	req := &ExportRequest{Lookup: Lookup{ExternalIDs: body.ExternalIDs, Aliases: body.Aliases,
		DeviceID: body.DeviceID, BrazeID: body.BrazeID, Email: body.Email, Phone: body.Phone}}
	if len(body.ExternalIDs)+len(body.Aliases) > maxIdentifiers {
		return nil, requestErr("at most %d external_ids and user_aliases per request", maxIdentifiers)
	}
	singles := 0
	for _, s := range []string{body.DeviceID, body.BrazeID, body.Email, body.Phone} {
		if s != "" {
			singles++
		}
	}
	if singles+len(body.ExternalIDs)+len(body.Aliases) == 0 {
		return nil, requestErr("give external_ids, user_aliases, device_id, braze_id, email_address or phone")
	}
	if singles > 1 {
		return nil, requestErr("give at most one of device_id, braze_id, email_address or phone")
	}
	for i, a := range body.Aliases {
		if a.Name == "" || a.Label == "" {
			return nil, requestErr("user_aliases[%d] needs alias_name and alias_label", i)
		}
	}
	fields, err := ExportFieldSet(body.Fields)
	if err != nil {
		return nil, err
	}
	req.Fields = fields
	return req, nil
}

// ExportFieldSet checks fields_to_export and returns them as a set; nil (the
// field left out) means every field.
func ExportFieldSet(fields []string) (map[string]bool, error) {
	if fields == nil {
		return nil, nil
	}
	known := map[string]bool{}
	for _, f := range ExportFields() {
		known[f] = true
	}
	set := make(map[string]bool, len(fields))
	for _, f := range fields {
		if !known[f] {
			return nil, requestErr("fields_to_export: unknown field %q", f)
		}
		set[f] = true
	}
	return set, nil
}

// ExportResult is the /users/export/ids answer.
type ExportResult struct {
	Users          []map[string]any
	InvalidUserIDs []string
}

// Export builds Braze-shaped user objects.
func (s *Service) Export(ctx context.Context, req *ExportRequest) (*ExportResult, error) {
	ids, missing, err := s.store.FindUserIDs(ctx, req.Lookup)
	if err != nil {
		return nil, err
	}
	users, err := s.ExportUsers(ctx, ids, req.Fields)
	if err != nil {
		return nil, err
	}
	res := &ExportResult{Users: users, InvalidUserIDs: missing}
	if res.InvalidUserIDs == nil {
		res.InvalidUserIDs = []string{}
	}
	return res, nil
}

// ExportUsers builds the Braze-shaped export objects of users, in the order
// of ids; ids that do not exist are left out. fields nil means every field.
func (s *Service) ExportUsers(ctx context.Context, ids []int64, fields map[string]bool) ([]map[string]any, error) {
	profiles, err := s.store.Profiles(ctx, ids)
	if err != nil {
		return nil, err
	}
	apps, err := s.store.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*App, len(apps))
	for _, a := range apps {
		byID[a.ID] = a
	}
	users := make([]map[string]any, 0, len(profiles))
	for _, p := range profiles {
		users = append(users, exportUser(p, byID, fields))
	}
	return users, nil
}

func isoTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// exportUser renders one profile as Braze's export object: the least data possible,
// a missing field meaning null, false or empty.
func exportUser(p *Profile, apps map[string]*App, fields map[string]bool) map[string]any {
	u := p.User
	out := map[string]any{}
	want := func(f string) bool { return fields == nil || fields[f] }
	str := func(f, v string) {
		if v != "" && want(f) {
			out[f] = v
		}
	}
	str("external_id", u.ExternalID)
	str("braze_id", u.BrazeID)
	st := u.Standard
	str("first_name", st.FirstName)
	str("last_name", st.LastName)
	str("email", st.Email)
	str("dob", st.DOB)
	str("home_city", st.HomeCity)
	str("country", st.Country)
	str("phone", st.Phone)
	str("language", st.Language)
	str("time_zone", st.TimeZone)
	str("gender", st.Gender)
	str("push_subscribe", st.PushSubscribe)
	str("email_subscribe", st.EmailSubscribe)
	if want("created_at") {
		out["created_at"] = isoTime(u.CreatedAt)
	}
	if want("random_bucket") {
		out["random_bucket"] = u.RandomBucket
	}
	if want("total_revenue") && u.TotalRevenue != 0 {
		out["total_revenue"] = u.TotalRevenue
	}
	if want("user_aliases") && len(p.Aliases) > 0 {
		out["user_aliases"] = p.Aliases
	}
	if want("custom_attributes") && len(u.Custom) > 0 {
		out["custom_attributes"] = u.Custom.Export()
	}
	if want("custom_events") && len(p.Events) > 0 {
		out["custom_events"] = summaries(p.Events)
	}
	if want("purchases") && len(p.Purchases) > 0 {
		out["purchases"] = summaries(p.Purchases)
	}
	if want("push_tokens") && len(p.Devices) > 0 {
		toks := make([]map[string]any, 0, len(p.Devices))
		for _, d := range p.Devices {
			t := map[string]any{"app_id": d.AppID, "platform": d.Platform, "token": d.Token,
				"notifications_enabled": d.PushEnabled && d.Valid(), "valid": d.Valid()}
			if a := apps[d.AppID]; a != nil {
				t["app"] = a.Name
			}
			if d.DeviceID != "" {
				t["device_id"] = d.DeviceID
			}
			if !d.Valid() {
				t["invalidated_at"] = isoTime(d.InvalidAt)
				t["invalid_reason"] = d.InvalidReason
			}
			toks = append(toks, t)
		}
		out["push_tokens"] = toks
	}
	if want("devices") {
		var devs []map[string]any
		seen := map[string]bool{}
		for _, d := range p.Devices {
			if d.DeviceID == "" || seen[d.DeviceID] {
				continue
			}
			seen[d.DeviceID] = true
			devs = append(devs, map[string]any{"device_id": d.DeviceID, "os": d.Platform})
		}
		if len(devs) > 0 {
			out["devices"] = devs
		}
	}
	if want("apps") {
		var list []map[string]any
		if !u.FirstSessionAt.IsZero() || !u.LastSessionAt.IsZero() {
			// sessions set through /users/track's date_of_first/last_session
			m := map[string]any{"sessions": 0}
			if !u.FirstSessionAt.IsZero() {
				m["first_used"] = isoTime(u.FirstSessionAt)
			}
			if !u.LastSessionAt.IsZero() {
				m["last_used"] = isoTime(u.LastSessionAt)
			}
			if len(p.Apps) == 0 {
				list = append(list, m)
			}
		}
		for _, au := range p.Apps {
			m := map[string]any{"app_id": au.AppID, "sessions": au.Sessions,
				"first_used": isoTime(au.FirstUsed), "last_used": isoTime(au.LastUsed)}
			if a := apps[au.AppID]; a != nil {
				m["name"], m["platform"] = a.Name, a.Platform
			}
			if au.Version != "" {
				m["version"] = au.Version
			}
			list = append(list, m)
		}
		if len(list) > 0 {
			out["apps"] = list
		}
	}
	return out
}

func summaries(ss []Summary) []map[string]any {
	out := make([]map[string]any, len(ss))
	for i, s := range ss {
		out[i] = map[string]any{"name": s.Name, "first": isoTime(s.First), "last": isoTime(s.Last), "count": s.Count}
	}
	return out
}

// AliasString renders an alias the way invalid_user_ids lists it.
func AliasString(a Alias) string { return fmt.Sprintf("%s:%s", a.Label, a.Name) }
