package segments_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/store"
)

// benchNow is the time BenchmarkEval evaluates at.
var benchNow = time.Date(2026, 11, 29, 10, 30, 0, 0, time.UTC)

// benchProfile is a heavy user: 100 custom attributes of every type, three
// devices (one invalid), two apps, eight events and a month of day rollups.
func benchProfile() *profiles.Profile {
	now, today := benchNow, benchNow.Unix()/86400
	day := 24 * time.Hour
	custom := profiles.Custom{
		"plan": "pro", "score": 742.0, "vip": true, "lifetime_orders": 17.0,
		"signup_at": now.Add(-400 * day), "last_order_at": now.Add(-3 * day), "trial_ends_at": now.Add(5 * day),
		"favorite_categories": []any{"shoes", "books", "travel"}, "favorite_brands": []any{"acme", "globex"},
		"wishlist_ids": []any{101.0, 205.0, 333.0}, "loyalty_tier": "gold", "city_tier": 1.0,
		"newsletter": false, "app_version": "5.12.3", "referral_code": "SPRING-2026-AB12",
		"preferred_language": "en-GB", "cart_value": 129.99, "beta_tester": false, "birthday_month": 4.0,
		"last_campaign": "black_friday_2026",
	}
	for i := len(custom); i < 100; i++ {
		key := fmt.Sprintf("attr_%02d", i)
		switch i % 5 {
		case 0:
			custom[key] = fmt.Sprintf("value-%d", i)
		case 1:
			custom[key] = float64(i) * 1.5
		case 2:
			custom[key] = i%2 == 0
		case 3:
			custom[key] = now.Add(-time.Duration(i) * 24 * time.Hour)
		default:
			custom[key] = []any{fmt.Sprintf("x-%d", i), fmt.Sprintf("y-%d", i), float64(i)}
		}
	}
	p := &profiles.Profile{
		User: &profiles.User{
			ID: 42, ExternalID: "user-42", RandomBucket: 4321, TotalRevenue: 612.5,
			Standard: profiles.Standard{FirstName: "Ada", LastName: "Lovelace", Email: "ada@gmail.com", Country: "GB",
				Language: "en", TimeZone: "Europe/London", PushSubscribe: "opted_in"},
			Custom:        custom,
			LastSessionAt: now.Add(-5 * time.Hour), FirstSessionAt: now.Add(-400 * day),
		},
		Devices: []profiles.Device{{AppID: "app-ios", Platform: "ios", PushEnabled: true},
			{AppID: "app-and", Platform: "android", PushEnabled: true, InvalidAt: now.Add(-10 * day)},
			{AppID: "app-web", Platform: "web", PushEnabled: false}},
		Apps: []profiles.AppUsage{{AppID: "app-ios", Sessions: 312}, {AppID: "app-web", Sessions: 41}},
	}
	events := []string{"app_open", "view_item", "add_to_cart", "purchase_completed", "search", "share", "rate_app", "level_up"}
	for i, name := range events {
		p.Events = append(p.Events, profiles.Summary{Name: name, First: now.Add(-time.Duration(300-i) * day),
			Last: now.Add(-time.Duration(i*3) * day), Count: int64(200 - 20*i)})
		for d := int64(0); d < segments.RecentDays; d += int64(1 + i%3) {
			p.Recent.Events = append(p.Recent.Events, profiles.DayCount{Name: name, Day: today - d, Count: 1 + d%4})
		}
	}
	for d := int64(0); d < segments.RecentDays; d++ {
		p.Recent.Sessions = append(p.Recent.Sessions, profiles.DayCount{Day: today - d, Count: 1 + d%3})
		if d%6 == 0 {
			p.Recent.Purchases = append(p.Recent.Purchases, profiles.DayCount{Name: fmt.Sprintf("sku-%d", 120+d%5),
				Day: today - d, Count: 1, Revenue: 19.99 + float64(d)})
		}
	}
	return p
}

