package campaigns_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/store"
)

// schedulingEnv is a whole pipeline on driver with user s1 and its iOS token.
func schedulingEnv(t *testing.T, driver string) *env {
	t.Helper()
	o := store.Options{Driver: driver, SQLitePath: filepath.Join(t.TempDir(), "h.db")}
	if driver == "postgres" {
		o = store.Options{Driver: driver, PostgresDSN: testdeps.Postgres(t), PostgresMaxConns: 8}
	}
	st, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"s1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("ef", 32)+`"}]}]}`)
	return e
}

func forDrivers(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, schedulingEnv(t, d))
		})
	}
}

func sendAt(at time.Time, alert string) *campaigns.ScheduleSendRequest {
	return &campaigns.ScheduleSendRequest{
		SendRequest: campaigns.SendRequest{ExternalUserIDs: []string{"s1"},
			Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"` + alert + `"}`)}},
		Schedule: &campaigns.ScheduleTime{Time: at.Format(time.RFC3339)}}
}

// problem fails unless err is a ValidationError naming field for reason.
func problem(t *testing.T, err error, field, reason string) {
	t.Helper()
	var ve *campaigns.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a problem with %s, got %v", field, err)
	}
	for _, p := range ve.Problems {
		if p.Field == field && strings.Contains(p.Reason, reason) {
			return
		}
	}
	t.Fatalf("want %s: …%s…, got %v", field, reason, err)
}

