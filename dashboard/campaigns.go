package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

func (d *Dashboard) campaignRoutes() {
	d.mux.HandleFunc("GET /dashboard/campaigns", d.authed(d.campaignList))
	d.mux.HandleFunc("GET /dashboard/campaigns/rows", d.authed(d.campaignRows))
	d.mux.HandleFunc("GET /dashboard/campaigns/new", d.authed(d.campaignNew))
	d.mux.HandleFunc("POST /dashboard/campaigns", d.authed(d.campaignSave))
	d.mux.HandleFunc("GET /dashboard/campaigns/{id}", d.authed(d.campaignEdit))
	d.mux.HandleFunc("POST /dashboard/campaigns/{id}", d.authed(d.campaignSave))
	d.mux.HandleFunc("POST /dashboard/campaigns/{id}/{action}", d.authed(d.campaignAction))
	d.mux.HandleFunc("POST /dashboard/preview", d.authed(d.preview))
}

// campaignRow is one line of the campaign list.
type campaignRow struct {
	ID, Name, Status, Schedule, UpdatedAt string
	Dispatch                              string // the newest dispatch's status
	Delivered, Messages                   int64
}

// listedStats is how many campaigns of the list (the newest) show their
// counts: each is a stats read, and the list refreshes every few seconds.
const listedStats = 20

func (d *Dashboard) rows(r *http.Request, s *session) ([]campaignRow, error) {
	var list struct {
		Campaigns []struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			Status    string `json:"status"`
			UpdatedAt string `json:"updated_at"`
			Schedule  struct {
				Type string `json:"type"`
			} `json:"schedule"`
		} `json:"campaigns"`
	}
	if err := d.call(r.Context(), s.Secret, http.MethodGet, "/manage/campaigns", nil, &list); err != nil {
		return nil, err
	}
	out := make([]campaignRow, 0, len(list.Campaigns))
	src := d.statsFor(s)
	for i, c := range list.Campaigns {
		row := campaignRow{ID: c.ID, Name: c.Name, Status: c.Status, Schedule: c.Schedule.Type, UpdatedAt: c.UpdatedAt}
		if i < listedStats {
			st, err := src.Stats(r.Context(), c.ID)
			if err != nil {
				return nil, err
			}
			ev := newLiveEvent(st, d.opts.Now())
			row.Dispatch, row.Delivered, row.Messages = ev.Status, ev.Delivered, ev.Messages
		}
		out = append(out, row)
	}
	return out, nil
}

func (d *Dashboard) campaignList(w http.ResponseWriter, r *http.Request, s *session) {
	rows, err := d.rows(r, s)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "campaigns", s, page{Title: "Campaigns", Nav: "campaigns", Data: rows})
}

// campaignRows is the list's table body alone: the page refreshes it to
// keep statuses and counts live.
func (d *Dashboard) campaignRows(w http.ResponseWriter, r *http.Request, s *session) {
	rows, err := d.rows(r, s)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := d.pages["campaigns"].ExecuteTemplate(w, "rows", page{CSRF: s.CSRF, Data: rows}); err != nil {
		d.log.Error("campaign rows", "error", err)
	}
}

// campaignForm is the editor's fields: the campaign document split into
// the parts a marketer edits, each JSON where the API takes JSON.
type campaignForm struct {
	ID, Name, Status, Version string
	Messages, Schedule, Rules string
	SegmentID, Filter         string
	PreviewUser               string
	Segments                  []segmentOption
	Errors                    []fieldError
}

type segmentOption struct{ ID, Name string }

