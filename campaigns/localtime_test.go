package campaigns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/scheduler"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/store"
)

// companyZone is the company zone of the local-time tests: users without a
// valid zone are sent at its wave.
const companyZone = "Asia/Kolkata" // UTC+05:30, no DST

// localEnv is a pipeline (store, Redis, the APNs fake) whose workers plan
// waves with companyZone, and a campaign service on an injected clock.
type localEnv struct {
	*env
	clock *clock
	// tokens maps a user's external id to its device token.
	tokens map[string]string
}

func newLocalEnv(t *testing.T, driver string) *localEnv {
	t.Helper()
	opts := store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "h.db")}
	if driver == "postgres" {
		opts = store.Options{Driver: "postgres", PostgresDSN: testdeps.Postgres(t), PostgresMaxConns: 8}
	}
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	// A queue of its own, served by a pipeline that knows the company zone
	// (newEnv's workers wait on theirs, idle).
	zone, _ := time.LoadLocation(companyZone)
	qname := "herald-lt-" + testdeps.Random(8)
	client := queue.NewClient(e.rc, queue.ClientOptions{Queue: qname, Retention: time.Hour})
	resolver := func(context.Context, string) (*segments.Filter, error) { return nil, campaigns.ErrNotFound }
	pipe, err := campaigns.NewPipeline(st, senders{e.snd}, client, e.eng, resolver,
		campaigns.PipelineOptions{PageRetry: time.Second, Lease: time.Minute, DefaultZone: zone})
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(time.Time{})
	svc := campaigns.NewService(st, client, e.eng, resolver, clk.now)
	server := queue.NewServer(e.rc, campaigns.Handlers{Pipeline: pipe, Service: svc, Users: e.users},
		queue.ServerOptions{Queue: qname, Concurrency: 4, ShutdownTimeout: 5 * time.Second})
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Shutdown)
	e.svc, e.pipe, e.client = svc, pipe, client
	return &localEnv{env: e, clock: clk, tokens: map[string]string{}}
}

// user tracks a user with a push token in zone ("" for none).
func (e *localEnv) user(t *testing.T, ext, zone string) {
	t.Helper()
	tok := fmt.Sprintf("%064x", len(e.tokens)+1)
	e.tokens[ext] = tok
	z := ""
	if zone != "" {
		z = fmt.Sprintf(`,"time_zone":%q`, zone)
	}
	e.track(t, fmt.Sprintf(`{"attributes":[{"external_id":%q%s,"push_tokens":[{"app_id":"app-ios","token":%q}]}]}`, ext, z, tok))
}

// newFourZones is a SQLite localEnv with four users: at UTC+14, at UTC−11,
// in Berlin, and with no zone.
func newFourZones(t *testing.T) *localEnv {
	e := newLocalEnv(t, "sqlite")
	for _, u := range [][2]string{{"kiri", "Pacific/Kiritimati"}, {"pago", "Pacific/Pago_Pago"}, {"berlin", "Europe/Berlin"}, {"none", ""}} {
		e.user(t, u[0], u[1])
	}
	return e
}

