package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

// In-app message types.
var inAppTypes = map[string]bool{"slideup": true, "modal": true, "full": true, "html": true}

// maxSlideupChars is Braze's limit on a slideup's message.
const maxSlideupChars = 140

// In-app triggers: what the SDK watches for to show a message.
const (
	TriggerSessionStart = "session_start"
	TriggerCustomEvent  = "custom_event"
	TriggerPurchase     = "purchase"
	TriggerPushClick    = "push_click"
)

var clickActions = map[string]bool{"uri": true, "close": true, "none": true}

// validateInApp checks an in_app_message object when a campaign is saved:
// its type, the slideup length, the content each type needs, buttons (at
// most two, each with text and a click action) and the priority.
func validateInApp(obj map[string]any, path string, ps *problems) {
	typ, _ := obj["type"].(string)
	if !inAppTypes[typ] {
		ps.add(path+".type", "want slideup, modal, full or html, got %v", obj["type"])
	}
	msg, _ := obj["message"].(string)
	switch typ {
	case "slideup":
		if msg == "" {
			ps.add(path+".message", "required for a slideup")
		} else if n := utf8.RuneCountInString(msg); n > maxSlideupChars {
			ps.add(path+".message", "a slideup holds at most %d characters, got %d", maxSlideupChars, n)
		}
	case "modal", "full":
		if h, _ := obj["header"].(string); msg == "" && h == "" {
			ps.add(path+".message", "a %s message needs a message or a header", typ)
		}
	case "html":
		if h, _ := obj["html"].(string); h == "" {
			ps.add(path+".html", "required for an html message")
		}
	}
	if ca, ok := obj["click_action"]; ok {
		validateClickAction(ca, path+".click_action", ps)
	}
	if b, ok := obj["buttons"]; ok {
		buttons, ok := b.([]any)
		if !ok || len(buttons) > 2 {
			ps.add(path+".buttons", "want a list of at most 2 buttons")
		}
		for i, raw := range buttons {
			bp := fmt.Sprintf("%s.buttons[%d]", path, i)
			btn, ok := raw.(map[string]any)
			if !ok {
				ps.add(bp, "want an object")
				continue
			}
			if t, _ := btn["text"].(string); t == "" {
				ps.add(bp+".text", "required")
			}
			validateClickAction(btn["click_action"], bp+".click_action", ps)
		}
	}
	if p, ok := obj["priority"]; ok {
		if n, ok := p.(float64); !ok || n != float64(int(n)) || n < 0 || n > 100 {
			ps.add(path+".priority", "want a whole number from 0 to 100")
		}
	}
}

func validateClickAction(v any, path string, ps *problems) {
	ca, ok := v.(map[string]any)
	if !ok {
		ps.add(path, `want {"type": "uri", "uri": "…"}, {"type": "close"} or {"type": "none"}`)
		return
	}
	typ, _ := ca["type"].(string)
	if !clickActions[typ] {
		ps.add(path+".type", "want uri, close or none, got %v", ca["type"])
	}
	if u, _ := ca["uri"].(string); typ == "uri" && u == "" {
		ps.add(path+".uri", "required for a uri click action")
	}
}

// validateInAppCampaign checks what an in-app campaign must be: its only
// channel, sent by an action_based schedule whose trigger the SDK watches.
func validateInAppCampaign(d Definition, ps *problems) {
	var withInApp, others bool
	for _, v := range variantsOf(Spec{Messages: d.Messages, Variants: d.Variants}) {
		for ch := range v.Messages {
			if ch == InAppMessage {
				withInApp = true
			} else {
				others = true
			}
		}
	}
	switch {
	case !withInApp:
		return
	case others:
		ps.add("messages."+InAppMessage, "an in-app message campaign holds no other channel")
	case d.Schedule.Type != ScheduleActionBased:
		ps.add("schedule.type", "an in-app message is shown by the SDK on its trigger: use an action_based schedule, got %q", d.Schedule.Type)
	case len(d.Variants) > 0 || d.ControlPercent > 0:
		ps.add("variants", "in-app message campaigns have no variants or control group yet")
	}
}