// benchLeaves are realistic leaves over benchProfile's data; some match it,
// some do not.
var benchLeaves = []string{
	`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"pro"}}`,
	`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"not_equal","value":"free"}}`,
	`{"custom_attribute":{"custom_attribute_name":"score","comparison":"greater_than","value":500}}`,
	`{"custom_attribute":{"custom_attribute_name":"lifetime_orders","comparison":"less_than_or_equal_to","value":3}}`,
	`{"custom_attribute":{"custom_attribute_name":"vip","comparison":"equals","value":true}}`,
	`{"custom_attribute":{"custom_attribute_name":"beta_tester","comparison":"does_not_equal","value":true}}`,
	`{"custom_attribute":{"custom_attribute_name":"signup_at","comparison":"greater_than_x_days_ago","value":365}}`,
	`{"custom_attribute":{"custom_attribute_name":"last_order_at","comparison":"less_than_x_days_ago","value":7}}`,
	`{"custom_attribute":{"custom_attribute_name":"trial_ends_at","comparison":"less_than_x_days_in_the_future","value":3}}`,
	`{"custom_attribute":{"custom_attribute_name":"favorite_categories","comparison":"includes_value","value":"travel"}}`,
	`{"custom_attribute":{"custom_attribute_name":"wishlist_ids","comparison":"includes_value","value":205}}`,
	`{"custom_attribute":{"custom_attribute_name":"favorite_brands","comparison":"does_not_include_value","value":"initech"}}`,
	`{"custom_attribute":{"custom_attribute_name":"referral_code","comparison":"matches_regex","value":"^SPRING-20[0-9]{2}-"}}`,
	`{"custom_attribute":{"custom_attribute_name":"app_version","comparison":"matches_regex","value":"^5\\.(1[0-9]|[2-9][0-9])\\."}}`,
	`{"custom_attribute":{"custom_attribute_name":"last_campaign","comparison":"does_not_match_regex","value":"(?i)black_friday"}}`,
	`{"custom_attribute":{"custom_attribute_name":"churn_risk","comparison":"does_not_exist"}}`,
	`{"custom_attribute":{"custom_attribute_name":"cart_value","comparison":"greater_than_or_equal_to","value":100}}`,
	`{"custom_attribute":{"custom_attribute_name":"attr_47","comparison":"exists"}}`,
	`{"custom_attribute":{"custom_attribute_name":"attr_63","comparison":"before","value":"2026-11-01T00:00:00Z"}}`,
	`{"attribute":{"name":"country","comparison":"equals","value":"GB"}}`,
	`{"attribute":{"name":"language","comparison":"not_equal","value":"fr"}}`,
	`{"attribute":{"name":"email","comparison":"matches_regex","value":"(?i)@(gmail|googlemail)\\.com$"}}`,
	`{"attribute":{"name":"time_zone","comparison":"matches_regex","value":"^Europe/"}}`,
	`{"push_subscription_status":{"comparison":"is","value":"opted_in"}}`,
	`{"email_subscription_status":{"comparison":"is_not","value":"unsubscribed"}}`,
	`{"push_enabled":{}}`,
	`{"push_enabled":{"platform":"android"}}`,
	`{"last_used_app":{"comparison":"less_than_x_days_ago","value":7}}`,
	`{"first_used_app":{"comparison":"greater_than_x_days_ago","value":90}}`,
	`{"session_count":{"comparison":"greater_than","value":20}}`,
	`{"sessions_in_last_x_days":{"days":7,"comparison":"greater_than_or_equal_to","value":3}}`,
	`{"custom_event":{"event_name":"add_to_cart","comparison":"more_than","count":2,"days":7}}`,
	`{"custom_event":{"event_name":"view_item","comparison":"less_than","count":5,"days":30}}`,
	`{"custom_event_last_did":{"event_name":"purchase_completed","comparison":"greater_than_x_days_ago","value":14}}`,
	`{"custom_event_first_did":{"event_name":"share","comparison":"never"}}`,
	`{"purchase":{"product_id":"sku-123","comparison":"more_than","count":0,"days":30}}`,
	`{"money_spent":{"comparison":"greater_than","value":250,"days":30}}`,
	`{"random_bucket":{"comparison":"less_than","value":5000}}`,
}

