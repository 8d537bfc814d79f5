package campaigns_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/store"
)

func scheduleEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"s1","push_tokens":[{"app_id":"app-ios","token":"`+strings.Repeat("cd", 32)+`"}]}]}`)
	return e
}

func pushInput(name, schedule string) *campaigns.Input {
	var s campaigns.Schedule
	_ = json.Unmarshal([]byte(schedule), &s)
	return &campaigns.Input{Name: name, Schedule: &s,
		Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"scheduled hello"}`)},
		Audience: &campaigns.Audience{Filter: json.RawMessage(`{"push_enabled":{}}`)}}
}

// A scheduled campaign waits in the store until its time, starts once
// however many scheduler ticks (replicas) see it due, and a stopped one never
// starts.
func TestScheduledCampaignStartsAtItsTime(t *testing.T) {
	t.Parallel()
	e := scheduleEnv(t)
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC)
	c, err := e.svc.Create(ctx, pushInput("later", `{"type":"scheduled","time":"2030-01-02T09:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.svc.Launch(ctx, c.ID)
	if err != nil || d.Status != campaigns.DispatchScheduled || !d.DueAt.Equal(at) {
		t.Fatalf("launch: %+v %v", d, err)
	}
	if n, err := e.svc.RunSchedules(ctx, at.Add(-time.Second), campaigns.SchedulerOptions{}); err != nil || n != 0 {
		t.Fatalf("before its time: started %d, %v", n, err)
	}
	time.Sleep(200 * time.Millisecond)
	if e.rec.Len() != 0 {
		t.Fatal("sent before its time")
	}
	for range 3 { // three scheduler replicas' ticks
		if _, err := e.svc.RunSchedules(ctx, at, campaigns.SchedulerOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitDone(t, d.ID)
	if n := e.rec.Len(); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	// stopped before its time: never starts
	c2, _ := e.svc.Create(ctx, pushInput("cancelled", `{"type":"scheduled","time":"2030-01-03T09:00:00Z"}`))
	d2, err := e.svc.Launch(ctx, c2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Stop(ctx, c2.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.svc.RunSchedules(ctx, at.Add(48*time.Hour), campaigns.SchedulerOptions{}); n != 0 {
		t.Fatalf("a stopped campaign started %d dispatches", n)
	}
	if got, _ := e.st.Dispatch(ctx, d2.ID); got.Status != campaigns.DispatchStopped {
		t.Fatalf("stopped campaign's dispatch is %s", got.Status)
	}
}

// A recurring campaign sends each occurrence once, and after downtime only
// the latest missed occurrence within the grace window.
func TestRecurringCampaignFiresOncePerOccurrence(t *testing.T) {
	t.Parallel()
	e := scheduleEnv(t)
	ctx := context.Background()
	c, err := e.svc.Create(ctx, pushInput("daily", `{"type":"recurring","cron":"0 10 * * *","time_zone":"Europe/Berlin"}`))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := e.svc.Launch(ctx, c.ID); err != nil || d != nil {
		t.Fatalf("launch of a recurring campaign: %v %v", d, err)
	}
	c, _ = e.svc.Get(ctx, c.ID) // active since its UpdatedAt
	berlin, _ := time.LoadLocation("Europe/Berlin")
	act := c.UpdatedAt.In(berlin)
	first := time.Date(act.Year(), act.Month(), act.Day()+1, 10, 0, 0, 0, berlin)
	opts := campaigns.SchedulerOptions{Grace: time.Hour}
	if n, _ := e.svc.RunSchedules(ctx, first.Add(-time.Minute), opts); n != 0 {
		t.Fatalf("before the first occurrence: %d", n)
	}
	for range 3 {
		if _, err := e.svc.RunSchedules(ctx, first.Add(30*time.Second), opts); err != nil {
			t.Fatal(err)
		}
	}
	ds, _ := e.svc.Dispatches(ctx, c.ID)
	if len(ds) != 1 || ds[0].Occurrence != "occ:"+first.UTC().Format("20060102T150405Z") {
		t.Fatalf("after the first occurrence: %+v", ds)
	}
	e.waitDone(t, ds[0].ID)
	// down for three days: at day 4, 10:20 only that day's occurrence fires
	late := first.AddDate(0, 0, 3).Add(20 * time.Minute)
	if n, _ := e.svc.RunSchedules(ctx, late, opts); n != 1 {
		t.Fatalf("after downtime: %d dispatches, want 1", n)
	}
	ds, _ = e.svc.Dispatches(ctx, c.ID)
	if len(ds) != 2 || !strings.HasSuffix(ds[0].Occurrence, first.AddDate(0, 0, 3).UTC().Format("20060102T150405Z")) {
		t.Fatalf("dispatches %+v", ds)
	}
	e.waitDone(t, ds[0].ID)
	if n := e.rec.Len(); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
	// bad schedules are refused at save with their field
	_, err = e.svc.Create(ctx, pushInput("bad", `{"type":"recurring","cron":"61 * * * *","time_zone":"Mars/Base"}`))
	if err == nil || !strings.Contains(err.Error(), "schedule.cron") || !strings.Contains(err.Error(), "schedule.time_zone") {
		t.Fatalf("bad recurrence: %v", err)
	}
	_, err = e.svc.Create(ctx, pushInput("bad", `{"type":"scheduled","time":"tomorrow"}`))
	if err == nil || !strings.Contains(err.Error(), "schedule.time") {
		t.Fatalf("bad time: %v", err)
	}
}