// fromForm builds the campaign document the API takes from the editor's
// fields; a field that is not valid JSON is reported by its name.
func fromForm(r *http.Request) (json.RawMessage, []fieldError) {
	doc := map[string]json.RawMessage{}
	var errs []fieldError
	obj := func(field, text string) json.RawMessage {
		text = strings.TrimSpace(text)
		if text == "" {
			return nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &m); err != nil || m == nil {
			reason := "want a JSON object"
			if err != nil {
				reason += ": " + err.Error()
			}
			errs = append(errs, fieldError{Field: field, Reason: reason})
			return nil
		}
		return json.RawMessage(text)
	}
	if rules := obj("rules", r.PostFormValue("rules")); rules != nil {
		_ = json.Unmarshal(rules, &doc)
		for _, k := range []string{"name", "messages", "audience", "schedule"} {
			if _, ok := doc[k]; ok {
				errs = append(errs, fieldError{Field: "rules", Reason: k + " has its own field"})
			}
		}
	}
	name, _ := json.Marshal(strings.TrimSpace(r.PostFormValue("name")))
	doc["name"] = name
	if m := obj("messages", r.PostFormValue("messages")); m != nil {
		doc["messages"] = m
	}
	if sc := obj("schedule", r.PostFormValue("schedule")); sc != nil {
		doc["schedule"] = sc
	}
	if seg := strings.TrimSpace(r.PostFormValue("segment_id")); seg != "" {
		doc["audience"], _ = json.Marshal(map[string]string{"segment_id": seg})
	} else if f := strings.TrimSpace(r.PostFormValue("filter")); f != "" {
		var v any
		if err := json.Unmarshal([]byte(f), &v); err != nil {
			errs = append(errs, fieldError{Field: "filter", Reason: "want JSON: " + err.Error()})
		} else {
			doc["audience"], _ = json.Marshal(map[string]json.RawMessage{"filter": json.RawMessage(f)})
		}
	}
	out, _ := json.Marshal(doc)
	return out, errs
}

// toForm splits a campaign as the API shows it into the editor's fields.
func toForm(raw map[string]json.RawMessage) campaignForm {
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(raw[k], &s)
		return s
	}
	pretty := func(b json.RawMessage) string {
		var buf bytes.Buffer
		if len(b) == 0 || string(b) == "null" || json.Indent(&buf, b, "", "  ") != nil {
			return ""
		}
		return buf.String()
	}
	f := campaignForm{ID: str("id"), Name: str("name"), Status: str("status"), Version: string(raw["version"]),
		Messages: pretty(raw["messages"]), Schedule: pretty(raw["schedule"])}
	var aud struct {
		SegmentID string          `json:"segment_id"`
		Filter    json.RawMessage `json:"filter"`
	}
	_ = json.Unmarshal(raw["audience"], &aud)
	f.SegmentID, f.Filter = aud.SegmentID, pretty(aud.Filter)
	rules := map[string]json.RawMessage{}
	for k, v := range raw {
		if !slices.Contains([]string{"id", "name", "status", "version", "messages", "audience", "schedule",
			"created_at", "updated_at", "dispatches"}, k) && string(v) != "null" && string(v) != `""` && string(v) != "0" {
			rules[k] = v
		}
	}
	if len(rules) > 0 {
		b, _ := json.Marshal(rules)
		f.Rules = pretty(b)
	}
	return f
}

func (d *Dashboard) segmentOptions(r *http.Request, s *session) []segmentOption {
	var list struct {
		Segments []segmentOption `json:"segments"`
	}
	if err := d.call(r.Context(), s.Secret, http.MethodGet, "/manage/segments", nil, &list); err != nil {
		d.log.Warn("dashboard: list segments", "error", err)
	}
	return list.Segments
}

func (d *Dashboard) campaignNew(w http.ResponseWriter, r *http.Request, s *session) {
	f := campaignForm{Messages: "{\n  \"apple_push\": {\"alert\": {\"title\": \"Hi {{${first_name} | default: 'there'}}\", \"body\": \"Your perks are waiting\"}}\n}",
		Schedule: "{\"type\": \"immediate\"}", Filter: "{\"AND\": []}", Segments: d.segmentOptions(r, s), PreviewUser: r.URL.Query().Get("user")}
	d.render(w, r, http.StatusOK, "campaign", s, page{Title: "New campaign", Nav: "campaigns", Data: f})
}

func (d *Dashboard) campaignEdit(w http.ResponseWriter, r *http.Request, s *session) {
	var raw map[string]json.RawMessage
	if err := d.call(r.Context(), s.Secret, http.MethodGet, "/manage/campaigns/"+url.PathEscape(r.PathValue("id")), nil, &raw); err != nil {
		d.fail(w, r, err)
		return
	}
	f := toForm(raw)
	f.Segments, f.PreviewUser = d.segmentOptions(r, s), r.URL.Query().Get("user")
	d.render(w, r, http.StatusOK, "campaign", s, page{Title: f.Name, Nav: "campaigns", Data: f})
}

