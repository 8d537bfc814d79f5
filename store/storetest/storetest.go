package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

// Opener returns a fresh, migrated store for one test.
type Opener func(t *testing.T) *store.Store

// Run runs the whole contract suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *store.Store)
	}{
		{"MigrationsCurrent", testMigrationsCurrent},
		{"EnsureUsers", testEnsureUsers},
		{"EnsureUsersConcurrent", testEnsureUsersConcurrent},
		{"LoadUsers", testLoadUsers},
		{"InsertUsers", testInsertUsers},
		{"SaveUsersDetectsStaleRows", testSaveUsersDetectsStaleRows},
		{"SaveAndLoadUser", testSaveAndLoadUser},
		{"Devices", testDevices},
		{"InvalidateTokens", testInvalidateTokens},
		{"EventsAndPurchases", testEventsAndPurchases},
		{"Aliases", testAliases},
		{"MoveUserData", testMoveUserData},
		{"DeleteUsers", testDeleteUsers},
		{"FindUserIDs", testFindUserIDs},
		{"Apps", testApps},
		{"AppSDKAuth", testAppSDKAuth},
		{"APIKeys", testAPIKeys},
		{"TxRollback", testTxRollback},
		{"Segments", testSegments},
		{"Exports", testExports},
		{"Audience", testAudience},
		{"LoadRecent", testLoadRecent},
		{"AddSessions", testAddSessions},
		{"SDKItems", testSDKItems},
		{"DispatchPages", testDispatchPages},
		{"LedgerClaims", testLedgerClaims},
		{"LedgerPurge", testLedgerPurge},
		{"RetentionPurges", testRetentionPurges},
		{"LedgerTwoDispatches", testLedgerTwoDispatches},
		{"LedgerOutcomeEvents", testLedgerOutcomeEvents},
		{"LedgerOddKeys", testLedgerOddKeys},
		{"ScheduledDispatches", testScheduledDispatches},
		{"Schedules", testSchedules},
		{"DispatchFinishedWhilePaused", testDispatchFinishedWhilePaused},
		{"PagingDoneStays", testPagingDoneStays},
		{"RefreshStats", testRefreshStats},
		{"Waves", testWaves},
		{"Cards", testCards},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ctx(t *testing.T) context.Context { return t.Context() }

func newUser(ext string) profiles.NewUser {
	return profiles.NewUser{ExternalID: ext, RandomBucket: 42, CreatedAt: t0}
}

// mustUsers creates users by external id and returns their ids.
func mustUsers(t *testing.T, s *store.Store, exts ...string) []int64 {
	t.Helper()
	var ids []int64
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		var reqs []profiles.Ensure
		for _, e := range exts {
			reqs = append(reqs, profiles.Ensure{ID: profiles.Identifier{ExternalID: e}, Create: true, New: newUser(e)})
		}
		var err error
		ids, err = tx.EnsureUsers(ctx(t), reqs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func mustApp(t *testing.T, s *store.Store, id, platform string) {
	t.Helper()
	err := s.CreateApp(ctx(t), &profiles.App{ID: id, Name: id, Platform: platform, SDKKey: "sdk-" + id, Source: "api", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
}

func profile(t *testing.T, s *store.Store, id int64) *profiles.Profile {
	t.Helper()
	ps, err := s.Profiles(ctx(t), []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("Profiles(%d) returned %d profiles", id, len(ps))
	}
	return ps[0]
}

func testMigrationsCurrent(t *testing.T, s *store.Store) {
	pending, err := s.MigrationsPending(ctx(t))
	if err != nil || pending {
		t.Fatalf("MigrationsPending = %v, %v; want false", pending, err)
	}
	applied, err := s.Migrate(ctx(t))
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate applied %v, %v; want nothing", applied, err)
	}
}

func testEnsureUsers(t *testing.T, s *store.Store) {
	alias := &profiles.Alias{Name: "dev-1", Label: "device"}
	var ids []int64
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		var err error
		ids, err = tx.EnsureUsers(ctx(t), []profiles.Ensure{
			{ID: profiles.Identifier{ExternalID: "u1"}, Create: true, New: newUser("u1")},
			{ID: profiles.Identifier{ExternalID: "u2"}, Create: false, New: newUser("u2")},
			{ID: profiles.Identifier{Alias: alias}, Create: true, New: newUser("")},
			{ID: profiles.Identifier{ExternalID: "u1"}, Create: true, New: newUser("u1")},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] == 0 || ids[1] != 0 || ids[2] == 0 || ids[3] != ids[0] || ids[0] == ids[2] {
		t.Fatalf("EnsureUsers ids = %v", ids)
	}
	p := profile(t, s, ids[0])
	if p.User.ExternalID != "u1" || p.User.RandomBucket != 42 || len(p.User.BrazeID) != 24 || !p.User.CreatedAt.Equal(t0) {
		t.Fatalf("created user = %+v", p.User)
	}
	if p.User.Standard.PushSubscribe != profiles.Subscribed || p.User.Standard.EmailSubscribe != profiles.Subscribed {
		t.Fatalf("default subscription states = %q, %q", p.User.Standard.PushSubscribe, p.User.Standard.EmailSubscribe)
	}
	a := profile(t, s, ids[2])
	if a.User.ExternalID != "" || len(a.Aliases) != 1 || a.Aliases[0] != *alias {
		t.Fatalf("alias user = %+v aliases %v", a.User, a.Aliases)
	}
	// the same identifiers resolve to the same users again, by braze id too
	err = s.InTx(ctx(t), func(tx profiles.Tx) error {
		got, err := tx.EnsureUsers(ctx(t), []profiles.Ensure{
			{ID: profiles.Identifier{Alias: alias}, Create: true, New: newUser("")},
			{ID: profiles.Identifier{BrazeID: p.User.BrazeID}},
			{ID: profiles.Identifier{BrazeID: "000000000000000000000000"}},
		})
		if err != nil {
			return err
		}
		if got[0] != ids[2] || got[1] != ids[0] || got[2] != 0 {
			return fmt.Errorf("second EnsureUsers = %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testEnsureUsersConcurrent(t *testing.T, s *store.Store) {
	const workers = 8
	results := make([][]int64, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			err := s.InTx(context.Background(), func(tx profiles.Tx) error {
				ids, err := tx.EnsureUsers(context.Background(), []profiles.Ensure{
					{ID: profiles.Identifier{ExternalID: "race"}, Create: true, New: newUser("race")},
					{ID: profiles.Identifier{Alias: &profiles.Alias{Name: "n", Label: "l"}}, Create: true, New: newUser("")},
				})
				results[w] = ids
				return err
			})
			if err != nil {
				errs <- err
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := 1; w < workers; w++ {
		if results[w][0] != results[0][0] || results[w][1] != results[0][1] {
			t.Fatalf("concurrent EnsureUsers disagree: %v vs %v", results[w], results[0])
		}
	}
}

func testSaveAndLoadUser(t *testing.T, s *store.Store) {
	id := mustUsers(t, s, "save")[0]
	signup := time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		users, err := tx.LockUsers(ctx(t), []int64{id, 0, 99999999})
		if err != nil {
			return err
		}
		if len(users) != 1 {
			return fmt.Errorf("LockUsers returned %d users", len(users))
		}
		u := users[id]
		u.Standard = profiles.Standard{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+15551234",
			Country: "GB", HomeCity: "London", Language: "en", TimeZone: "Europe/London", DOB: "1815-12-10", Gender: "F",
			PushSubscribe: profiles.OptedIn, EmailSubscribe: profiles.Unsubscribed}
		u.Custom = profiles.Custom{"plan": "gold", "visits": 3.5, "vip": true, "signup": signup,
			"tags": []any{"a", "b"}, "nested": map[string]any{"k": "v", "n": 1.0}}
		u.TotalRevenue = 12.5
		u.FirstSessionAt, u.LastSessionAt = t0.Add(-time.Hour), t0
		u.UpdatedAt = t0.Add(time.Minute)
		return tx.SaveUsers(ctx(t), []*profiles.User{u})
	})
	if err != nil {
		t.Fatal(err)
	}
	u := profile(t, s, id).User
	if u.Standard.FirstName != "Ada" || u.Standard.EmailSubscribe != profiles.Unsubscribed || u.Standard.TimeZone != "Europe/London" || u.Standard.DOB != "1815-12-10" {
		t.Fatalf("standard attributes = %+v", u.Standard)
	}
	if got, ok := u.Custom["signup"].(time.Time); !ok || !got.Equal(signup) {
		t.Fatalf("time attribute = %#v", u.Custom["signup"])
	}
	if u.Custom["plan"] != "gold" || u.Custom["visits"] != 3.5 || u.Custom["vip"] != true {
		t.Fatalf("custom = %#v", u.Custom)
	}
	if tags, _ := u.Custom["tags"].([]any); len(tags) != 2 || tags[1] != "b" {
		t.Fatalf("array attribute = %#v", u.Custom["tags"])
	}
	if n, _ := u.Custom["nested"].(map[string]any); n["n"] != 1.0 || n["k"] != "v" {
		t.Fatalf("nested attribute = %#v", u.Custom["nested"])
	}
	if u.TotalRevenue != 12.5 || !u.LastSessionAt.Equal(t0) || !u.FirstSessionAt.Equal(t0.Add(-time.Hour)) || !u.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("user = %+v", u)
	}
	// clearing a standard attribute stores NULL and reads back empty
	err = s.InTx(ctx(t), func(tx profiles.Tx) error {
		users, err := tx.LockUsers(ctx(t), []int64{id})
		if err != nil {
			return err
		}
		users[id].Standard.FirstName = ""
		delete(users[id].Custom, "plan")
		return tx.SaveUsers(ctx(t), []*profiles.User{users[id]})
	})
	if err != nil {
		t.Fatal(err)
	}
	u = profile(t, s, id).User
	if u.Standard.FirstName != "" || u.Custom["plan"] != nil || u.Standard.LastName != "Lovelace" {
		t.Fatalf("after clearing: %+v %v", u.Standard, u.Custom)
	}
}

func testDevices(t *testing.T, s *store.Store) {
	mustApp(t, s, "ios-app", profiles.PlatformIOS)
	ids := mustUsers(t, s, "d1", "d2")
	dev := func(user int64, token, deviceID string) profiles.Device {
		return profiles.Device{UserID: user, AppID: "ios-app", Platform: "ios", Token: token, TokenKey: token,
			DeviceID: deviceID, PushEnabled: true, CreatedAt: t0, UpdatedAt: t0}
	}
	up := func(ds ...profiles.Device) {
		t.Helper()
		if err := s.InTx(ctx(t), func(tx profiles.Tx) error { return tx.UpsertDevices(ctx(t), ds) }); err != nil {
			t.Fatal(err)
		}
	}
	// the same token twice in one batch is one device (the last registration wins)
	up(dev(ids[0], "tok-a", ""), dev(ids[0], "tok-b", "phone-1"), dev(ids[0], "tok-a", "phone-0"))
	p := profile(t, s, ids[0])
	if len(p.Devices) != 2 || p.Devices[0].DeviceID != "phone-0" || !p.Devices[0].Valid() {
		t.Fatalf("devices = %+v", p.Devices)
	}
	// a token registered for another user moves to that user
	up(dev(ids[1], "tok-a", ""))
	if got := profile(t, s, ids[0]).Devices; len(got) != 1 || got[0].Token != "tok-b" {
		t.Fatalf("old owner's devices = %+v", got)
	}
	if got := profile(t, s, ids[1]).Devices; len(got) != 1 || got[0].Token != "tok-a" || got[0].DeviceID != "phone-0" {
		t.Fatalf("new owner's devices = %+v (device_id kept when not given)", got)
	}
}

func testEventsAndPurchases(t *testing.T, s *store.Store) {
	mustApp(t, s, "web-app", profiles.PlatformWeb)
	id := mustUsers(t, s, "ev")[0]
	day1 := time.Date(2026, 2, 1, 23, 0, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Hour)
	props := json.RawMessage(`{"sku":"x"}`)
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		if err := tx.AddEvents(ctx(t), []profiles.Event{
			{UserID: id, Name: "viewed", Time: day2, Properties: props},
			{UserID: id, Name: "viewed", Time: day1, AppID: "web-app", Properties: json.RawMessage("{}")},
			{UserID: id, Name: "bought", Time: day1, Properties: json.RawMessage("{}")},
		}); err != nil {
			return err
		}
		return tx.AddPurchases(ctx(t), []profiles.Purchase{
			{UserID: id, ProductID: "p1", Currency: "USD", Price: 2.5, Time: day1, Properties: json.RawMessage("{}")},
			{UserID: id, ProductID: "p1", Currency: "USD", Price: 2.5, Time: day2, Properties: props},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// a second batch adds to the same rollups
	err = s.InTx(ctx(t), func(tx profiles.Tx) error {
		return tx.AddEvents(ctx(t), []profiles.Event{{UserID: id, Name: "viewed", Time: day1.Add(-time.Hour), Properties: json.RawMessage("{}")}})
	})
	if err != nil {
		t.Fatal(err)
	}
	p := profile(t, s, id)
	if len(p.Events) != 2 {
		t.Fatalf("event summaries = %+v", p.Events)
	}
	v := p.Events[1]
	if v.Name != "viewed" || v.Count != 3 || !v.First.Equal(day1.Add(-time.Hour)) || !v.Last.Equal(day2) {
		t.Fatalf("viewed summary = %+v", v)
	}
	if len(p.Purchases) != 1 || p.Purchases[0].Count != 2 || p.Purchases[0].Name != "p1" {
		t.Fatalf("purchase summaries = %+v", p.Purchases)
	}
	days, err := s.EventDays(ctx(t), id, "viewed")
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := day1.Unix()/86400, day2.Unix()/86400
	if len(days) != 2 || days[d1] != 2 || days[d2] != 1 {
		t.Fatalf("viewed per day = %v (want %d:2 %d:1)", days, d1, d2)
	}
}

func testAliases(t *testing.T, s *store.Store) {
	ids := mustUsers(t, s, "al1", "al2")
	a := profiles.Alias{Name: "n", Label: "crm"}
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		if err := tx.AddAlias(ctx(t), ids[0], a); err != nil {
			return err
		}
		if err := tx.AddAlias(ctx(t), ids[0], a); err != nil {
			return fmt.Errorf("re-adding own alias: %w", err)
		}
		if err := tx.AddAlias(ctx(t), ids[1], a); !errors.Is(err, profiles.ErrConflict) {
			return fmt.Errorf("alias taken: got %v, want ErrConflict", err)
		}
		if owner, err := tx.UserByAlias(ctx(t), a); err != nil || owner != ids[0] {
			return fmt.Errorf("UserByAlias = %d, %v", owner, err)
		}
		if owner, err := tx.UserByExternalID(ctx(t), "nobody"); err != nil || owner != 0 {
			return fmt.Errorf("UserByExternalID(nobody) = %d, %v", owner, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testMoveUserData(t *testing.T, s *store.Store) {
	mustApp(t, s, "and", profiles.PlatformAndroid)
	ids := mustUsers(t, s, "from", "into")
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		if err := tx.AddAlias(ctx(t), ids[0], profiles.Alias{Name: "anon", Label: "device"}); err != nil {
			return err
		}
		if err := tx.UpsertDevices(ctx(t), []profiles.Device{{UserID: ids[0], AppID: "and", Platform: "android", Token: "t1", TokenKey: "t1", PushEnabled: true, CreatedAt: t0, UpdatedAt: t0}}); err != nil {
			return err
		}
		return tx.AddEvents(ctx(t), []profiles.Event{
			{UserID: ids[0], Name: "e", Time: t0, Properties: json.RawMessage("{}")},
			{UserID: ids[1], Name: "e", Time: t0.Add(time.Hour), Properties: json.RawMessage("{}")},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx(t), func(tx profiles.Tx) error { return tx.MoveUserData(ctx(t), ids[0], ids[1]) }); err != nil {
		t.Fatal(err)
	}
	into := profile(t, s, ids[1])
	if len(into.Aliases) != 1 || len(into.Devices) != 1 || len(into.Events) != 1 || into.Events[0].Count != 2 || !into.Events[0].First.Equal(t0) {
		t.Fatalf("merged profile = aliases %v devices %v events %+v", into.Aliases, into.Devices, into.Events)
	}
	from := profile(t, s, ids[0])
	if len(from.Aliases)+len(from.Devices)+len(from.Events) != 0 {
		t.Fatalf("source still owns data: %+v", from)
	}
}

func testDeleteUsers(t *testing.T, s *store.Store) {
	mustApp(t, s, "del-app", profiles.PlatformIOS)
	ids := mustUsers(t, s, "del1", "del2")
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		if err := tx.UpsertDevices(ctx(t), []profiles.Device{{UserID: ids[0], AppID: "del-app", Platform: "ios", Token: "x", TokenKey: "x", PushEnabled: true, CreatedAt: t0, UpdatedAt: t0}}); err != nil {
			return err
		}
		return tx.AddEvents(ctx(t), []profiles.Event{{UserID: ids[0], Name: "e", Time: t0, Properties: json.RawMessage("{}")}})
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = s.InTx(ctx(t), func(tx profiles.Tx) error {
		var err error
		n, err = tx.DeleteUsers(ctx(t), []int64{ids[0], ids[0], 0, 987654321})
		return err
	})
	if err != nil || n != 1 {
		t.Fatalf("DeleteUsers = %d, %v; want 1", n, err)
	}
	ps, err := s.Profiles(ctx(t), ids)
	if err != nil || len(ps) != 1 || ps[0].User.ID != ids[1] {
		t.Fatalf("after delete Profiles = %v, %v", ps, err)
	}
	if days, err := s.EventDays(ctx(t), ids[0], "e"); err != nil || len(days) != 0 {
		t.Fatalf("a deleted user's event rollups remain: %v %v", days, err)
	}
	// the token is free again: another user can register it
	err = s.InTx(ctx(t), func(tx profiles.Tx) error {
		return tx.UpsertDevices(ctx(t), []profiles.Device{{UserID: ids[1], AppID: "del-app", Platform: "ios", Token: "x", TokenKey: "x", PushEnabled: true, CreatedAt: t0, UpdatedAt: t0}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testFindUserIDs(t *testing.T, s *store.Store) {
	mustApp(t, s, "f-app", profiles.PlatformAndroid)
	ids := mustUsers(t, s, "f1", "f2")
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		users, err := tx.LockUsers(ctx(t), ids)
		if err != nil {
			return err
		}
		users[ids[1]].Standard.Email = "f2@example.com"
		users[ids[1]].Standard.Phone = "+1555"
		if err := tx.SaveUsers(ctx(t), []*profiles.User{users[ids[1]]}); err != nil {
			return err
		}
		if err := tx.AddAlias(ctx(t), ids[0], profiles.Alias{Name: "n1", Label: "l"}); err != nil {
			return err
		}
		return tx.UpsertDevices(ctx(t), []profiles.Device{{UserID: ids[0], AppID: "f-app", Platform: "android", Token: "t", TokenKey: "t", DeviceID: "dev-9", PushEnabled: true, CreatedAt: t0, UpdatedAt: t0}})
	})
	if err != nil {
		t.Fatal(err)
	}
	braze := profile(t, s, ids[1]).User.BrazeID
	cases := []struct {
		name    string
		l       profiles.Lookup
		want    []int64
		missing []string
	}{
		{"external", profiles.Lookup{ExternalIDs: []string{"f2", "nope", "f1"}}, []int64{ids[1], ids[0]}, []string{"nope"}},
		{"alias", profiles.Lookup{Aliases: []profiles.Alias{{Name: "n1", Label: "l"}, {Name: "zz", Label: "l"}}}, []int64{ids[0]}, []string{"l:zz"}},
		{"braze", profiles.Lookup{BrazeID: braze}, []int64{ids[1]}, nil},
		{"device", profiles.Lookup{DeviceID: "dev-9"}, []int64{ids[0]}, nil},
		{"email", profiles.Lookup{Email: "f2@example.com"}, []int64{ids[1]}, nil},
		{"phone", profiles.Lookup{Phone: "+1555"}, []int64{ids[1]}, nil},
		{"unknown email", profiles.Lookup{Email: "x@example.com"}, nil, []string{"x@example.com"}},
	}
	for _, c := range cases {
		got, missing, err := s.FindUserIDs(ctx(t), c.l)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || fmt.Sprint(missing) != fmt.Sprint(c.missing) {
			t.Errorf("%s: FindUserIDs = %v missing %v; want %v missing %v", c.name, got, missing, c.want, c.missing)
		}
	}
}

func testApps(t *testing.T, s *store.Store) {
	a := &profiles.App{ID: "my-ios", Name: "My iOS", Platform: "ios", SDKKey: "sdk-1", Source: "api", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateApp(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateApp(ctx(t), a); !errors.Is(err, profiles.ErrConflict) {
		t.Fatalf("duplicate CreateApp: %v, want ErrConflict", err)
	}
	sealed := []byte{1, 2, 3, 0, 255}
	if err := s.SetAppCredentials(ctx(t), "my-ios", sealed, profiles.CredentialKinds{APNs: true}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppCredentials(ctx(t), "nope", sealed, profiles.CredentialKinds{}, t0); !errors.Is(err, profiles.ErrNotFound) {
		t.Fatalf("SetAppCredentials(nope) = %v, want ErrNotFound", err)
	}
	got, err := s.GetApp(ctx(t), "my-ios")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Sealed) != string(sealed) || !got.Kinds.APNs || got.Kinds.FCM || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("app = %+v", got)
	}
	if byKey, err := s.AppBySDKKey(ctx(t), "sdk-1"); err != nil || byKey.ID != "my-ios" {
		t.Fatalf("AppBySDKKey(sdk-1) = %+v, %v", byKey, err)
	}
	if _, err := s.AppBySDKKey(ctx(t), "sdk-unknown"); !errors.Is(err, profiles.ErrNotFound) {
		t.Fatalf("AppBySDKKey(unknown) = %v, want ErrNotFound", err)
	}
	// upsert keeps the SDK key and creation time
	if err := s.UpsertApp(ctx(t), &profiles.App{ID: "my-ios", Name: "Renamed", Platform: "ios", SDKKey: "other", Source: "config", CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertApp(ctx(t), &profiles.App{ID: "new-web", Name: "Web", Platform: "web", SDKKey: "sdk-2", Source: "config", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetApp(ctx(t), "my-ios"); err != nil || string(got.Sealed) != string(sealed) || !got.Kinds.APNs {
		t.Fatalf("upsert without credentials dropped them: %+v %v", got, err)
	}
	if err := s.UpsertApp(ctx(t), &profiles.App{ID: "my-ios", Name: "Renamed", Platform: "ios", SDKKey: "other", Source: "config",
		Sealed: []byte{9, 9}, Kinds: profiles.CredentialKinds{APNs: true}, CreatedAt: t0, UpdatedAt: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetApp(ctx(t), "my-ios"); err != nil || string(got.Sealed) != string([]byte{9, 9}) {
		t.Fatalf("upsert with credentials did not replace them: %+v %v", got, err)
	}
	list, err := s.ListApps(ctx(t))
	if err != nil || len(list) != 2 {
		t.Fatalf("ListApps = %v, %v", list, err)
	}
	if list[0].ID != "my-ios" || list[0].Name != "Renamed" || list[0].SDKKey != "sdk-1" || !list[0].CreatedAt.Equal(t0) || list[0].Source != "config" {
		t.Fatalf("upserted app = %+v", list[0])
	}
	if _, err := s.GetApp(ctx(t), "missing"); !errors.Is(err, profiles.ErrNotFound) {
		t.Fatalf("GetApp(missing) = %v", err)
	}
}

func testAPIKeys(t *testing.T, s *store.Store) {
	secret, k, err := apikeys.Create(ctx(t), s, "ci", "", []string{"users.track", "manage"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.APIKeyByHash(ctx(t), apikeys.Hash(secret))
	if err != nil || got.ID != k.ID || len(got.Scopes) != 2 || !got.Allows("manage") || got.Allows("users.delete") {
		t.Fatalf("APIKeyByHash = %+v, %v", got, err)
	}
	if _, err := s.APIKeyByHash(ctx(t), apikeys.Hash("nope")); !errors.Is(err, apikeys.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := s.RevokeAPIKey(ctx(t), k.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx(t), k.ID, t0); !errors.Is(err, apikeys.ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	list, err := s.ListAPIKeys(ctx(t))
	if err != nil || len(list) != 1 || list[0].RevokedAt.IsZero() {
		t.Fatalf("ListAPIKeys = %+v, %v", list, err)
	}
}

func testTxRollback(t *testing.T, s *store.Store) {
	boom := errors.New("boom")
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		if _, err := tx.EnsureUsers(ctx(t), []profiles.Ensure{{ID: profiles.Identifier{ExternalID: "rolled-back"}, Create: true, New: newUser("rolled-back")}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	ids, missing, err := s.FindUserIDs(ctx(t), profiles.Lookup{ExternalIDs: []string{"rolled-back"}})
	if err != nil || len(ids) != 0 || len(missing) != 1 {
		t.Fatalf("user from a rolled-back transaction exists: %v %v %v", ids, missing, err)
	}
}

func testLoadUsers(t *testing.T, s *store.Store) {
	ids := mustUsers(t, s, "l-old")
	old := profile(t, s, ids[0]).User
	aliasOld := &profiles.Alias{Name: "a-old", Label: "l"}
	if err := s.InTx(ctx(t), func(tx profiles.Tx) error { return tx.AddAlias(ctx(t), ids[0], *aliasOld) }); err != nil {
		t.Fatal(err)
	}
	var got []*profiles.User
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		var err error
		got, _, err = tx.LoadUsers(ctx(t), []profiles.Ensure{
			{ID: profiles.Identifier{ExternalID: "l-old"}},
			{ID: profiles.Identifier{ExternalID: "l-new"}, Create: true},
			{ID: profiles.Identifier{Alias: aliasOld}},
			{ID: profiles.Identifier{Alias: &profiles.Alias{Name: "nope", Label: "l"}}},
			{ID: profiles.Identifier{BrazeID: old.BrazeID}},
			{ID: profiles.Identifier{BrazeID: "ffffffffffffffffffffffff"}},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] == nil || got[0].ID != ids[0] || got[2] != got[0] || got[4] != got[0] {
		t.Fatalf("existing user by external id, alias and braze id: %v %v %v", got[0], got[2], got[4])
	}
	if got[1] != nil || got[3] != nil || got[5] != nil {
		t.Fatalf("LoadUsers returned users that do not exist: %v %v %v", got[1], got[3], got[5])
	}
}

func testInsertUsers(t *testing.T, s *store.Store) {
	now := t0.Add(time.Hour)
	mk := func(ext string) *profiles.User {
		return &profiles.User{ExternalID: ext, RandomBucket: 7, CreatedAt: now, UpdatedAt: now,
			Standard: profiles.Standard{FirstName: "New", PushSubscribe: profiles.OptedIn, EmailSubscribe: profiles.Subscribed},
			Custom:   profiles.Custom{"k": "v"}, TotalRevenue: 2}
	}
	a, b, c := mk("ins-b"), mk("ins-a"), mk("")
	alias := &profiles.Alias{Name: "ins", Label: "l"}
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		return tx.InsertUsers(ctx(t), []profiles.Created{{User: a}, {User: b}, {User: c, Alias: alias}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || b.ID == 0 || c.ID == 0 || a.ID == b.ID {
		t.Fatalf("ids not set: %d %d %d", a.ID, b.ID, c.ID)
	}
	p := profile(t, s, a.ID).User
	if p.ExternalID != "ins-b" || p.Standard.FirstName != "New" || p.Standard.PushSubscribe != profiles.OptedIn || p.Custom["k"] != "v" || p.TotalRevenue != 2 || p.Version != 0 {
		t.Fatalf("inserted user = %+v", p)
	}
	if cp := profile(t, s, c.ID); len(cp.Aliases) != 1 || cp.Aliases[0] != *alias {
		t.Fatalf("alias user aliases = %v", cp.Aliases)
	}
	// inserting an existing external id or alias asks for a retry and writes nothing
	for _, dup := range []profiles.Created{{User: mk("ins-a")}, {User: mk(""), Alias: alias}} {
		err := s.InTx(ctx(t), func(tx profiles.Tx) error { return tx.InsertUsers(ctx(t), []profiles.Created{dup}) })
		if err == nil || !strings.Contains(err.Error(), "concurrent") {
			t.Fatalf("duplicate insert: %v", err)
		}
	}
}

// A write based on a stale read is refused (and retried by InTx) instead of lost.
func testSaveUsersDetectsStaleRows(t *testing.T, s *store.Store) {
	id := mustUsers(t, s, "stale")[0]
	var stale *profiles.User
	if err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		got, _, err := tx.LoadUsers(ctx(t), []profiles.Ensure{{ID: profiles.Identifier{ExternalID: "stale"}}})
		stale = got[0]
		return err
	}); err != nil {
		t.Fatal(err)
	}
	bump := func(name string) error {
		return s.InTx(ctx(t), func(tx profiles.Tx) error {
			users, err := tx.LockUsers(ctx(t), []int64{id})
			if err != nil {
				return err
			}
			users[id].Standard.FirstName = name
			return tx.SaveUsers(ctx(t), []*profiles.User{users[id]})
		})
	}
	if err := bump("first"); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		attempts++
		u := stale.Clone()
		u.Standard.LastName = "from stale read"
		return tx.SaveUsers(ctx(t), []*profiles.User{u})
	})
	if err == nil || attempts != 5 {
		t.Fatalf("stale write: err %v after %d attempts; want a refusal after 5", err, attempts)
	}
	if u := profile(t, s, id).User; u.Standard.FirstName != "first" || u.Standard.LastName != "" || u.Version != 1 {
		t.Fatalf("stale write changed the row: %+v", u)
	}
}

func testInvalidateTokens(t *testing.T, s *store.Store) {
	mustApp(t, s, "inv-app", profiles.PlatformAndroid)
	id := mustUsers(t, s, "inv")[0]
	err := s.InTx(ctx(t), func(tx profiles.Tx) error {
		var ds []profiles.Device
		for _, tok := range []string{"t1", "t2", "t3"} {
			ds = append(ds, profiles.Device{UserID: id, AppID: "inv-app", Platform: "android", Token: tok, TokenKey: tok, PushEnabled: true, CreatedAt: t0, UpdatedAt: t0})
		}
		return tx.UpsertDevices(ctx(t), ds)
	})
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	n, err := s.InvalidateTokens(ctx(t), []profiles.TokenDrop{
		{AppID: "inv-app", TokenKey: "t2", Reason: "UNREGISTERED", At: at},
		{AppID: "inv-app", TokenKey: "t3", Reason: "BadDeviceToken", At: at},
		{AppID: "inv-app", TokenKey: "unknown", Reason: "x", At: at},
		{AppID: "other-app", TokenKey: "t1", Reason: "x", At: at},
	})
	if err != nil || n != 2 {
		t.Fatalf("InvalidateTokens = %d, %v; want 2", n, err)
	}
	// invalidating again changes nothing (the first reason and time stay)
	if n, err := s.InvalidateTokens(ctx(t), []profiles.TokenDrop{{AppID: "inv-app", TokenKey: "t2", Reason: "later", At: at.Add(time.Hour)}}); err != nil || n != 0 {
		t.Fatalf("second InvalidateTokens = %d, %v", n, err)
	}
	devs := profile(t, s, id).Devices
	got := map[string]profiles.Device{}
	for _, d := range devs {
		got[d.Token] = d
	}
	if !got["t1"].Valid() || got["t2"].Valid() || got["t3"].Valid() {
		t.Fatalf("validity after invalidation: %+v", devs)
	}
	if got["t2"].InvalidReason != "UNREGISTERED" || !got["t2"].InvalidAt.Equal(at) {
		t.Fatalf("t2 = %+v", got["t2"])
	}
	// the app registering the token again makes it valid
	err = s.InTx(ctx(t), func(tx profiles.Tx) error {
		return tx.UpsertDevices(ctx(t), []profiles.Device{{UserID: id, AppID: "inv-app", Platform: "android", Token: "t2", TokenKey: "t2", PushEnabled: true, CreatedAt: at, UpdatedAt: at}})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range profile(t, s, id).Devices {
		if d.Token == "t2" && !d.Valid() {
			t.Fatalf("re-registered token still invalid: %+v", d)
		}
	}
}