// InAppOptions configure InApp.
type InAppOptions struct {
	// MinInterval is the shortest time between two in-app messages the SDK
	// shows. Default 30s.
	MinInterval time.Duration
	// TTL is how long the list of active in-app campaigns is cached.
	// Default 2s.
	TTL    time.Duration
	Logger *slog.Logger
}

// InApp picks the in-app messages a user is eligible for at session start.
type InApp struct {
	st       Store
	tmpl     *templates.Engine
	resolver segments.Resolver
	opts     InAppOptions

	mu       sync.Mutex
	loadedAt time.Time
	list     []*inAppCampaign
}

// inAppCampaign is an active in-app campaign, parsed once.
type inAppCampaign struct {
	c        *Campaign
	f        actionFields
	filter   *segments.Filter
	needs    segments.Needs
	obj      *templates.Object
	priority int
	trigger  map[string]any // as the SDK reads it; shared by every answer, never modified
}

// NewInApp returns the in-app message picker over st.
func NewInApp(st Store, eng *templates.Engine, resolver segments.Resolver, o InAppOptions) *InApp {
	if o.MinInterval <= 0 {
		o.MinInterval = 30 * time.Second
	}
	if o.TTL <= 0 {
		o.TTL = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &InApp{st: st, tmpl: eng, resolver: resolver, opts: o}
}

// MinInterval is the shortest time between two displays, for the SDK's
// configuration.
func (ia *InApp) MinInterval() time.Duration { return ia.opts.MinInterval }

// NeedsEventSummaries reports whether the audience of an active in-app
// campaign reads the all-time custom event summaries (Profile.Events), so
// the caller of Eligible knows whether to load them into the profile.
func (ia *InApp) NeedsEventSummaries(ctx context.Context) (bool, error) {
	list, err := ia.campaigns(ctx)
	if err != nil {
		return false, err
	}
	for _, ic := range list {
		if ic.needs.EventSummaries {
			return true, nil
		}
	}
	return false, nil
}

// campaigns returns the active in-app campaigns, cached for TTL.
func (ia *InApp) campaigns(ctx context.Context) ([]*inAppCampaign, error) {
	ia.mu.Lock()
	defer ia.mu.Unlock()
	if !ia.loadedAt.IsZero() && time.Since(ia.loadedAt) < ia.opts.TTL {
		return ia.list, nil
	}
	list, err := ia.st.Campaigns(ctx, 10000, 0)
	if err != nil {
		return nil, err
	}
	var out []*inAppCampaign
	for _, c := range list {
		msg := c.Definition.Messages[InAppMessage]
		if c.Status != StatusActive || msg == nil {
			continue
		}
		ic, err := ia.parse(ctx, c, msg)
		if err != nil {
			ia.opts.Logger.Warn("in-app campaign left out", "campaign", c.ID, "err", err)
			continue
		}
		out = append(out, ic)
	}
	ia.list, ia.loadedAt = out, time.Now()
	return out, nil
}

func (ia *InApp) parse(ctx context.Context, c *Campaign, msg map[string]any) (*inAppCampaign, error) {
	ic := &inAppCampaign{c: c}
	if err := json.Unmarshal(c.Definition.Schedule.Raw, &ic.f); err != nil {
		return nil, err
	}
	ic.trigger = triggerOf(ic.f)
	if raw := audienceFilter(c.Definition.Audience); len(raw) > 0 {
		f, err := segments.Parse(raw)
		if err != nil {
			return nil, err
		}
		if ic.filter, err = f.Resolve(ctx, ia.resolver); err != nil {
			return nil, err
		}
		ic.needs = ic.filter.Needs()
	}
	var err error
	if ic.obj, err = ia.tmpl.ParseObject(msg); err != nil {
		return nil, err
	}
	if p, ok := msg["priority"].(float64); ok {
		ic.priority = int(p)
	}
	return ic, nil
}

// Eligible returns the in-app messages for a user at session start, highest
// priority first (then the newest campaign): those of active campaigns
// within their window whose audience holds the user's profile as it was
// before the session began, rendered for the user, each with the trigger
// the SDK shows it on. A message whose template aborts is left out.
func (ia *InApp) Eligible(ctx context.Context, app *profiles.App, before *profiles.Profile, now time.Time) ([]map[string]any, error) {
	list, err := ia.campaigns(ctx)
	if err != nil || len(list) == 0 || before == nil || before.User == nil {
		return []map[string]any{}, err
	}
	recentLoaded := false
	var seen map[string]time.Time // in-app impressions by campaign, loaded once when a campaign has re-eligibility
	var vars templates.Vars
	type pick struct {
		ic  *inAppCampaign
		msg map[string]any
	}
	var picks []pick
	for _, ic := range list {
		if !inWindow(ic.f, now) {
			continue
		}
		if re := ic.c.Definition.ReEligibility; re != nil && before.User.ID != 0 {
			if seen == nil {
				if seen, err = ia.st.InAppImpressions(ctx, before.User.ID); err != nil {
					return nil, err
				}
			}
			if last, ok := seen[ic.c.ID]; ok && !reEligible(re, last, now) {
				continue
			}
		}
		if ic.filter != nil {
			if ic.needs.Recent && !recentLoaded && before.User.ID != 0 {
				if err := ia.st.LoadRecent(ctx, []*profiles.Profile{before}, now.Unix()/86400-segments.RecentDays); err != nil {
					return nil, err
				}
				recentLoaded = true
			}
			if !ic.filter.Eval(before, now) {
				continue
			}
		}
		if vars == nil {
			vars = templates.ProfileVars(before, templates.VarsOptions{Now: now})
		}
		rendered, err := ic.obj.Render(ctx, vars)
		var ab *templates.AbortError
		if errors.As(err, &ab) {
			continue
		}
		if err != nil {
			ia.opts.Logger.Warn("in-app render failed", "campaign", ic.c.ID, "user", before.User.ID, "err", err)
			continue
		}
		rendered["id"] = ic.c.ID + ":" + strconv.FormatInt(ic.c.Version, 10)
		rendered["campaign_id"] = ic.c.ID
		rendered["priority"] = ic.priority
		rendered["trigger"] = ic.trigger
		picks = append(picks, pick{ic, rendered})
	}
	sort.SliceStable(picks, func(i, j int) bool {
		if picks[i].ic.priority != picks[j].ic.priority {
			return picks[i].ic.priority > picks[j].ic.priority
		}
		if ci, cj := picks[i].ic.c.CreatedAt, picks[j].ic.c.CreatedAt; !ci.Equal(cj) {
			return ci.After(cj)
		}
		return picks[i].ic.c.ID < picks[j].ic.c.ID // created at once: any fixed order
	})
	out := make([]map[string]any, len(picks))
	for i, p := range picks {
		out[i] = p.msg
	}
	return out, nil
}

// triggerOf is an in-app campaign's trigger as the SDK reads it.
func triggerOf(f actionFields) map[string]any {
	t := map[string]any{"type": f.triggerType()}
	switch f.triggerType() {
	case TriggerCustomEvent:
		t["event_name"] = f.EventName
		if len(f.PropertyFilters) > 0 {
			t["property_filters"] = f.PropertyFilters
		}
	case TriggerPurchase:
		if f.ProductID != "" {
			t["product_id"] = f.ProductID
		}
	case TriggerPushClick:
		if f.PushCampaignID != "" {
			t["campaign_id"] = f.PushCampaignID
		}
	}
	return t
}

// reEligible reports whether a user who last saw a campaign's message at
// last may see it again at now (windows counted in UTC).
func reEligible(re *ReEligibility, last, now time.Time) bool {
	if re.Never {
		return false
	}
	w, err := ParseWindow(re.After)
	if err != nil {
		return true // validated at save
	}
	return last.Before(w.Since(now, time.UTC))
}
