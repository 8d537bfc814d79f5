package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
)

func TestTrackThenExport(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		if _, err := profiles.NewAppService(e.store, nil, nil).Create(context.Background(), "ios-1", "My iOS", "ios"); err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/users/track", `{
		  "attributes": [{"external_id": "u1", "first_name": "Ada", "email": "Ada@Example.com", "time_zone": "Europe/London",
		    "country": "gb", "dob": "1815-12-10", "push_subscribe": "opted_in", "plan": "gold", "visits": {"inc": 2},
		    "signup": "2024-01-02T03:04:05Z", "tags": ["a", "b"], "date_of_first_session": "2025-01-01T00:00:00Z",
		    "push_tokens": [{"app_id": "ios-1", "token": "ABCDEF0123", "device_id": "iphone-1"}]}],
		  "events": [{"external_id": "u1", "name": "viewed", "time": "2026-01-01T10:00:00Z", "properties": {"sku": "x", "n": 1}},
		             {"external_id": "u1", "name": "viewed", "time": "2026-01-02T10:00:00Z"}],
		  "purchases": [{"external_id": "u1", "product_id": "shoe", "currency": "usd", "price": 10.5, "quantity": 3, "time": "2026-01-03T00:00:00Z"}]
		}`)
		if r.status != http.StatusCreated {
			t.Fatalf("track: %d %s", r.status, r.body)
		}
		if got := string(r.body); !strings.Contains(got, `"message":"success","attributes_processed":1,"events_processed":2,"purchases_processed":1}`) {
			t.Fatalf("track response = %s", got)
		}
		u := e.export("u1")
		want := map[string]any{"external_id": "u1", "first_name": "Ada", "email": "ada@example.com", "time_zone": "Europe/London",
			"country": "GB", "dob": "1815-12-10", "push_subscribe": "opted_in", "email_subscribe": "subscribed", "total_revenue": 31.5}
		for k, v := range want {
			if u[k] != v {
				t.Errorf("export %s = %#v, want %#v", k, u[k], v)
			}
		}
		ca := u["custom_attributes"].(map[string]any)
		if ca["plan"] != "gold" || ca["visits"] != 2.0 || ca["signup"] != "2024-01-02T03:04:05.000Z" || fmt.Sprint(ca["tags"]) != "[a b]" {
			t.Errorf("custom_attributes = %v", ca)
		}
		ev := u["custom_events"].([]any)[0].(map[string]any)
		if ev["name"] != "viewed" || ev["count"] != 2.0 || ev["first"] != "2026-01-01T10:00:00.000Z" || ev["last"] != "2026-01-02T10:00:00.000Z" {
			t.Errorf("custom_events = %v", u["custom_events"])
		}
		pu := u["purchases"].([]any)[0].(map[string]any)
		if pu["name"] != "shoe" || pu["count"] != 3.0 {
			t.Errorf("purchases = %v", u["purchases"])
		}
		tok := u["push_tokens"].([]any)[0].(map[string]any)
		if tok["token"] != "abcdef0123" || tok["app"] != "My iOS" || tok["platform"] != "ios" || tok["device_id"] != "iphone-1" || tok["valid"] != true {
			t.Errorf("push_tokens = %v", u["push_tokens"])
		}
		if b, ok := u["random_bucket"].(float64); !ok || b < 0 || b > 9999 {
			t.Errorf("random_bucket = %v", u["random_bucket"])
		}
		// fields_to_export narrows the object
		narrow := e.export("u1", "first_name", "custom_attributes")
		if len(narrow) != 2 || narrow["first_name"] != "Ada" {
			t.Errorf("narrow export = %v", narrow)
		}
	})
}

func TestTrackPartialSuccessKeepsValidObjects(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		r := e.do("POST", "/users/track", `{
		  "attributes": [{"external_id": "ok", "first_name": "Grace", "time_zone": "Mars/Olympus"},
		                 {"first_name": "nobody"},
		                 {"external_id": "ok2", "$bad": 1, "good": true}],
		  "events": [{"external_id": "ok", "name": "e", "time": "yesterday"},
		             {"external_id": "ok", "name": "e2", "time": "2026-01-01T00:00:00Z"}]
		}`)
		if r.status != http.StatusCreated {
			t.Fatalf("track: %d %s", r.status, r.body)
		}
		m := r.json(t)
		if m["message"] != "success" || m["attributes_processed"] != 2.0 || m["events_processed"] != 1.0 {
			t.Fatalf("response = %s", r.body)
		}
		errs := m["errors"].([]any)
		type oe struct {
			array string
			index float64
			has   string
		}
		wantErrs := []oe{{"attributes", 0, "time_zone"}, {"attributes", 1, "'external_id' or 'braze_id' or 'user_alias' is required"}, {"attributes", 2, "$bad"}, {"events", 0, "'time'"}}
		if len(errs) != len(wantErrs) {
			t.Fatalf("errors = %v", errs)
		}
		for i, w := range wantErrs {
			got := errs[i].(map[string]any)
			if got["input_array"] != w.array || got["index"] != w.index || !strings.Contains(got["type"].(string), w.has) {
				t.Errorf("errors[%d] = %v, want %v", i, got, w)
			}
		}
		u := e.export("ok")
		if u["first_name"] != "Grace" || u["time_zone"] != nil {
			t.Errorf("valid fields of a partly bad object: %v", u)
		}
		if ca := e.export("ok2")["custom_attributes"].(map[string]any); ca["good"] != true || len(ca) != 1 {
			t.Errorf("ok2 custom attributes = %v", ca)
		}
	})
}

func TestTrackFatalErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	many := make([]string, 76)
	for i := range many {
		many[i] = fmt.Sprintf(`{"external_id":"u%d"}`, i)
	}
	cases := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"invalid json", `{"attributes": [`, 400, "Invalid JSON"},
		{"not an object", `[1,2]`, 400, "Invalid JSON"},
		{"empty", `{}`, 400, "attributes, events or purchases"},
		{"unknown key", `{"attributez": []}`, 400, "attributez"},
		{"too many", `{"attributes": [` + strings.Join(many, ",") + `]}`, 400, "Max Input Length Exceeded"},
		{"all invalid", `{"events": [{"external_id": "x"}]}`, 400, "nothing was processed"},
	}
	for _, c := range cases {
		r := e.do("POST", "/users/track", c.body)
		if r.status != c.status || !strings.Contains(r.json(t)["message"].(string), c.msg) {
			t.Errorf("%s: %d %s; want %d containing %q", c.name, r.status, r.body, c.status, c.msg)
		}
	}
	// a body over the limit is 413, also when gzip makes it small on the wire
	big := `{"attributes":[{"external_id":"x","s":"` + strings.Repeat("a", 5<<20) + `"}]}`
	if r := e.do("POST", "/users/track", big); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MB body: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/users/track", gzipped(t, big), "Content-Encoding", "gzip"); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MB gzipped body: %d %s", r.status, r.body)
	}
	// a body of exactly the limit is accepted, plain or gzipped; one byte more is 413
	base := `{"attributes":[{"external_id":"lim"}]}`
	exact := base + strings.Repeat(" ", 4<<20-len(base))
	for _, c := range []struct {
		body   string
		status int
	}{{exact, 201}, {exact + " ", 413}} {
		if r := e.do("POST", "/users/track", c.body); r.status != c.status {
			t.Errorf("plain body of %d bytes: %d, want %d", len(c.body), r.status, c.status)
		}
		if r := e.do("POST", "/users/track", gzipped(t, c.body), "Content-Encoding", "gzip"); r.status != c.status {
			t.Errorf("gzipped body of %d bytes: %d, want %d", len(c.body), r.status, c.status)
		}
	}
	good := gzipped(t, `{"attributes":[{"external_id":"gz","first_name":"Zip"}]}`)
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-5] ^= 0xff // checksum
	for name, body := range map[string][]byte{"corrupt": corrupt, "truncated": good[:len(good)-6], "not gzip": []byte("plain")} {
		if r := e.do("POST", "/users/track", body, "Content-Encoding", "gzip"); r.status != 400 {
			t.Errorf("%s gzip body: %d %s, want 400", name, r.status, r.body)
		}
	}
	if r := e.do("POST", "/users/track", good, "Content-Encoding", "gzip"); r.status != 201 {
		t.Errorf("gzip body: %d %s", r.status, r.body)
	} else if e.export("gz")["first_name"] != "Zip" {
		t.Errorf("gzip body not applied")
	}
}

func TestUnchangedAttributesRewriteNothing(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		body := `{"attributes":[{"external_id":"d1","first_name":"Ada","plan":"gold","tags":["x"]}]}`
		if r := e.do("POST", "/users/track", body); r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		ids, _, err := e.store.FindUserIDs(context.Background(), profiles.Lookup{ExternalIDs: []string{"d1"}})
		if err != nil {
			t.Fatal(err)
		}
		before, _ := e.store.Profiles(context.Background(), ids)
		time.Sleep(5 * time.Millisecond)
		req, err := profiles.DecodeTrack(strings.NewReader(body), time.Now(), profiles.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.Track(context.Background(), req)
		if err != nil || res.UsersChanged != 0 || res.AttributesProcessed != 1 {
			t.Fatalf("repeat track: changed=%d processed=%d err=%v", res.UsersChanged, res.AttributesProcessed, err)
		}
		after, _ := e.store.Profiles(context.Background(), ids)
		if !after[0].User.UpdatedAt.Equal(before[0].User.UpdatedAt) {
			t.Fatalf("unchanged write bumped updated_at: %v -> %v", before[0].User.UpdatedAt, after[0].User.UpdatedAt)
		}
	})
}

// Concurrent increments of one user from many requests lose nothing: users are
// locked for the read-modify-write.
func TestConcurrentIncrementsAreExact(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		const workers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan string, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					r := e.do("POST", "/users/track", `{"attributes":[{"external_id":"hot","n":{"inc":1}},{"external_id":"hot2","n":{"inc":1}}],
					  "events":[{"external_id":"hot","name":"tick","time":"2026-01-01T00:00:00Z"}]}`)
					if r.status != 201 {
						errs <- fmt.Sprintf("%d %s", r.status, r.body)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
		u := e.export("hot")
		if n := u["custom_attributes"].(map[string]any)["n"]; n != float64(workers*each) {
			t.Fatalf("n = %v, want %d", n, workers*each)
		}
		if c := u["custom_events"].([]any)[0].(map[string]any)["count"]; c != float64(workers*each) {
			t.Fatalf("event count = %v, want %d", c, workers*each)
		}
	})
}

func TestAliasIdentifyAndDelete(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		// an alias without _update_existing_only:false creates nobody, as in Braze
		r := e.do("POST", "/users/track", `{"attributes":[{"user_alias":{"alias_name":"anon-1","alias_label":"device"},"first_name":"Anon"}]}`)
		if r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		r = e.do("POST", "/users/export/ids", `{"user_aliases":[{"alias_name":"anon-1","alias_label":"device"}]}`)
		if got := r.json(t); len(got["users"].([]any)) != 0 || fmt.Sprint(got["invalid_user_ids"]) != "[device:anon-1]" {
			t.Fatalf("alias-only user created implicitly: %s", r.body)
		}
		r = e.do("POST", "/users/track", `{"attributes":[{"user_alias":{"alias_name":"anon-1","alias_label":"device"},"_update_existing_only":false,
		  "first_name":"Anon","city_visits":3,"shared":"from-alias"}],
		  "events":[{"user_alias":{"alias_name":"anon-1","alias_label":"device"},"name":"browsed","time":"2026-01-01T00:00:00Z"}]}`)
		if r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := e.do("POST", "/users/track", `{"attributes":[{"external_id":"known","last_name":"Known","shared":"from-known"}],
		  "events":[{"external_id":"known","name":"browsed","time":"2026-02-01T00:00:00Z"}]}`); r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		// identify merges the alias-only profile into the identified one
		r = e.do("POST", "/users/identify", `{"aliases_to_identify":[{"external_id":"known","user_alias":{"alias_name":"anon-1","alias_label":"device"}}]}`)
		if r.status != 201 || r.json(t)["aliases_processed"] != 1.0 {
			t.Fatalf("identify: %d %s", r.status, r.body)
		}
		u := e.export("known")
		ca := u["custom_attributes"].(map[string]any)
		if u["first_name"] != "Anon" || u["last_name"] != "Known" || ca["shared"] != "from-known" || ca["city_visits"] != 3.0 {
			t.Fatalf("merged profile = %v", u)
		}
		if ev := u["custom_events"].([]any)[0].(map[string]any); ev["count"] != 2.0 {
			t.Fatalf("merged events = %v", u["custom_events"])
		}
		if al := fmt.Sprint(u["user_aliases"]); !strings.Contains(al, "anon-1") {
			t.Fatalf("alias did not move: %v", al)
		}
		// alias/new: attach to an existing user, create an alias-only user, refuse a taken alias
		r = e.do("POST", "/users/alias/new", `{"user_aliases":[{"external_id":"known","alias_name":"crm-7","alias_label":"crm"},
		  {"alias_name":"lead-1","alias_label":"crm"},{"external_id":"ghost","alias_name":"x","alias_label":"crm"},
		  {"external_id":"known","alias_name":"lead-1","alias_label":"crm"}]}`)
		m := r.json(t)
		if r.status != 201 || m["aliases_processed"] != 2.0 || len(m["errors"].([]any)) != 2 {
			t.Fatalf("alias/new: %d %s", r.status, r.body)
		}
		// identify an alias-only user whose external id is new: it takes the id
		r = e.do("POST", "/users/identify", `{"aliases_to_identify":[{"external_id":"lead-user","user_alias":{"alias_name":"lead-1","alias_label":"crm"}}]}`)
		if r.status != 201 {
			t.Fatalf("identify new: %d %s", r.status, r.body)
		}
		if u := e.export("lead-user"); fmt.Sprint(u["user_aliases"]) == "" {
			t.Fatalf("identified user = %v", u)
		}
		// delete
		r = e.do("POST", "/users/delete", `{"external_ids":["known","lead-user","nobody"]}`)
		if r.status != 201 || r.json(t)["deleted"] != 2.0 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		r = e.do("POST", "/users/export/ids", `{"external_ids":["known"]}`)
		if len(r.json(t)["users"].([]any)) != 0 {
			t.Fatalf("deleted user still exported: %s", r.body)
		}
		if r := e.do("POST", "/users/delete", `{"external_ids":["a"],"braze_ids":["b"]}`); r.status != 400 {
			t.Fatalf("delete with two identifier kinds: %d %s", r.status, r.body)
		}
	})
}

func TestWebPushTokensAreOneDevicePerEndpoint(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		if r := e.do("POST", "/manage/apps", `{"id":"web-1","name":"Web","platform":"web"}`); r.status != 201 {
			t.Fatalf("create app: %d %s", r.status, r.body)
		}
		p256 := "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
		auth := "tBHItJI5svbpez7KI4CCXg"
		sub1 := fmt.Sprintf(`{"endpoint":"https://push.example.com/send/abc","keys":{"p256dh":"%s","auth":"%s"}}`, p256, auth)
		sub2 := fmt.Sprintf(`{"keys":{"auth":"%s","p256dh":"%s"},"endpoint":"https://push.example.com/send/abc"}`, auth, p256)
		track := func(user, sub string) response {
			body := map[string]any{"attributes": []any{map[string]any{"external_id": user,
				"push_tokens": []any{map[string]any{"app_id": "web-1", "token": sub}}}}}
			return e.do("POST", "/users/track", body)
		}
		if r := track("w1", sub1); r.status != 201 || r.json(t)["errors"] != nil {
			t.Fatalf("track: %d %s", r.status, r.body)
		}
		if r := track("w1", sub2); r.status != 201 {
			t.Fatalf("track: %d %s", r.status, r.body)
		}
		if toks := e.export("w1")["push_tokens"].([]any); len(toks) != 1 {
			t.Fatalf("same subscription twice gave %d devices", len(toks))
		}
		// registering it for another user moves it there
		if r := track("w2", sub2); r.status != 201 {
			t.Fatalf("track: %d %s", r.status, r.body)
		}
		if toks := e.export("w1")["push_tokens"]; toks != nil {
			t.Fatalf("old owner still has the token: %v", toks)
		}
		if toks := e.export("w2")["push_tokens"].([]any); len(toks) != 1 {
			t.Fatalf("new owner has %d tokens", len(toks))
		}
		// a bad subscription is an error naming the token, the rest of the object is kept
		r := e.do("POST", "/users/track", `{"attributes":[{"external_id":"w3","first_name":"W","push_tokens":[{"app_id":"web-1","token":"{\"endpoint\":\"ftp://x\"}"},{"app_id":"nope","token":"t"}]}]}`)
		m := r.json(t)
		if r.status != 201 || len(m["errors"].([]any)) != 2 || e.export("w3")["first_name"] != "W" {
			t.Fatalf("bad tokens: %d %s", r.status, r.body)
		}
	})
}

func TestBulkHeaderUsesBulkLane(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	r := e.do("POST", "/users/track", `{"attributes":[{"external_id":"bulk-1","first_name":"B"}]}`, "X-Braze-Bulk", "true")
	if r.status != 201 {
		t.Fatalf("bulk track: %d %s", r.status, r.body)
	}
	if e.export("bulk-1")["first_name"] != "B" {
		t.Fatal("bulk update not applied")
	}
	m := e.do("GET", "/metrics", nil)
	if !strings.Contains(string(m.body), `herald_http_requests_total{code="201",route="POST /users/track"}`) {
		t.Fatalf("metrics missing request counter:\n%s", m.body)
	}
}

// Concurrent requests are merged into shared transactions; each still gets
// exactly its own counts and errors.
func TestConcurrentRequestsKeepTheirOwnResults(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		const n = 24
		var wg sync.WaitGroup
		type out struct {
			status int
			body   map[string]any
		}
		outs := make([]out, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// request i has i+1 attribute objects and i%3 invalid events
				var attrs, evs []string
				for k := 0; k <= i; k++ {
					attrs = append(attrs, fmt.Sprintf(`{"external_id":"g%d-%d","n":{"inc":1},"shared":{"inc":1}}`, i, k))
				}
				for k := 0; k < i%3; k++ {
					evs = append(evs, fmt.Sprintf(`{"external_id":"g%d-0","name":"e"}`, i))
				}
				evs = append(evs, fmt.Sprintf(`{"external_id":"g%d-0","name":"ok","time":"2026-01-01T00:00:00Z"}`, i))
				body := `{"attributes":[` + strings.Join(attrs, ",") + `],"events":[` + strings.Join(evs, ",") + `]}`
				r := e.do("POST", "/users/track", body)
				var m map[string]any
				_ = json.Unmarshal(r.body, &m)
				outs[i] = out{r.status, m}
			}(i)
		}
		wg.Wait()
		for i, o := range outs {
			if o.status != 201 || o.body["attributes_processed"] != float64(i+1) || o.body["events_processed"] != 1.0 {
				t.Fatalf("request %d: %d %v", i, o.status, o.body)
			}
			errs, _ := o.body["errors"].([]any)
			if len(errs) != i%3 {
				t.Fatalf("request %d has %d errors, want %d: %v", i, len(errs), i%3, errs)
			}
			for k, e := range errs {
				if e.(map[string]any)["index"] != float64(k) || e.(map[string]any)["input_array"] != "events" {
					t.Fatalf("request %d error %d = %v", i, k, e)
				}
			}
		}
		if n := e.export("g23-5")["custom_attributes"].(map[string]any)["n"]; n != 1.0 {
			t.Fatalf("g23-5 n = %v", n)
		}
	})
}

// Clients retrying /users/identify after a timeout send the same merge several
// times at once; every copy gets an answer and the merge happens once.
func TestConcurrentIdentifyOfTheSameAlias(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		for round := 0; round < 15; round++ {
			alias := fmt.Sprintf(`{"alias_name":"anon-%d","alias_label":"device"}`, round)
			ext := fmt.Sprintf("known-%d", round)
			if r := e.do("POST", "/users/track", `{"attributes":[{"user_alias":`+alias+`,"_update_existing_only":false,"a":1},
			  {"external_id":"`+ext+`","b":2}]}`); r.status != 201 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var wg sync.WaitGroup
			statuses := make([]int, 3)
			for k := range statuses {
				wg.Add(1)
				go func(k int) {
					defer wg.Done()
					r := e.do("POST", "/users/identify", `{"aliases_to_identify":[{"external_id":"`+ext+`","user_alias":`+alias+`}]}`)
					statuses[k] = r.status
				}(k)
			}
			wg.Wait()
			ok := 0
			for _, st := range statuses {
				if st == 201 {
					ok++
				} else if st != 400 {
					t.Fatalf("round %d: identify answered %v", round, statuses)
				}
			}
			if ok == 0 {
				t.Fatalf("round %d: no identify succeeded: %v", round, statuses)
			}
			u := e.export(ext)
			if ca := u["custom_attributes"].(map[string]any); ca["a"] != 1.0 || ca["b"] != 2.0 {
				t.Fatalf("round %d: merged attributes %v", round, ca)
			}
		}
	})
}

// _update_existing_only applies in order: an update-only object before the one
// that creates a user skips it, and an object that fails creates nobody.
func TestCreationFollowsObjectOrder(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		r := e.do("POST", "/users/track", `{"attributes":[{"external_id":"o1","_update_existing_only":true,"a":1},{"external_id":"o1","b":2}]}`)
		if r.status != 201 || r.json(t)["attributes_processed"] != 2.0 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		ca := e.export("o1")["custom_attributes"].(map[string]any)
		if ca["b"] != 2.0 || ca["a"] != nil {
			t.Fatalf("o1 custom attributes = %v; want only b", ca)
		}
		r = e.do("POST", "/users/track", `{"events":[{"external_id":"ghost","name":"e","time":"2026-01-01T00:00:00Z","app_id":"nope"}]}`)
		if r.status != 400 {
			t.Fatalf("event with an unknown app: %d %s", r.status, r.body)
		}
		r = e.do("POST", "/users/export/ids", `{"external_ids":["ghost"]}`)
		if users := r.json(t)["users"].([]any); len(users) != 0 {
			t.Fatalf("a failed event created its user: %s", r.body)
		}
	})
}