// benchFilters combines benchLeaves into n distinct filters of 2 to 6 leaves
// in four shapes: AND, OR, AND with a NOT, and AND with a nested OR.
func benchFilters(b *testing.B, n int) []*segments.Filter {
	b.Helper()
	seen := map[string]bool{}
	var out []*segments.Filter
	for i := range n {
		k := 2 + i%5
		l := make([]string, k)
		for j := range l {
			l[j] = benchLeaves[(7*i+11*j)%len(benchLeaves)]
		}
		var src string
		switch i % 4 {
		case 0:
			src = `{"AND":[` + strings.Join(l, ",") + `]}`
		case 1:
			src = `{"OR":[` + strings.Join(l, ",") + `]}`
		case 2:
			src = `{"AND":[` + strings.Join(append([]string{l[0], `{"NOT":` + l[1] + `}`}, l[2:]...), ",") + `]}`
		default:
			src = `{"AND":[` + l[0] + `,{"OR":[` + strings.Join(l[1:], ",") + `]}]}`
		}
		f, err := segments.Parse([]byte(src))
		if err != nil {
			b.Fatalf("filter %d %s: %v", i, src, err)
		}
		if seen[src] {
			b.Fatalf("filter %d repeats %s", i, src)
		}
		seen[src] = true
		out = append(out, f)
	}
	return out
}

// BenchmarkEval evaluates one profile with 100 custom attributes against 50
// filters: one op is the whole profile-against-all-50 check that session
// start makes.
func BenchmarkEval(b *testing.B) {
	p := benchProfile()
	filters := benchFilters(b, 50)
	matched := 0
	b.ReportAllocs()
	for b.Loop() {
		matched = 0
		for _, f := range filters {
			if f.Eval(p, benchNow) {
				matched++
			}
		}
	}
	perProfile := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perProfile, "ns/profile")
	b.ReportMetric(perProfile/float64(len(filters)), "ns/filter")
	b.ReportMetric(float64(matched), "matched")
}

// benchUsers is the population of BenchmarkSizePostgres1M.
const benchUsers = 1_000_000

// BenchmarkSizePostgres1M times the exact size of typical segments (the
// count behind GET /manage/segments/{id}/size) over a million users on
// PostgreSQL. The population is loaded once with raw SQL, outside the timers;
// each sub-benchmark counts once untimed (warming the cache) before its timed
// counts. A count slower than 5 s logs its EXPLAIN ANALYZE.
func BenchmarkSizePostgres1M(b *testing.B) {
	ctx := context.Background()
	dsn := testdeps.Postgres(b)
	st, err := store.Open(ctx, store.Options{Driver: "postgres", PostgresDSN: dsn, PostgresMaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	start := time.Now()
	if err := populatePostgres(ctx, db, now, benchUsers); err != nil {
		b.Fatal(err)
	}
	b.Logf("populated %d users in %v", benchUsers, time.Since(start).Round(time.Millisecond))

	for _, c := range []struct{ name, filter string }{
		{"country+score+event7d", `{"AND":[
			{"attribute":{"name":"country","comparison":"equals","value":"US"}},
			{"custom_attribute":{"custom_attribute_name":"score","comparison":"greater_than","value":500}},
			{"custom_event":{"event_name":"add_to_cart","comparison":"more_than","count":2,"days":7}}]}`},
		{"push_enabled+last_used+plan", `{"AND":[
			{"push_enabled":{}},
			{"last_used_app":{"comparison":"less_than_x_days_ago","value":7}},
			{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"pro"}}]}`},
		{"bucket_range+email+includes", `{"AND":[
			{"random_bucket":{"comparison":"greater_than_or_equal_to","value":1000}},
			{"random_bucket":{"comparison":"less_than","value":3000}},
			{"email_subscription_status":{"comparison":"is","value":"opted_in"}},
			{"custom_attribute":{"custom_attribute_name":"favorite_categories","comparison":"includes_value","value":"travel"}}]}`},
		{"lapsed_buyers+push_opted_in+regex", `{"AND":[
			{"custom_event_last_did":{"event_name":"purchase_completed","comparison":"greater_than_x_days_ago","value":14}},
			{"push_subscription_status":{"comparison":"is","value":"opted_in"}},
			{"attribute":{"name":"email","comparison":"matches_regex","value":"(?i)@gmail\\.com$"}}]}`},
		{"vip_or_not_ios", `{"OR":[
			{"custom_attribute":{"custom_attribute_name":"vip","comparison":"equals","value":true}},
			{"AND":[{"custom_attribute":{"custom_attribute_name":"lifetime_orders","comparison":"greater_than_or_equal_to","value":10}},
				{"NOT":{"push_enabled":{"platform":"ios"}}}]}]}`},
	} {
		f, err := segments.Parse([]byte(c.filter))
		if err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		where, args, err := f.SQL(segments.Postgres, now)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			size, err := st.CountWhere(ctx, where, args)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := st.CountWhere(ctx, where, args); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			perCount := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perCount, "s/count")
			b.ReportMetric(float64(size), "users")
			if perCount > 5 {
				explainCount(b, db, where, args)
			}
		})
	}
}

