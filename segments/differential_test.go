package segments_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/seal"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/store"
)

// The differential test: random profiles, random filters, and Eval must pick
// exactly the users the SQL picks, on SQLite and on PostgreSQL.

// diffNow is the evaluation time; the generated data sits around it.
var diffNow = time.Date(2026, 11, 29, 10, 30, 0, 0, time.UTC)

func diffSeed(t *testing.T) uint64 {
	if s := os.Getenv("HERALD_SEGMENTS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("HERALD_SEGMENTS_SEED: %v", err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

func TestDifferentialSQLite(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runDifferential(t, st, segments.SQLite)
}

func TestDifferentialPostgres(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), store.Options{Driver: "postgres", PostgresDSN: testdeps.Postgres(t), PostgresMaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runDifferential(t, st, segments.Postgres)
}

func runDifferential(t *testing.T, st *store.Store, dialect string) {
	ctx := context.Background()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	seed := diffSeed(t)
	t.Logf("seed %d (set HERALD_SEGMENTS_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 0x5e6))
	profs := populate(t, ctx, st, rng)

	saved := map[string]*segments.Filter{}
	for i := range 3 {
		saved[fmt.Sprintf("s%d", i)] = mustParse(t, genFilter(rng, 2, false))
	}
	resolve := func(_ context.Context, id string) (*segments.Filter, error) {
		if f, ok := saved[id]; ok {
			return f, nil
		}
		return nil, fmt.Errorf("no segment %q", id)
	}

	const filters = 400
	matched := 0
	for i := range filters {
		src := genFilter(rng, 3, true)
		f := mustParse(t, src)
		rf, err := f.Resolve(ctx, resolve)
		if err != nil {
			t.Fatalf("resolve %s: %v", src, err)
		}
		var want []int64
		for _, p := range profs {
			if rf.Eval(p, diffNow) {
				want = append(want, p.User.ID)
			}
		}
		where, args, err := rf.SQL(dialect, diffNow)
		if err != nil {
			t.Fatalf("SQL of %s: %v", src, err)
		}
		var got []int64
		for after := int64(0); ; {
			page, err := st.AudiencePage(ctx, where, args, after, 37)
			if err != nil {
				t.Fatalf("filter %d %s\nSQL %s %v\n%v", i, src, where, args, err)
			}
			got = append(got, page...)
			if len(page) < 37 {
				break
			}
			after = page[len(page)-1]
		}
		if n, err := st.CountWhere(ctx, where, args); err != nil || n != int64(len(got)) {
			t.Fatalf("filter %d: CountWhere %d, %v; pages gave %d", i, n, err, len(got))
		}
		if len(want) > 0 && len(want) < len(profs) {
			matched++
		}
		if !slices.Equal(want, got) {
			onlyEval, onlySQL := diff(want, got)
			var p *profiles.Profile
			for _, x := range profs {
				if len(onlyEval) > 0 && x.User.ID == onlyEval[0] || len(onlyEval) == 0 && x.User.ID == onlySQL[0] {
					p = x
				}
			}
			pj, _ := json.MarshalIndent(struct {
				User   *profiles.User
				Events []profiles.Summary
				Recent profiles.Recent
				Apps   []profiles.AppUsage
			}{p.User, p.Events, p.Recent, p.Apps}, "", " ")
			t.Fatalf("seed %d filter %d disagrees: only Eval %v, only SQL %v\nfilter %s\nSQL %s\nargs %v\nfirst user %s",
				seed, i, onlyEval, onlySQL, src, where, args, pj)
		}
	}
	// The generator must produce filters that split the audience, or the
	// test proves little.
	if matched < filters/4 {
		t.Errorf("only %d of %d filters split the audience", matched, filters)
	}
}

func diff(a, b []int64) (onlyA, onlyB []int64) {
	for _, x := range a {
		if !slices.Contains(b, x) {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			onlyB = append(onlyB, x)
		}
	}
	return onlyA, onlyB
}

func mustParse(t *testing.T, src string) *segments.Filter {
	t.Helper()
	f, err := segments.Parse([]byte(src))
	if err != nil {
		t.Fatalf("generated filter %s: %v", src, err)
	}
	return f
}

// populate creates random users through /users/track's service, sessions
// and dropped tokens, and returns their profiles as Eval sees them.
func populate(t *testing.T, ctx context.Context, st *store.Store, rng *rand.Rand) []*profiles.Profile {
	box, _ := seal.New(make([]byte, 32))
	apps := profiles.NewAppService(st, box, nil)
	for _, a := range [][2]string{{"app-ios", "ios"}, {"app-and", "android"}} {
		if _, err := apps.Create(ctx, a[0], a[0], a[1]); err != nil {
			t.Fatal(err)
		}
	}
	svc := profiles.NewService(st, profiles.Options{})
	const users = 240 // a multiple of 15, the users per request
	var drops []profiles.TokenDrop
	for batch := 0; batch < users; batch += 15 {
		var attrs, events, purchases []map[string]any
		for i := batch; i < batch+15; i++ {
			ext := fmt.Sprintf("u%03d", i)
			a := map[string]any{"external_id": ext}
			maybe := func(key string, vals ...any) {
				if v := vals[rng.IntN(len(vals))]; v != nil {
					a[key] = v
				}
			}
			maybe("first_name", nil, "Ada", "ada", "Bob", "Zoë", "Ada Lovelace")
			maybe("country", nil, "US", "GB", "FR")
			maybe("email", nil, ext+"@example.com")
			maybe("push_subscribe", nil, "opted_in", "subscribed", "unsubscribed")
			maybe("email_subscribe", nil, "opted_in", "unsubscribed")
			maybe("plan", nil, "gold", "silver", "Gold", "gold plan", "", "ünï", 3.0)
			maybe("score", nil, 0.0, 1.0, 2.5, 10.0, -3.0, 100.0, "10")
			maybe("vip", nil, true, false, "true")
			maybe("signup", nil, isoAt(rng, -60, 60), isoAt(rng, -60, 60), 5.0)
			maybe("tags", nil, []any{"a"}, []any{"a", "b"}, []any{"c", "A"}, []any{}, "a")
			maybe("nums", nil, []any{1.0, 2.0}, []any{2.5}, []any{true, "x", 1.0})
			maybe("odd key", nil, "x", "y")
			var tokens []any
			for range rng.IntN(3) {
				app := []string{"app-ios", "app-and"}[rng.IntN(2)]
				tok := fmt.Sprintf("%064x", rng.Uint64())
				tokens = append(tokens, map[string]any{"app_id": app, "token": tok})
				if rng.IntN(4) == 0 {
					drops = append(drops, profiles.TokenDrop{AppID: app, TokenKey: tok, Reason: "Unregistered", At: diffNow})
				}
			}
			if len(tokens) > 0 {
				a["push_tokens"] = tokens
			}
			attrs = append(attrs, a)
			for range rng.IntN(7) {
				events = append(events, map[string]any{"external_id": ext, "name": []string{"open", "buy", "share"}[rng.IntN(3)], "time": isoAt(rng, -40, 0)})
			}
			for range rng.IntN(4) {
				purchases = append(purchases, map[string]any{"external_id": ext, "product_id": []string{"p1", "p2"}[rng.IntN(2)],
					"currency": "USD", "price": []float64{0.1, 0.2, 0.3, 1.99, 5}[rng.IntN(5)], "time": isoAt(rng, -40, 0)})
			}
		}
		body, _ := json.Marshal(map[string]any{"attributes": attrs, "events": events, "purchases": purchases})
		req, err := profiles.DecodeTrack(strings.NewReader(string(body)), diffNow, profiles.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Track(ctx, req)
		if err != nil || len(res.Errors) > 0 {
			t.Fatalf("track: %v %+v", err, res)
		}
	}
	if _, err := st.InvalidateTokens(ctx, drops); err != nil {
		t.Fatal(err)
	}
	ids, err := st.AudiencePage(ctx, "TRUE", nil, 0, 10*users)
	if err != nil || len(ids) != users {
		t.Fatalf("users: %d, %v", len(ids), err)
	}
	var sessions []profiles.Session
	for _, id := range ids {
		for range rng.IntN(6) {
			sessions = append(sessions, profiles.Session{UserID: id, AppID: []string{"app-ios", "app-and"}[rng.IntN(2)],
				Time: diffNow.Add(-time.Duration(rng.Int64N(int64(40 * 24 * time.Hour))))})
		}
	}
	if err := st.AddSessions(ctx, sessions); err != nil {
		t.Fatal(err)
	}
	profs, err := st.Profiles(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	today := diffNow.Unix() / 86400
	if err := st.LoadRecent(ctx, profs, today-segments.RecentDays); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(profs, func(a, b *profiles.Profile) int { return int(a.User.ID - b.User.ID) })
	return profs
}

// isoAt is a random time between fromDays and toDays around diffNow.
func isoAt(rng *rand.Rand, fromDays, toDays int) string {
	span := int64(toDays-fromDays) * int64(24*time.Hour)
	d := time.Duration(int64(fromDays)*int64(24*time.Hour) + rng.Int64N(span))
	return diffNow.Add(d).Truncate(time.Millisecond).Format(time.RFC3339Nano)
}