// A scheduled message waits as a scheduled dispatch, is sent by the
// scheduler tick at its (updated) time with its (updated) messages, once;
// a deleted one never is; a started one can be neither updated nor deleted.
func TestScheduledMessagesAreSentAtTheirTime(t *testing.T) {
	t.Parallel()
	forDrivers(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		at := time.Now().Add(time.Hour).Truncate(time.Second)
		first, err := e.svc.ScheduleSend(ctx, e.users, sendAt(at, "first hello"))
		if err != nil {
			t.Fatal(err)
		}
		d := first.Dispatch
		if len(first.ID) != 32 || d.Status != campaigns.DispatchScheduled || !d.DueAt.Equal(at) || d.Occurrence != "schedule:"+first.ID ||
			d.CampaignID != "" || len(d.Spec.UserIDs) != 1 {
			t.Fatalf("schedule: %s %+v", first.ID, d)
		}
		// moved from later to at, with new messages
		moved, err := e.svc.ScheduleSend(ctx, e.users, sendAt(at.Add(24*time.Hour), "old text"))
		if err != nil {
			t.Fatal(err)
		}
		err = e.svc.UpdateMessagesSchedule(ctx, &campaigns.MessagesScheduleUpdate{ScheduleID: moved.ID,
			Schedule: &campaigns.ScheduleTime{Time: at.Format(time.RFC3339)},
			Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"updated hello"}`)}})
		if err != nil {
			t.Fatal(err)
		}
		// deleted: never sent
		deleted, err := e.svc.ScheduleSend(ctx, e.users, sendAt(at, "deleted hello"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DeleteSchedule(ctx, "", deleted.ID); err != nil {
			t.Fatal(err)
		}
		problem(t, e.svc.DeleteSchedule(ctx, "", deleted.ID), "schedule_id", "was deleted")

		if n, err := e.svc.RunSchedules(ctx, at.Add(-time.Second), campaigns.SchedulerOptions{}); err != nil || n != 0 {
			t.Fatalf("before their time: %d %v", n, err)
		}
		for range 2 { // two scheduler replicas
			if _, err := e.svc.RunSchedules(ctx, at, campaigns.SchedulerOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		e.waitDone(t, first.Dispatch.ID)
		e.waitDone(t, moved.Dispatch.ID)
		var texts []string
		for _, r := range e.rec.List() {
			texts = append(texts, string(r.Payload))
		}
		if got := strings.Join(texts, " "); len(texts) != 2 || !strings.Contains(got, "first hello") || !strings.Contains(got, "updated hello") {
			t.Fatalf("sent %s", got)
		}
		if n, _ := e.svc.RunSchedules(ctx, at.Add(48*time.Hour), campaigns.SchedulerOptions{}); n != 0 {
			t.Fatalf("later tick started %d", n)
		}
		if d, _ := e.st.Dispatch(ctx, deleted.Dispatch.ID); d.Status != campaigns.DispatchStopped || d.Pages != 0 {
			t.Fatalf("deleted schedule's dispatch: %+v", d)
		}
		if e.rec.Len() != 2 {
			t.Fatalf("%d messages, want 2", e.rec.Len())
		}
		// started: no update, no delete
		problem(t, e.svc.UpdateMessagesSchedule(ctx, &campaigns.MessagesScheduleUpdate{ScheduleID: first.ID,
			Schedule: &campaigns.ScheduleTime{Time: at.Add(time.Hour).Format(time.RFC3339)}}), "schedule_id", "has already started (dispatch done)")
		problem(t, e.svc.DeleteSchedule(ctx, "", first.ID), "schedule_id", "has already started")
		problem(t, e.svc.DeleteSchedule(ctx, "", "nope"), "schedule_id", `no schedule "nope"`)
	})
}

// A time already passed is sent at the next tick; a request_id makes a
// create happen once; the schedule itself is checked.
func TestScheduleSendChecks(t *testing.T) {
	t.Parallel()
	e := schedulingEnv(t, "sqlite")
	ctx := context.Background()
	past, err := e.svc.ScheduleSend(ctx, e.users, sendAt(time.Now().Add(-time.Hour), "late hello"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.RunSchedules(ctx, time.Now(), campaigns.SchedulerOptions{}); err != nil || n != 1 {
		t.Fatalf("next tick: %d %v", n, err)
	}
	e.waitDone(t, past.Dispatch.ID)

	req := sendAt(time.Now().Add(time.Hour), "once")
	req.RequestID = "req-1"
	a, err := e.svc.ScheduleSend(ctx, e.users, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.ScheduleSend(ctx, e.users, req)
	if err != nil || b.ID != a.ID || b.Dispatch.ID != a.Dispatch.ID {
		t.Fatalf("request_id retry: %+v then %+v %v", a, b, err)
	}

	bad := []struct {
		schedule      *campaigns.ScheduleTime
		field, reason string
	}{
		{nil, "schedule", "required"},
		{&campaigns.ScheduleTime{}, "schedule.time", "required"},
		{&campaigns.ScheduleTime{Time: "2030-01-02T09:00:00"}, "schedule.time", "with its zone"},
		{&campaigns.ScheduleTime{Time: time.Now().Add(91 * 24 * time.Hour).Format(time.RFC3339)}, "schedule.time", "at most 90 days ahead"},
		{&campaigns.ScheduleTime{Time: time.Now().Add(time.Hour).Format(time.RFC3339), InLocalTime: true},
			"schedule.time", "has a zone designator"},
		{&campaigns.ScheduleTime{Time: time.Now().Add(-27 * time.Hour).UTC().Format("2006-01-02T15:04:05"), InLocalTime: true},
			"schedule.time", "has passed in every time zone"},
		{&campaigns.ScheduleTime{Time: "2030-01-02T09:00:00", InLocalTime: true, PassedZones: "later"},
			"schedule.passed_zones", "want skip or next_occurrence"},
		{&campaigns.ScheduleTime{Time: time.Now().Add(time.Hour).Format(time.RFC3339), PassedZones: "skip"},
			"schedule.passed_zones", "only for a local-time send"},
		{&campaigns.ScheduleTime{Time: time.Now().Add(time.Hour).Format(time.RFC3339), AtOptimalTime: true},
			"schedule.at_optimal_time", "not available"},
	}
	for _, c := range bad {
		req := sendAt(time.Now(), "x")
		req.Schedule = c.schedule
		_, err := e.svc.ScheduleSend(ctx, e.users, req)
		problem(t, err, c.field, c.reason)
		if c.reason != "at most 90 days ahead" && c.reason != "has passed in every time zone" { // checked against now
			problem(t, &campaigns.ValidationError{Problems: problemsOf(req.Validate())}, c.field, c.reason)
		}
	}
	// the send's own checks, as /messages/send
	req = sendAt(time.Now().Add(time.Hour), "x")
	req.Messages = map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"{{ x"}`)}
	_, err = e.svc.ScheduleSend(ctx, e.users, req)
	problem(t, err, "messages.apple_push.alert", "1:")
	err = e.svc.UpdateMessagesSchedule(ctx, &campaigns.MessagesScheduleUpdate{ScheduleID: a.ID, Messages: req.Messages})
	problem(t, err, "messages.apple_push.alert", "1:")
	problem(t, e.svc.UpdateMessagesSchedule(ctx, &campaigns.MessagesScheduleUpdate{ScheduleID: a.ID}), "schedule", "give schedule, messages or both")
	if d, _ := e.st.Dispatch(ctx, a.Dispatch.ID); d.Spec.Messages["apple_push"]["alert"] != "once" {
		t.Fatalf("a refused update changed the schedule: %+v", d.Spec)
	}
}

// problemsOf splits a request's Validate error into problems.
func problemsOf(err error) []campaigns.Problem {
	if err == nil {
		return nil
	}
	var ps []campaigns.Problem
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		f, r, _ := strings.Cut(e.Error(), ": ")
		ps = append(ps, campaigns.Problem{Field: f, Reason: r})
	}
	return ps
}

