package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/store"
)

// testSchedules covers the queries of the scheduling endpoints: a schedule
// found by its campaign and occurrence, rescheduled and cancelled only while
// scheduled, and listed by due time and occurrence prefix.
func testSchedules(t *testing.T, s *store.Store) {
	mk := func(id, campaign, occ, status string, due time.Time) {
		t.Helper()
		d := &campaigns.Dispatch{ID: id, CampaignID: campaign, Occurrence: occ, Status: status, DueAt: due, CreatedAt: t0, UpdatedAt: t0,
			Spec: campaigns.Spec{Messages: map[string]map[string]any{"apple_push": {"alert": "first"}}}}
		if _, created, err := s.CreateDispatch(ctx(t), d); err != nil || !created {
			t.Fatalf("create %s: %v %v", id, created, err)
		}
	}
	mk("m1", "", "schedule:a", campaigns.DispatchScheduled, t0.Add(3*time.Hour))
	mk("c1", "camp", "schedule:a", campaigns.DispatchScheduled, t0.Add(time.Hour)) // same schedule id, another campaign
	mk("l1", "camp2", "launch", campaigns.DispatchScheduled, t0.Add(2*time.Hour))
	mk("r1", "", "request:x", campaigns.DispatchRunning, time.Time{})

	d, err := s.DispatchByOccurrence(ctx(t), "", "schedule:a")
	if err != nil || d.ID != "m1" || !d.DueAt.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("by occurrence: %+v %v", d, err)
	}
	if d, err := s.DispatchByOccurrence(ctx(t), "camp", "schedule:a"); err != nil || d.ID != "c1" {
		t.Fatalf("by occurrence of a campaign: %+v %v", d, err)
	}
	if _, err := s.DispatchByOccurrence(ctx(t), "camp", "schedule:b"); !errors.Is(err, campaigns.ErrNotFound) {
		t.Fatalf("unknown occurrence: %v", err)
	}

	// reschedule: the time alone, then the time and the spec
	later := t0.Add(5 * time.Hour)
	if ok, err := s.RescheduleDispatch(ctx(t), "m1", later, nil, t0); err != nil || !ok {
		t.Fatalf("reschedule: %v %v", ok, err)
	}
	spec := campaigns.Spec{Messages: map[string]map[string]any{"apple_push": {"alert": "second"}}, UserIDs: []int64{7}}
	if ok, err := s.RescheduleDispatch(ctx(t), "m1", later.Add(time.Minute), &spec, t0.Add(time.Second)); err != nil || !ok {
		t.Fatalf("reschedule with spec: %v %v", ok, err)
	}
	d, _ = s.Dispatch(ctx(t), "m1")
	if !d.DueAt.Equal(later.Add(time.Minute)) || d.Spec.Messages["apple_push"]["alert"] != "second" || len(d.Spec.UserIDs) != 1 ||
		!d.UpdatedAt.Equal(t0.Add(time.Second)) || d.Status != campaigns.DispatchScheduled {
		t.Fatalf("rescheduled: %+v", d)
	}

	// listing: due by until, by due time, by prefix
	list := func(prefix string, until time.Time) []string {
		t.Helper()
		ds, err := s.ScheduledDispatches(ctx(t), prefix, until, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		return ids
	}
	if ids := list("schedule:", later.Add(time.Hour)); len(ids) != 2 || ids[0] != "c1" || ids[1] != "m1" {
		t.Fatalf("schedules: %v", ids)
	}
	if ids := list("schedule:", later); len(ids) != 1 || ids[0] != "c1" {
		t.Fatalf("schedules before m1's time: %v", ids)
	}
	if ids := list("launch", later); len(ids) != 1 || ids[0] != "l1" {
		t.Fatalf("launches: %v", ids)
	}
	if ids := list("request:", later); len(ids) != 0 {
		t.Fatalf("a running dispatch listed: %v", ids)
	}

	// cancel: once, and only while scheduled
	if ok, err := s.CancelScheduled(ctx(t), "m1", t0); err != nil || !ok {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	if ok, err := s.CancelScheduled(ctx(t), "m1", t0); err != nil || ok {
		t.Fatalf("second cancel: %v %v", ok, err)
	}
	if d, _ := s.Dispatch(ctx(t), "m1"); d.Status != campaigns.DispatchStopped {
		t.Fatalf("cancelled dispatch is %s", d.Status)
	}
	if ok, err := s.RescheduleDispatch(ctx(t), "m1", t0, nil, t0); err != nil || ok {
		t.Fatalf("reschedule of a cancelled dispatch: %v %v", ok, err)
	}
	if ok, _ := s.StartDispatch(ctx(t), "m1", t0); ok {
		t.Fatal("a cancelled dispatch started")
	}
	if ok, err := s.StartDispatch(ctx(t), "c1", t0); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	if ok, err := s.RescheduleDispatch(ctx(t), "c1", later, nil, t0); err != nil || ok {
		t.Fatalf("reschedule of a started dispatch: %v %v", ok, err)
	}
	if ok, err := s.CancelScheduled(ctx(t), "c1", t0); err != nil || ok {
		t.Fatalf("cancel of a started dispatch: %v %v", ok, err)
	}
	if ids := list("schedule:", later.Add(time.Hour)); len(ids) != 0 {
		t.Fatalf("schedules after cancel and start: %v", ids)
	}
}
