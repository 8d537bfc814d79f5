package storetest

import (
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

func testAddSessions(t *testing.T, s *store.Store) {
	ids := mustUsers(t, s, "sess-1", "sess-2")
	day := int64(24 * time.Hour)
	at := func(days int) time.Time { return t0.Add(time.Duration(int64(days) * day)) }
	err := s.AddSessions(ctx(t), []profiles.Session{
		{UserID: ids[0], AppID: "ios", Time: at(0), AppVersion: "1.0"},
		{UserID: ids[0], AppID: "ios", Time: at(-3)},
		{UserID: ids[0], AppID: "ios", Time: at(0).Add(time.Hour)},
		{UserID: ids[0], AppID: "web", Time: at(-1), AppVersion: "w1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := profile(t, s, ids[0])
	if !p.User.FirstSessionAt.Equal(at(-3)) || !p.User.LastSessionAt.Equal(at(0).Add(time.Hour)) {
		t.Errorf("first/last session %v %v", p.User.FirstSessionAt, p.User.LastSessionAt)
	}
	apps := map[string]profiles.AppUsage{}
	for _, a := range p.Apps {
		apps[a.AppID] = a
	}
	if a := apps["ios"]; a.Sessions != 3 || !a.FirstUsed.Equal(at(-3)) || !a.LastUsed.Equal(at(0).Add(time.Hour)) || a.Version != "1.0" {
		t.Errorf("ios usage %+v", a)
	}
	if a := apps["web"]; a.Sessions != 1 || a.Version != "w1" {
		t.Errorf("web usage %+v", a)
	}
	ps := []*profiles.Profile{p, profile(t, s, ids[1])}
	if err := s.LoadRecent(ctx(t), ps, t0.Unix()/86400-2); err != nil {
		t.Fatal(err)
	}
	days := map[int64]int64{}
	for _, d := range ps[0].Recent.Sessions {
		days[d.Day] = d.Count
	}
	today := t0.Unix() / 86400
	if len(days) != 2 || days[today] != 2 || days[today-1] != 1 {
		t.Errorf("recent session days %v (day %d-3 is before the window)", days, today)
	}
	if len(ps[1].Recent.Sessions) != 0 || !ps[1].User.LastSessionAt.IsZero() {
		t.Errorf("a user without sessions: %+v", ps[1].Recent)
	}
}
