package api_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// createSegment creates a segment and returns its id.
func (e *env) createSegment(name, filter string) string {
	e.t.Helper()
	r := e.do("POST", "/manage/segments", `{"name":`+fmt.Sprintf("%q", name)+`,"filter":`+filter+`}`)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create segment %s: %d %s", name, r.status, r.body)
	}
	return r.json(e.t)["id"].(string)
}

// track posts a /users/track body and fails unless it is accepted.
func (e *env) track(body string) {
	e.t.Helper()
	if r := e.do("POST", "/users/track", body); r.status != http.StatusCreated {
		e.t.Fatalf("track: %d %s", r.status, r.body)
	}
}

// problem reports whether a 400 body names field with a reason containing reason.
func problem(r response, field, reason string) bool {
	return r.status == http.StatusBadRequest && strings.Contains(string(r.body), `{"field":"`+field+`","reason":"`) &&
		strings.Contains(string(r.body), reason)
}

// sorted renders a JSON list of strings sorted.
func sorted(v any) string {
	var ss []string
	for _, x := range v.([]any) {
		ss = append(ss, x.(string))
	}
	sort.Strings(ss)
	return fmt.Sprint(ss)
}

const goldFilter = `{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"gold"}}`

func TestSegmentsManagement(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		r := e.do("POST", "/manage/segments", `{"name":" Gold ","filter":{"AND":[`+goldFilter+`]}}`)
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		sg := r.json(t)
		gold := sg["id"].(string)
		if len(gold) != 36 || sg["name"] != "Gold" || sg["created_at"] == "" || sg["updated_at"] != sg["created_at"] {
			t.Fatalf("created segment = %s", r.body)
		}
		if !strings.Contains(string(r.body), `"filter":{"AND":[{"custom_attribute":{"comparison":"equals","custom_attribute_name":"plan","value":"gold"}}]}`) {
			t.Fatalf("the filter is not returned in canonical form: %s", r.body)
		}
		if r := e.do("GET", "/manage/segments/"+gold, nil); r.status != 200 || r.json(t)["name"] != "Gold" {
			t.Fatalf("get: %d %s", r.status, r.body)
		}

		// validation names every bad field with its path
		bad := `{"name":"","filter":{"AND":[{"random_bucket":{"comparison":"less_than","value":10}},
			{"OR":[{"custom_attribute":{"custom_attribute_name":"age","comparison":"greater","value":3}}]}]}}`
		r = e.do("POST", "/manage/segments", bad)
		if !problem(r, "name", "required") || !problem(r, "filter.AND[1].OR[0].comparison", `unknown comparison \"greater\" for number`) {
			t.Fatalf("invalid segment: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/manage/segments", `{"name":"x"}`); !problem(r, "filter", "required") {
			t.Fatalf("missing filter: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/manage/segments", `{"name":"x","filter":[1]}`); !problem(r, "filter", "want an object") {
			t.Fatalf("filter not an object: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/manage/segments", `{"name":"x","filter":{},"color":1}`); r.status != 400 || !strings.Contains(string(r.body), "color") {
			t.Fatalf("unknown field: %d %s", r.status, r.body)
		}
		missingRef := `{"segment":{"segment_id":"no-such-segment","comparison":"in"}}`
		if r := e.do("POST", "/manage/segments", `{"name":"x","filter":`+missingRef+`}`); !problem(r, "filter", `no-such-segment\" do not exist`) {
			t.Fatalf("reference to a missing segment: %d %s", r.status, r.body)
		}

		// a segment referencing gold; gold cannot then reference it back, nor be deleted
		notGold := e.createSegment("Not gold", `{"segment":{"segment_id":"`+gold+`","comparison":"not_in"}}`)
		cycle := `{"name":"Gold","filter":{"segment":{"segment_id":"` + notGold + `","comparison":"in"}}}`
		if r := e.do("PUT", "/manage/segments/"+gold, cycle); !problem(r, "filter", "reference itself") {
			t.Fatalf("update making a cycle: %d %s", r.status, r.body)
		}
		r = e.do("DELETE", "/manage/segments/"+gold, nil)
		if r.status != http.StatusConflict || !strings.Contains(string(r.body), notGold) {
			t.Fatalf("delete of a referenced segment: %d %s", r.status, r.body)
		}
		if by := r.json(t)["referenced_by"].([]any); len(by) != 1 || fmt.Sprint(by[0]) != "map[id:"+notGold+" name:Not gold]" ||
			!strings.Contains(r.json(t)["message"].(string), "(Not gold)") {
			t.Fatalf("409 = %s", r.body)
		}

		// update
		r = e.do("PUT", "/manage/segments/"+gold, `{"name":"Gold members","filter":`+goldFilter+`}`)
		if r.status != 200 || r.json(t)["name"] != "Gold members" || r.json(t)["created_at"] != sg["created_at"] {
			t.Fatalf("update: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/manage/segments", nil)
		list := r.json(t)["segments"].([]any)
		if r.status != 200 || len(list) != 2 || list[0].(map[string]any)["id"] != gold {
			t.Fatalf("list: %d %s", r.status, r.body)
		}

		// unknown ids are 404 everywhere
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/manage/segments/nope", ""}, {"PUT", "/manage/segments/nope", `{"name":"x","filter":` + goldFilter + `}`},
			{"DELETE", "/manage/segments/nope", ""}, {"GET", "/manage/segments/nope/size", ""}, {"GET", "/manage/exports/nope", ""},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			if r := e.do(c.method, c.path, body); r.status != http.StatusNotFound || !strings.Contains(string(r.body), `\"nope\" not found`) {
				t.Errorf("%s %s: %d %s, want 404", c.method, c.path, r.status, r.body)
			}
		}

		// deletes: the referencing segment first, then the one it referenced
		if r := e.do("DELETE", "/manage/segments/"+notGold, nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r := e.do("DELETE", "/manage/segments/"+gold, nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/manage/segments/"+gold, nil); r.status != http.StatusNotFound {
			t.Fatalf("get after delete: %d", r.status)
		}

		// the management scope is required
		limited := e.key("tracker", "users.track")
		if r := e.do("GET", "/manage/segments", nil, "Authorization", "Bearer "+limited); r.status != http.StatusForbidden {
			t.Fatalf("without the manage scope: %d", r.status)
		}
	})
}

func TestSegmentSizeAndPreview(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		e.track(`{"attributes":[
			{"external_id":"g1","plan":"gold","email":"g1@example.com"},
			{"external_id":"g2","plan":"gold","email":"g2@shop.example.org"},
			{"external_id":"g3","plan":"gold"},
			{"external_id":"s1","plan":"silver","email":"s1@example.com"},
			{"external_id":"n1"}],
		  "events":[
			{"external_id":"g1","name":"opened","time":"` + e.svc.Now().UTC().Format("2006-01-02T15:04:05Z") + `"},
			{"external_id":"s1","name":"opened","time":"` + e.svc.Now().UTC().Format("2006-01-02T15:04:05Z") + `"}]}`)
		gold := e.createSegment("Gold", goldFilter)
		opened := `{"custom_event":{"event_name":"opened","comparison":"more_than","count":0,"days":7}}`
		goldOpened := e.createSegment("Gold who opened", `{"AND":[{"segment":{"segment_id":"`+gold+`","comparison":"in"}},`+opened+`]}`)
		notGold := e.createSegment("Not gold", `{"segment":{"segment_id":"`+gold+`","comparison":"not_in"}}`)
		for id, want := range map[string]float64{gold: 3, goldOpened: 1, notGold: 2} {
			r := e.do("GET", "/manage/segments/"+id+"/size", nil)
			if r.status != 200 || r.json(t)["size"] != want {
				t.Errorf("size of %s: %d %s, want %v", id, r.status, r.body, want)
			}
		}

		r := e.do("POST", "/manage/segments/preview", `{"filter":{"OR":[`+opened+`,{"segment":{"segment_id":"`+gold+`","comparison":"in"}}]}}`)
		got := r.json(t)
		if r.status != 200 || got["size"] != 4.0 || sorted(got["sample"]) != "[g1 g2 g3 s1]" {
			t.Fatalf("preview: %d %s", r.status, r.body)
		}
		// regular expressions run in both databases
		regex := `{"filter":{"attribute":{"name":"email","comparison":"matches_regex","value":"@example\\.com$"}}}`
		if r := e.do("POST", "/manage/segments/preview", regex); r.status != 200 || sorted(r.json(t)["sample"]) != "[g1 s1]" {
			t.Fatalf("regex preview: %d %s", r.status, r.body)
		}
		empty := `{"filter":{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"platinum"}}}`
		if r := e.do("POST", "/manage/segments/preview", empty); r.status != 200 || string(r.body) != `{"sample":[],"size":0}`+"\n" {
			t.Fatalf("empty preview: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/manage/segments/preview", `{"filter":{"OR":[{"nope":{}}]}}`); !problem(r, "filter.OR[0].nope", "unknown filter") {
			t.Fatalf("invalid preview: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/manage/segments/preview", `{"filter":{"segment":{"segment_id":"gone","comparison":"in"}}}`); !problem(r, "filter", "do not exist") {
			t.Fatalf("preview of a missing reference: %d %s", r.status, r.body)
		}
	})
}

func TestBrazeSegmentsList(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		var ids []string
		for i := 0; i < 102; i++ {
			ids = append(ids, e.createSegment(fmt.Sprintf("S%03d", i), goldFilter))
		}
		key := e.key("lister", "segments.list")
		page := func(q string) []any {
			t.Helper()
			r := e.do("GET", "/segments/list"+q, nil, "Authorization", "Bearer "+key)
			if r.status != 200 || r.json(t)["message"] != "success" {
				t.Fatalf("list%s: %d %s", q, r.status, r.body)
			}
			return r.json(t)["segments"].([]any)
		}
		p0, p1, p2 := page(""), page("?page=1"), page("?page=2")
		if len(p0) != 100 || len(p1) != 2 || len(p2) != 0 {
			t.Fatalf("page sizes %d, %d, %d; want 100, 2, 0", len(p0), len(p1), len(p2))
		}
		first := p0[0].(map[string]any)
		if first["id"] != ids[0] || first["name"] != "S000" || first["analytics_tracking_enabled"] != false || fmt.Sprint(first["tags"]) != "[]" {
			t.Fatalf("first entry = %v", first)
		}
		if p1[1].(map[string]any)["id"] != ids[101] {
			t.Fatalf("last entry = %v", p1[1])
		}
		if desc := page("?page=0&sort_direction=desc"); desc[0].(map[string]any)["id"] != ids[101] {
			t.Fatalf("descending first = %v", desc[0])
		}
		for _, q := range []string{"?page=-1", "?page=x", "?sort_direction=up"} {
			if r := e.do("GET", "/segments/list"+q, nil); r.status != 400 {
				t.Errorf("list%s: %d, want 400", q, r.status)
			}
		}
		other := e.key("tracker", "users.track")
		if r := e.do("GET", "/segments/list", nil, "Authorization", "Bearer "+other); r.status != http.StatusForbidden {
			t.Fatalf("without segments.list: %d", r.status)
		}
	})
}