// A scheduled trigger of an API-triggered campaign is sent at its time with
// its trigger properties; it belongs to its campaign.
func TestScheduledTriggerIsSentAtItsTime(t *testing.T) {
	t.Parallel()
	forDrivers(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		in := pushInput("api", `{"type":"api_triggered"}`)
		in.Messages = map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"your {{api_trigger_properties.${item}}}"}`)}
		c, err := e.svc.Create(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(2 * time.Hour).Truncate(time.Second)
		req := &campaigns.ScheduleTriggerRequest{TriggerRequest: campaigns.TriggerRequest{CampaignID: c.ID,
			TriggerProperties: map[string]any{"item": "book"}, Recipients: []queue.Recipient{{ExternalUserID: "s1"}}},
			Schedule: &campaigns.ScheduleTime{Time: at.Add(time.Hour).Format(time.RFC3339)}}
		sc, err := e.svc.ScheduleTrigger(ctx, e.users, req)
		if err != nil || sc.Dispatch.CampaignID != c.ID || sc.Dispatch.Status != campaigns.DispatchScheduled {
			t.Fatalf("schedule trigger: %+v %v", sc, err)
		}
		// the schedule id belongs to its campaign
		problem(t, e.svc.DeleteSchedule(ctx, "", sc.ID), "schedule_id", "no schedule")
		problem(t, e.svc.UpdateTriggerSchedule(ctx, &campaigns.TriggerScheduleUpdate{CampaignID: "nope", ScheduleID: sc.ID,
			Schedule: &campaigns.ScheduleTime{Time: at.Format(time.RFC3339)}}), "campaign_id", `no campaign "nope"`)
		if err := e.svc.UpdateTriggerSchedule(ctx, &campaigns.TriggerScheduleUpdate{CampaignID: c.ID, ScheduleID: sc.ID,
			Schedule: &campaigns.ScheduleTime{Time: at.Format(time.RFC3339)}}); err != nil {
			t.Fatal(err)
		}
		if n, err := e.svc.RunSchedules(ctx, at, campaigns.SchedulerOptions{}); err != nil || n != 1 {
			t.Fatalf("tick: %d %v", n, err)
		}
		e.waitDone(t, sc.Dispatch.ID)
		if recs := e.rec.List(); len(recs) != 1 || !strings.Contains(string(recs[0].Payload), "your book") {
			t.Fatalf("sent %+v", recs)
		}
		problem(t, e.svc.DeleteSchedule(ctx, c.ID, sc.ID), "schedule_id", "has already started")

		// a campaign that is not API-triggered is refused, as Trigger refuses it
		other, _ := e.svc.Create(ctx, pushInput("now", `{"type":"immediate"}`))
		req.CampaignID = other.ID
		_, err = e.svc.ScheduleTrigger(ctx, e.users, req)
		problem(t, err, "campaign_id", "is not API-triggered")
	})
}

// ScheduledBroadcasts lists scheduled and recurring campaigns' next sends
// due by until, soonest first, and the API schedules when asked.
func TestScheduledBroadcasts(t *testing.T) {
	t.Parallel()
	e := schedulingEnv(t, "sqlite")
	ctx := context.Background()
	now := time.Now().UTC()
	at := now.Add(3 * time.Hour).Truncate(time.Second)
	sched, _ := e.svc.Create(ctx, pushInput("scheduled", `{"type":"scheduled","time":"`+at.Format(time.RFC3339)+`"}`))
	if _, err := e.svc.Launch(ctx, sched.ID); err != nil {
		t.Fatal(err)
	}
	rec, _ := e.svc.Create(ctx, pushInput("hourly", `{"type":"recurring","cron":"0 * * * *","time_zone":"Europe/Berlin"}`))
	if _, err := e.svc.Launch(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(ctx, pushInput("draft", `{"type":"recurring","cron":"0 * * * *"}`)); err != nil { // not launched: not listed
		t.Fatal(err)
	}
	msg, err := e.svc.ScheduleSend(ctx, e.users, sendAt(at.Add(time.Hour), "x"))
	if err != nil {
		t.Fatal(err)
	}
	nextHour := now.Truncate(time.Hour).Add(time.Hour)

	list := func(until time.Time, api bool) []string {
		t.Helper()
		bs, err := e.svc.ScheduledBroadcasts(ctx, until, api)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range bs {
			out = append(out, b.CampaignName+"@"+b.Next.UTC().Format(time.RFC3339)+"/"+b.TimeZone+"/"+b.ScheduleID)
		}
		return out
	}
	want := []string{"hourly@" + nextHour.Format(time.RFC3339) + "/Europe/Berlin/", "scheduled@" + at.Format(time.RFC3339) + "/UTC/"}
	if got := list(at, false); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("until the scheduled campaign: %v, want %v", got, want)
	}
	if got := list(nextHour.Add(-time.Second), false); len(got) != 0 {
		t.Fatalf("before the first: %v", got)
	}
	want = append(want, "@"+at.Add(time.Hour).Format(time.RFC3339)+"/UTC/"+msg.ID)
	if got := list(at.Add(time.Hour), true); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("with API schedules: %v, want %v", got, want)
	}
	// paused: left out
	if err := e.svc.Pause(ctx, sched.ID); err != nil {
		t.Fatal(err)
	}
	if got := list(at, false); len(got) != 1 {
		t.Fatalf("with the scheduled campaign paused: %v", got)
	}
}