// setZone writes a zone as it is, valid or not (as an import or an older
// tzdata might have left it), through the store.
func (e *localEnv) setZone(t *testing.T, ext, zone string) {
	t.Helper()
	ctx := context.Background()
	ids, _, err := e.st.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{ext}})
	if err != nil || len(ids) != 1 {
		t.Fatal(ids, err)
	}
	err = e.st.InTx(ctx, func(tx profiles.Tx) error {
		users, err := tx.LockUsers(ctx, ids)
		if err != nil {
			return err
		}
		u := users[ids[0]]
		u.Standard.TimeZone = zone
		u.UpdatedAt = time.Now()
		return tx.SaveUsers(ctx, []*profiles.User{u})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tick runs the scheduler on replicas replicas at now and returns how many
// dispatches and waves they started together.
func (e *localEnv) tick(t *testing.T, now time.Time, replicas int) int {
	t.Helper()
	e.clock.set(now)
	n := 0
	for range replicas {
		k, err := e.svc.RunSchedules(context.Background(), now, campaigns.SchedulerOptions{Grace: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	return n
}

// waitWaves waits until a dispatch's waves are planned.
func (e *localEnv) waitWaves(t *testing.T, id string) []campaigns.Wave {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if l, err := e.st.LocalSend(context.Background(), id); err == nil && !l.PlannedAt.IsZero() {
			ws, err := e.st.Waves(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			return ws
		}
		if time.Now().After(deadline) {
			t.Fatalf("dispatch %s: waves not planned after 20s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPaged waits until wave n of a dispatch is paged and every page of the
// dispatch is done.
func (e *localEnv) waitPaged(t *testing.T, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ws, err := e.st.Waves(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.st.Dispatch(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ws[n-1].State == campaigns.WavePaged && d.PagesDone == d.Pages {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dispatch %s wave %d: %s, pages %d/%d after 20s", id, n, ws[n-1].State, d.PagesDone, d.Pages)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// received lists the users whose token got a message since the first skip
// messages, sorted; a user twice is listed twice.
func (e *localEnv) received(skip int) []string {
	byToken := map[string]string{}
	for ext, tok := range e.tokens {
		byToken[tok] = ext
	}
	var out []string
	for _, r := range e.rec.List()[skip:] {
		out = append(out, byToken[r.Token])
	}
	slices.Sort(out)
	return out
}

func utcTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestLocalTimeWavesSQLite(t *testing.T) {
	t.Parallel()
	runLocalTimeWaves(t, newLocalEnv(t, "sqlite"))
}

func TestLocalTimeWavesPostgres(t *testing.T) {
	t.Parallel()
	runLocalTimeWaves(t, newLocalEnv(t, "postgres"))
}

// A scheduled local-time campaign at 02:30 on Berlin's spring-forward day is
// one dispatch in four waves: UTC+14, the company zone (users with no zone
// or an invalid one), Berlin at the end of its gap, UTC−11. Each wave starts
// once, at its instant, on two scheduler replicas, and sends to its users
// only; users who change zone between waves get exactly one message.
func runLocalTimeWaves(t *testing.T, e *localEnv) {
	ctx := context.Background()
	// to-later, the lowest user id, leads a page of its first wave and then
	// of UTC−11's: that page keeps pago.
	e.user(t, "to-later", "Pacific/Kiritimati") // moves to UTC−11 after its wave
	e.user(t, "kiri", "Pacific/Kiritimati")
	e.user(t, "pago", "Pacific/Pago_Pago")
	e.user(t, "berlin", "Europe/Berlin")
	e.user(t, "none", "")
	e.user(t, "bad", "")
	e.setZone(t, "bad", "Mars/Olympus")
	e.user(t, "to-earlier", "Pacific/Pago_Pago") // moves to UTC+14 after its wave

	launch := utcTime("2030-03-30T00:00:00Z")
	e.clock.set(launch)
	c, err := e.svc.Create(ctx, pushInput("local", `{"type":"scheduled","time":"2030-03-31T02:30:00","in_local_time":true}`))
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.svc.Launch(ctx, c.ID)
	first := utcTime("2030-03-30T12:30:00Z") // 02:30 at UTC+14
	if err != nil || d.Status != campaigns.DispatchScheduled || !d.DueAt.Equal(first) {
		t.Fatalf("launch: %+v %v", d, err)
	}
	if again, err := e.svc.Launch(ctx, c.ID); err != nil || again.ID != d.ID {
		t.Fatalf("second launch: %+v %v", again, err)
	}
	if n := e.tick(t, first.Add(-time.Second), 2); n != 0 {
		t.Fatalf("before the first zone's time: started %d", n)
	}
	// The first replica starts the dispatch; a worker plans its waves
	// meanwhile, and when it is quick the second replica already starts the
	// first wave (due now too).
	n := e.tick(t, first, 2)
	if n != 1 && n != 2 {
		t.Fatalf("at the first zone's time: started %d, want the dispatch once (and maybe its first wave)", n)
	}
	firstWaveEarly := n == 2
	waves := e.waitWaves(t, d.ID)
	want := []campaigns.Wave{
		{N: 1, At: first, Zones: []string{"Pacific/Kiritimati"}},
		{N: 2, At: utcTime("2030-03-30T21:00:00Z"), Zones: []string{"", "Mars/Olympus"}}, // 02:30 in Kolkata
		{N: 3, At: utcTime("2030-03-31T01:00:00Z"), Zones: []string{"Europe/Berlin"}},    // 02:30 is in the gap: 03:00 CEST
		{N: 4, At: utcTime("2030-03-31T13:30:00Z"), Zones: []string{"Pacific/Pago_Pago"}},
	}
	if len(waves) != len(want) {
		t.Fatalf("waves %+v", waves)
	}
	for i, w := range want {
		pending := waves[i].State == campaigns.WavePending
		if waves[i].N != w.N || !waves[i].At.Equal(w.At) || !slices.Equal(waves[i].Zones, w.Zones) || pending == (i == 0 && firstWaveEarly) {
			t.Errorf("wave %d = %+v, want %+v (pending unless started with the dispatch: %v)", i+1, waves[i], w, firstWaveEarly)
		}
	}
	// the campaign's one dispatch, waiting for its waves
	if ds, _ := e.svc.Dispatches(ctx, c.ID); len(ds) != 1 || ds[0].Status != campaigns.DispatchRunning {
		t.Fatalf("dispatches %+v", ds)
	}

	sent := 0
	wave := func(n int, users ...string) {
		t.Helper()
		at := want[n-1].At
		if k := e.tick(t, at.Add(-time.Second), 2); k != 0 {
			t.Fatalf("wave %d: %d started a second early", n, k)
		}
		wantStarted := 1
		if n == 1 && firstWaveEarly {
			wantStarted = 0
		}
		if k := e.tick(t, at, 2); k != wantStarted {
			t.Fatalf("wave %d: two replicas started %d, want %d", n, k, wantStarted)
		}
		e.waitPaged(t, d.ID, n)
		time.Sleep(100 * time.Millisecond) // nothing more arrives
		slices.Sort(users)
		if got := e.received(sent); !slices.Equal(got, users) {
			t.Fatalf("wave %d sent to %q, want %q", n, got, users)
		}
		sent += len(users)
	}
	wave(1, "kiri", "to-later")
	e.track(t, `{"attributes":[{"external_id":"to-earlier","time_zone":"Pacific/Kiritimati"},{"external_id":"to-later","time_zone":"Pacific/Pago_Pago"}]}`)
	wave(2, "none", "bad", "to-earlier") // to-earlier's zone's wave is paged: the next wave takes it
	wave(3, "berlin")
	wave(4, "pago") // to-later is paged again; the ledger keeps it at one message
	ids, _, _ := e.st.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"to-later", "pago"}})
	slices.Sort(ids)
	if p, err := e.st.Page(ctx, d.ID, ids[1]); err != nil || !slices.Equal(p.UserIDs, ids[1:]) {
		t.Errorf("UTC−11's page, led by to-later (paged by wave 1): %+v %v; want pago's page", p, err)
	}

	done := e.waitDone(t, d.ID)
	if !done.PagingDone || done.Pages != 4 {
		t.Errorf("done: %+v", done)
	}
	if got := e.received(0); len(got) != 7 || len(slices.Compact(slices.Clone(got))) != 7 {
		t.Errorf("messages to %q: want 7 users once each", got)
	}
	counts, _ := e.st.LedgerCounts(ctx, d.ID)
	if counts["delivered"] != 7 {
		t.Errorf("ledger %v", counts)
	}
	if n := e.tick(t, want[3].At.Add(time.Hour), 2); n != 0 {
		t.Errorf("after the last wave: started %d", n)
	}
}

// Zones whose moment has passed at launch: skipped (the default, Braze's),
// or sent the next day (next_occurrence); a time passed everywhere is
// refused with skip.
func TestLocalTimePassedZones(t *testing.T) {
	t.Parallel()
	e := newFourZones(t)
	ctx := context.Background()
	// 06:00Z on the 31st: 02:30 has passed at UTC+14, in Kolkata and Berlin,
	// not at UTC−11 (13:30Z).
	launch := utcTime("2030-03-31T06:00:00Z")
	run := func(name, policy string, want []campaigns.Wave, users ...string) {
		t.Helper()
		e.clock.set(launch)
		sched := `{"type":"scheduled","time":"2030-03-31T02:30:00","in_local_time":true` + policy + `}`
		c, err := e.svc.Create(ctx, pushInput(name, sched))
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.svc.Launch(ctx, c.ID)
		if err != nil || !d.DueAt.Equal(launch) {
			t.Fatalf("%s: launch %+v %v", name, d, err)
		}
		if n := e.tick(t, launch, 1); n != 1 {
			t.Fatalf("%s: started %d", name, n)
		}
		waves := e.waitWaves(t, d.ID)
		if len(waves) != len(want) {
			t.Fatalf("%s: waves %+v", name, waves)
		}
		sent := e.rec.Len()
		for i, w := range want {
			if !waves[i].At.Equal(w.At) || !slices.Equal(waves[i].Zones, w.Zones) {
				t.Fatalf("%s: wave %d = %+v, want %+v", name, i+1, waves[i], w)
			}
			if k := e.tick(t, w.At, 1); k != 1 {
				t.Fatalf("%s: wave %d started %d", name, i+1, k)
			}
			e.waitPaged(t, d.ID, i+1)
		}
		e.waitDone(t, d.ID)
		slices.Sort(users)
		if got := e.received(sent); !slices.Equal(got, users) {
			t.Fatalf("%s: sent to %q, want %q", name, got, users)
		}
	}
	pagoWave := campaigns.Wave{At: utcTime("2030-03-31T13:30:00Z"), Zones: []string{"Pacific/Pago_Pago"}}
	run("skip", "", []campaigns.Wave{pagoWave}, "pago")
	run("next", `,"passed_zones":"next_occurrence"`, []campaigns.Wave{
		{At: utcTime("2030-03-31T12:30:00Z"), Zones: []string{"Pacific/Kiritimati"}}, // 02:30 on April 1st
		pagoWave,
		{At: utcTime("2030-03-31T21:00:00Z"), Zones: []string{""}},
		{At: utcTime("2030-04-01T00:30:00Z"), Zones: []string{"Europe/Berlin"}}, // CEST now
	}, "kiri", "pago", "none", "berlin")

	// passed everywhere: refused with skip, sent the next day with next_occurrence
	e.clock.set(utcTime("2030-04-02T00:00:00Z"))
	c, err := e.svc.Create(ctx, pushInput("late", `{"type":"scheduled","time":"2030-03-31T02:30:00","in_local_time":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Launch(ctx, c.ID); err == nil || !strings.Contains(err.Error(), "has passed in every time zone") {
		t.Fatalf("launch of a time passed everywhere: %v", err)
	}
	c, _ = e.svc.Create(ctx, pushInput("late next", `{"type":"scheduled","time":"2030-03-31T02:30:00","in_local_time":true,"passed_zones":"next_occurrence"}`))
	if d, err := e.svc.Launch(ctx, c.ID); err != nil || d.Status != campaigns.DispatchScheduled {
		t.Fatalf("launch with next_occurrence: %+v %v", d, err)
	}
	// bad local-time schedules are refused at save
	for sched, field := range map[string]string{
		`{"type":"scheduled","time":"2030-03-31T02:30:00Z","in_local_time":true}`:                       "schedule.time",
		`{"type":"scheduled","time":"2030-03-31T02:30:00","in_local_time":true,"passed_zones":"later"}`: "schedule.passed_zones",
		`{"type":"scheduled","time":"2030-03-31T02:30:00Z","passed_zones":"skip"}`:                      "schedule.passed_zones",
		`{"type":"recurring","cron":"0 9 * * *","in_local_time":true,"passed_zones":"skip"}`:            "schedule.passed_zones",
		`{"type":"recurring","cron":"0 9 * * *","in_local_time":true,"time_zone":"Europe/Berlin"}`:      "schedule.time_zone",
		`{"type":"scheduled","time":"2030-03-31","in_local_time":true}`:                                 "schedule.time",
	} {
		if _, err := e.svc.Create(ctx, pushInput("bad", sched)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want a problem at %s", sched, err, field)
		}
	}
}

// A recurring in_local_time campaign: each occurrence is one dispatch, keyed
// by its first wave, whose waves reach each zone at 09:00 local.
func TestLocalTimeRecurring(t *testing.T) {
	t.Parallel()
	e := newFourZones(t)
	ctx := context.Background()
	e.clock.set(utcTime("2030-06-01T00:00:00Z"))
	c, err := e.svc.Create(ctx, pushInput("daily", `{"type":"recurring","cron":"0 9 * * *","in_local_time":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Launch(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	occ := utcTime("2030-06-01T19:00:00Z") // 09:00 on June 2nd at UTC+14
	if n := e.tick(t, occ.Add(-time.Minute), 2); n != 0 {
		t.Fatalf("before the occurrence: %d", n)
	}
	// as for the next occurrence below: a quick worker lets the second
	// replica start the first wave too
	started := e.tick(t, occ, 2)
	if started != 1 && started != 2 {
		t.Fatalf("at the occurrence: %d started, want its dispatch once (and maybe its first wave)", started)
	}
	ds, _ := e.svc.Dispatches(ctx, c.ID)
	if len(ds) != 1 || ds[0].Occurrence != "occ:"+scheduler.OccurrenceKey(occ) {
		t.Fatalf("dispatches %+v", ds)
	}
	d := ds[0]
	waves := e.waitWaves(t, d.ID)
	want := []time.Time{occ, utcTime("2030-06-02T03:30:00Z"), utcTime("2030-06-02T07:00:00Z"), utcTime("2030-06-02T20:00:00Z")}
	startedAlso := 0 // the next occurrence's first wave, due before this one's last
	for i, at := range want {
		if len(waves) != len(want) || !waves[i].At.Equal(at) {
			t.Fatalf("waves %+v, want at %v", waves, want)
		}
		wantStarted := 1 + startedAlso
		if i == 0 {
			wantStarted = 2 - started // 0 when it started with the dispatch
		}
		if k := e.tick(t, at, 2); k != wantStarted {
			t.Fatalf("wave %d: started %d, want %d", i+1, k, wantStarted)
		}
		e.waitPaged(t, d.ID, i+1)
		if i == 2 {
			// the next occurrence's first wave comes before this one's last
			next := occ.Add(24 * time.Hour)
			// the first replica creates the occurrence's dispatch; a worker
			// plans its waves meanwhile, and when it is quick the second
			// replica already starts the first wave (due at next)
			k := e.tick(t, next, 2)
			if k != 1 && k != 2 {
				t.Fatalf("next occurrence: %d started, want its dispatch (and maybe its first wave)", k)
			}
			ds, _ := e.svc.Dispatches(ctx, c.ID)
			if len(ds) != 2 {
				t.Fatalf("dispatches after the next occurrence: %d", len(ds))
			}
			// its waves are planned by a worker; once they are, its first
			// wave (at next) is due at this dispatch's last wave too
			if nw := e.waitWaves(t, ds[0].ID); len(nw) == 0 || nw[0].At.After(want[3]) {
				t.Fatalf("next occurrence's waves %+v", nw)
			}
			startedAlso = 2 - k // its first wave, unless the second replica started it
		}
	}
	e.waitDone(t, d.ID)
	counts, _ := e.st.LedgerCounts(ctx, d.ID)
	if counts["delivered"] != 4 {
		t.Errorf("first occurrence's ledger %v, want 4 delivered", counts)
	}
}

// /messages/schedule/create with in_local_time: the listed users, each at
// its own zone's wave, in one dispatch.
func TestLocalTimeScheduleSend(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, "sqlite")
	ctx := context.Background()
	for ext, zone := range map[string]string{"kiri": "Pacific/Kiritimati", "pago": "Pacific/Pago_Pago", "berlin": "Europe/Berlin"} {
		e.user(t, ext, zone)
	}
	e.clock.set(utcTime("2030-03-30T00:00:00Z"))
	req := &campaigns.ScheduleSendRequest{
		SendRequest: campaigns.SendRequest{ExternalUserIDs: []string{"kiri", "pago"},
			Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"local"}`)}},
		Schedule: &campaigns.ScheduleTime{Time: "2030-03-31T09:00:00", InLocalTime: true}}
	s, err := e.svc.ScheduleSend(ctx, e.users, req)
	if err != nil {
		t.Fatal(err)
	}
	first := utcTime("2030-03-30T19:00:00Z")
	if !s.Dispatch.DueAt.Equal(first) || s.Dispatch.Status != campaigns.DispatchScheduled {
		t.Fatalf("schedule: %+v", s.Dispatch)
	}
	// moved later in the same local time; then back
	if err := e.svc.UpdateMessagesSchedule(ctx, &campaigns.MessagesScheduleUpdate{ScheduleID: s.ID,
		Schedule: &campaigns.ScheduleTime{Time: "2030-03-31T10:00:00", InLocalTime: true}}); err != nil {
		t.Fatal(err)
	}
	if l, err := e.st.LocalSend(ctx, s.Dispatch.ID); err != nil || l.WallTime.Hour != 10 {
		t.Fatalf("updated local send: %+v %v", l, err)
	}
	if err := e.svc.UpdateMessagesSchedule(ctx, &campaigns.MessagesScheduleUpdate{ScheduleID: s.ID, Schedule: req.Schedule}); err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.ScheduledBroadcasts(ctx, first, true)
	if err != nil || len(list) != 1 || !list[0].InLocalTime || list[0].ScheduleID != s.ID || !list[0].Next.Equal(first) {
		t.Fatalf("scheduled broadcasts: %+v %v", list, err)
	}
	if n := e.tick(t, first, 1); n != 1 {
		t.Fatalf("started %d", n)
	}
	waves := e.waitWaves(t, s.Dispatch.ID)
	for i, w := range waves {
		if k := e.tick(t, w.At, 1); k != 1 {
			t.Fatalf("wave %d started %d", i+1, k)
		}
		e.waitPaged(t, s.Dispatch.ID, i+1)
		got := e.received(0)
		switch {
		case slices.Contains(w.Zones, "Pacific/Kiritimati") && !slices.Equal(got, []string{"kiri"}):
			t.Fatalf("after Kiritimati's wave: %q", got)
		case slices.Contains(w.Zones, "Europe/Berlin") && len(got) != 1:
			t.Fatalf("Berlin's wave sent to an unlisted user: %q", got)
		}
	}
	e.waitDone(t, s.Dispatch.ID)
	if got := e.received(0); !slices.Equal(got, []string{"kiri", "pago"}) {
		t.Fatalf("sent to %q", got)
	}
}

// A wave started by a scheduler that died before queueing its task is
// queued again by the dispatch's own task (what the reconciler enqueues for
// a running dispatch whose paging is not done); a wave task of a dispatch
// without waves is refused for good.
func TestLocalTimeLostWaveTask(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, "sqlite")
	ctx := context.Background()
	e.user(t, "kiri", "Pacific/Kiritimati")
	e.clock.set(utcTime("2030-03-30T00:00:00Z"))
	c, err := e.svc.Create(ctx, pushInput("lost", `{"type":"scheduled","time":"2030-03-31T09:00:00","in_local_time":true}`))
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.svc.Launch(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.tick(t, d.DueAt, 1); n != 1 {
		t.Fatalf("started %d", n)
	}
	waves := e.waitWaves(t, d.ID)
	if ok, err := e.st.StartWave(ctx, d.ID, 1, waves[0].At); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := e.pipe.Dispatch(ctx, queue.DispatchPayload{DispatchID: d.ID}); err != nil {
		t.Fatal(err)
	}
	e.waitPaged(t, d.ID, 1)
	if got := e.received(0); !slices.Equal(got, []string{"kiri"}) {
		t.Fatalf("sent to %q", got)
	}
	if k := e.tick(t, waves[0].At, 1); k != 0 {
		t.Fatalf("the wave started again: %d", k)
	}
	plain, err := e.svc.Create(ctx, pushInput("plain", `{"type":"scheduled","time":"2030-03-31T09:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	pd, err := e.svc.Launch(ctx, plain.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.pipe.Dispatch(ctx, queue.DispatchPayload{DispatchID: pd.ID, Wave: 2}); err == nil || !strings.Contains(err.Error(), "has no waves") {
		t.Fatalf("a wave task of a dispatch without waves: %v", err)
	}
}