// explainCount logs the plan of a slow count.
func explainCount(b *testing.B, db *sql.DB, where string, args []any) {
	var q strings.Builder
	n := 0
	for _, r := range "EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM users u WHERE (" + where + ")" {
		if r == '?' { // segments never writes ? inside a literal
			n++
			fmt.Fprintf(&q, "$%d", n)
			continue
		}
		q.WriteRune(r)
	}
	rows, err := db.Query(q.String(), args...)
	if err != nil {
		b.Errorf("explain: %v", err)
		return
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Errorf("explain: %v", err)
			return
		}
		plan.WriteString(line + "\n")
	}
	b.Logf("slow count:\n%s", plan.String())
}

// populatePostgres loads n users with raw SQL: skewed countries, languages,
// emails and subscription states, custom attributes of every type (a few
// scores are strings), a last session in the last 60 days for 80%, day
// rollups of events over the last 40 days for about a third, and push tokens
// for 60% (12% invalid, 10% disabled). Random draws come from MATERIALIZED
// CTEs, so each is made once per row.
func populatePostgres(ctx context.Context, db *sql.DB, now time.Time, n int) error {
	nowMS, today := now.UnixMilli(), now.Unix()/86400
	stmts := []struct {
		q    string
		args []any
	}{
		{"SELECT setseed(0.42)", nil},
		{`INSERT INTO apps (id, name, platform, sdk_key, source, created_at, updated_at) VALUES
			('app-ios', 'iOS', 'ios', 'sdk-ios', 'api', $1, $1),
			('app-and', 'Android', 'android', 'sdk-and', 'api', $1, $1),
			('app-web', 'Web', 'web', 'sdk-web', 'api', $1, $1)`, []any{nowMS}},
		{`WITH r AS MATERIALIZED (
			SELECT g, random() AS rc, random() AS rp, random() AS re, random() AS rb, random() AS rs, random() AS rs2,
			       random() AS rplan, random() AS rv, random() AS ro, floor(random() * 32)::int AS mask, random() AS rl,
			       random() AS rcr, random() AS rrev, random() AS rn, random() AS rm
			FROM generate_series(1, $2::int) g
		), c AS MATERIALIZED (
			SELECT r.*, CASE WHEN rc < .28 THEN 'US' WHEN rc < .40 THEN 'IN' WHEN rc < .50 THEN 'GB' WHEN rc < .59 THEN 'DE'
				WHEN rc < .67 THEN 'BR' WHEN rc < .74 THEN 'FR' WHEN rc < .79 THEN 'CA' WHEN rc < .84 THEN 'JP'
				WHEN rc < .88 THEN 'ES' WHEN rc < .92 THEN 'MX' END AS country,
				$1::bigint - (rcr * 730 * 86400000)::bigint AS created,
				CASE WHEN rl < .8 THEN $1::bigint - (power(rl / .8, 2) * 60 * 86400000)::bigint END AS last_session
			FROM r
		)
		INSERT INTO users (external_id, random_bucket, created_at, updated_at, first_name, email, country, language, time_zone,
			push_subscribe, email_subscribe, custom, total_revenue, first_session_at, last_session_at)
		SELECT 'user-' || g, floor(rb * 10000)::bigint, created, $1,
			(ARRAY['Ada','Grace','Alan','Linus','Zoë','Miguel','Priya','Wei'])[1 + floor(rn * 8)::int],
			CASE WHEN rm < .85 THEN 'user' || g || (ARRAY['@gmail.com','@hotmail.com','@yahoo.com','@outlook.com','@example.org'])[1 + floor(rm / .85 * 5)::int] END,
			country,
			CASE country WHEN 'US' THEN 'en' WHEN 'GB' THEN 'en' WHEN 'CA' THEN 'en' WHEN 'IN' THEN 'hi' WHEN 'DE' THEN 'de'
				WHEN 'BR' THEN 'pt' WHEN 'FR' THEN 'fr' WHEN 'JP' THEN 'ja' WHEN 'ES' THEN 'es' WHEN 'MX' THEN 'es' END,
			CASE country WHEN 'US' THEN 'America/New_York' WHEN 'GB' THEN 'Europe/London' WHEN 'DE' THEN 'Europe/Berlin'
				WHEN 'FR' THEN 'Europe/Paris' WHEN 'IN' THEN 'Asia/Kolkata' WHEN 'JP' THEN 'Asia/Tokyo' END,
			CASE WHEN rp < .45 THEN 'opted_in' WHEN rp < .9 THEN 'subscribed' ELSE 'unsubscribed' END,
			CASE WHEN re < .25 THEN 'opted_in' WHEN re < .85 THEN 'subscribed' ELSE 'unsubscribed' END,
			jsonb_strip_nulls(jsonb_build_object(
				'plan', CASE WHEN rplan < .6 THEN 'free' WHEN rplan < .85 THEN 'basic' WHEN rplan < .97 THEN 'pro' ELSE 'enterprise' END,
				'score', CASE WHEN rs < .02 THEN to_jsonb(floor(rs2 * 1000)::text) WHEN rs < .1 THEN NULL ELSE to_jsonb(floor(rs2 * 1000)::int) END,
				'vip', CASE WHEN rv < .5 THEN rv < .03 END,
				'lifetime_orders', floor(power(ro, 3) * 50)::int,
				'favorite_categories', (SELECT jsonb_agg(cat ORDER BY i) FROM unnest(ARRAY['shoes','books','games','music','travel'])
					WITH ORDINALITY AS x(cat, i) WHERE (mask >> (i::int - 1)) & 1 = 1),
				'last_order_at', CASE WHEN ro < .5 THEN jsonb_build_object('$time',
					to_char(to_timestamp(($1::bigint - (ro * 90 * 86400000)::bigint) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) END)),
			CASE WHEN rrev < .3 THEN round((power(rrev / .3, 2) * 2000)::numeric, 2) ELSE 0 END,
			CASE WHEN last_session IS NOT NULL THEN LEAST(created, last_session) END, last_session
		FROM c`, []any{nowMS, n}},
		{`WITH e AS MATERIALIZED (
			SELECT u.id AS user_id,
				(ARRAY['app_open','app_open','app_open','view_item','view_item','add_to_cart','purchase_completed','share'])[1 + floor(random() * 8)::int] AS name,
				u.last_session / 86400000 - floor(random() * (u.last_session / 86400000 - $2::bigint + 41))::bigint AS day,
				1 + floor(random() * 3)::bigint AS c
			FROM (SELECT id, last_session_at AS last_session, random_bucket FROM users
				WHERE last_session_at >= $1::bigint - 40 * 86400000::bigint AND random() < .5) u,
				generate_series(1, 1 + (u.random_bucket % 20)::int)
		)
		INSERT INTO user_event_days (user_id, name, day, count, first_at, last_at)
		SELECT user_id, name, day, SUM(c), day * 86400000 + 8 * 3600000, LEAST(day * 86400000 + 20 * 3600000, $1::bigint)
		FROM e GROUP BY user_id, name, day`, []any{nowMS, today}},
		{`WITH d AS MATERIALIZED (
			SELECT u.id AS user_id, k, random() AS ra, random() AS ri, random() AS rp
			FROM (SELECT id FROM users WHERE random() < .6) u, generate_series(1, 1 + (u.id % 7 = 0)::int) k
		)
		INSERT INTO devices (user_id, app_id, platform, token_key, token, push_enabled, invalid_at, invalid_reason, created_at, updated_at)
		SELECT user_id, CASE WHEN ra < .45 THEN 'app-ios' WHEN ra < .9 THEN 'app-and' ELSE 'app-web' END,
			CASE WHEN ra < .45 THEN 'ios' WHEN ra < .9 THEN 'android' ELSE 'web' END,
			'tok-' || user_id || '-' || k, 'tok-' || user_id || '-' || k, rp >= .1,
			CASE WHEN ri < .12 THEN $1::bigint END, CASE WHEN ri < .12 THEN 'Unregistered' END, $1, $1
		FROM d`, []any{nowMS}},
		{"ANALYZE", nil},
	}
	conn, err := db.Conn(ctx) // setseed holds for one session
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("%.60s: %w", s.q, err)
		}
	}
	return nil
}