// campaignSave creates (POST /dashboard/campaigns) or updates a campaign;
// refused fields come back on the form with a 400.
func (d *Dashboard) campaignSave(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	doc, errs := fromForm(r)
	f := campaignForm{ID: id, Name: r.PostFormValue("name"), Messages: r.PostFormValue("messages"), Schedule: r.PostFormValue("schedule"),
		Rules: r.PostFormValue("rules"), SegmentID: r.PostFormValue("segment_id"), Filter: r.PostFormValue("filter"),
		PreviewUser: r.PostFormValue("preview_user")}
	if len(errs) == 0 {
		method, path := http.MethodPost, "/manage/campaigns"
		if id != "" {
			method, path = http.MethodPut, "/manage/campaigns/"+url.PathEscape(id)
		}
		var saved struct {
			ID string `json:"id"`
		}
		err := d.call(r.Context(), s.Secret, method, path, doc, &saved)
		if err == nil {
			to := "/dashboard/campaigns/" + url.PathEscape(saved.ID)
			if f.PreviewUser != "" {
				to += "?user=" + url.QueryEscape(f.PreviewUser)
			}
			redirect(w, r, to, "saved")
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
			d.fail(w, r, err)
			return
		}
		errs = ae.Errors
		if len(errs) == 0 {
			errs = []fieldError{{Field: "body", Reason: ae.Message}}
		}
	}
	f.Errors, f.Segments = errs, d.segmentOptions(r, s)
	d.render(w, r, http.StatusBadRequest, "campaign", s, page{Title: "Campaign", Nav: "campaigns", Error: "the campaign was not saved", Data: f})
}

// campaignAction launches, pauses, resumes or stops a campaign.
func (d *Dashboard) campaignAction(w http.ResponseWriter, r *http.Request, s *session) {
	action, id := r.PathValue("action"), r.PathValue("id")
	if !slices.Contains([]string{"launch", "pause", "resume", "stop"}, action) {
		http.Error(w, "action: want launch, pause, resume or stop", http.StatusBadRequest)
		return
	}
	err := d.call(r.Context(), s.Secret, http.MethodPost, "/manage/campaigns/"+url.PathEscape(id)+"/"+action, nil, nil)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		redirect(w, r, back(r, "/dashboard/campaigns/"+url.PathEscape(id)), ae.Message)
	case err != nil:
		d.fail(w, r, err)
	default:
		redirect(w, r, back(r, "/dashboard/campaigns/"+url.PathEscape(id)), action+": done")
	}
}

// back is the form's "back" field when it is a dashboard path, else def.
func back(r *http.Request, def string) string {
	b := r.PostFormValue("back")
	if strings.HasPrefix(b, "/dashboard/") && !strings.HasPrefix(b, "//") {
		return b
	}
	return def
}

// preview renders the editor's current document for the chosen user
// (preview_user: an external id): the rendered messages, aborts and the
// template problems, as JSON for the editor's script.
func (d *Dashboard) preview(w http.ResponseWriter, r *http.Request, s *session) {
	if d.deps.Previewer == nil || d.deps.Users == nil {
		http.Error(w, "preview is not available", http.StatusNotImplemented)
		return
	}
	doc, errs := fromForm(r)
	w.Header().Set("Content-Type", "application/json")
	if len(errs) > 0 {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "invalid form", "errors": errs})
		return
	}
	in, err := campaigns.DecodeInput(bytes.NewReader(doc))
	var ve *campaigns.ValidationError
	if errors.As(err, &ve) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "invalid campaign", "errors": ve.Problems})
		return
	}
	var prof *profiles.Profile
	user := strings.TrimSpace(r.PostFormValue("preview_user"))
	found := false
	if user != "" {
		ids, _, err := d.deps.Users.FindUserIDs(r.Context(), profiles.Lookup{ExternalIDs: []string{user}})
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if len(ids) > 0 {
			ps, err := d.deps.Users.Profiles(r.Context(), ids[:1])
			if err != nil {
				d.fail(w, r, err)
				return
			}
			if len(ps) > 0 {
				prof, found = ps[0], true
			}
		}
	}
	res, err := d.deps.Previewer.Preview(r.Context(), in, prof)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": err.Error()})
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]any{"user": user, "user_found": found, "messages": res.Messages, "aborted": res.Aborted, "problems": res.Problems})
}
