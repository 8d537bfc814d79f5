package api_test

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// waitExport polls an export until it is done or failed.
func (e *env) waitExport(id string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.do("GET", "/manage/exports/"+id, nil)
		if r.status != http.StatusOK {
			e.t.Fatalf("export status: %d %s", r.status, r.body)
		}
		x := r.json(e.t)
		if x["status"] == "done" || x["status"] == "failed" {
			return x
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("export %s still %v", id, x["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readExport gunzips an export's files, in order, and returns its users.
func readExport(t *testing.T, x map[string]any) [][]map[string]any {
	t.Helper()
	var out [][]map[string]any
	for _, f := range x["files"].([]any) {
		file, err := os.Open(filepath.Join(x["dir"].(string), f.(string)))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(file)
		if err != nil {
			t.Fatal(err)
		}
		var users []map[string]any
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			var u map[string]any
			if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
				t.Fatalf("%s: line %q: %v", f, sc.Text(), err)
			}
			users = append(users, u)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		file.Close()
		out = append(out, users)
	}
	return out
}

// byExternalID finds an exported user.
func byExternalID(files [][]map[string]any, ext string) map[string]any {
	for _, u := range slices.Concat(files...) {
		if u["external_id"] == ext {
			return u
		}
	}
	return nil
}

func TestExportSegment(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		e.track(`{"attributes":[
			{"external_id":"g1","plan":"gold","email":"g1@example.com","first_name":"Ada"},
			{"external_id":"g2","plan":"gold","email":"g2@example.com"},
			{"external_id":"g3","plan":"gold"},
			{"external_id":"g4","plan":"gold"},
			{"external_id":"g5","plan":"gold","country":"FR"},
			{"external_id":"s1","plan":"silver"},
			{"user_alias":{"alias_name":"anon","alias_label":"device"},"plan":"gold","_update_existing_only":false}]}`)
		gold := e.createSegment("Gold", goldFilter)

		r := e.do("POST", "/users/export/segment", `{"segment_id":"`+gold+`","fields_to_export":["external_id","email","custom_attributes"]}`)
		if r.status != http.StatusCreated {
			t.Fatalf("export: %d %s", r.status, r.body)
		}
		started := r.json(t)
		id := started["export_id"].(string)
		if started["message"] != "success" || started["object_prefix"] != id || started["status_url"] != "/manage/exports/"+id ||
			!strings.HasSuffix(started["dir"].(string), id) || !filepath.IsAbs(started["dir"].(string)) {
			t.Fatalf("export answer = %s", r.body)
		}
		x := e.waitExport(id)
		if x["status"] != "done" || x["rows"] != 6.0 || x["segment_id"] != gold || x["finished_at"] == nil || x["error"] != nil {
			t.Fatalf("export = %v", x)
		}
		files := readExport(t, x)
		// six users (the alias-only one included) in files of at most three
		if len(files) != 2 || len(files[0]) != 3 || len(files[1]) != 3 {
			t.Fatalf("files = %v (%v)", x["files"], files)
		}
		if fmt.Sprint(x["files"]) != "[part-00000.ndjson.gz part-00001.ndjson.gz]" {
			t.Fatalf("file names = %v", x["files"])
		}
		var exts []string
		for _, u := range slices.Concat(files...) {
			for k := range u {
				if k != "external_id" && k != "email" && k != "custom_attributes" {
					t.Errorf("field %q exported but not asked for: %v", k, u)
				}
			}
			if u["custom_attributes"].(map[string]any)["plan"] != "gold" {
				t.Errorf("exported user = %v", u)
			}
			if ext, ok := u["external_id"].(string); ok {
				exts = append(exts, ext)
			}
		}
		sort.Strings(exts)
		if strings.Join(exts, ",") != "g1,g2,g3,g4,g5" {
			t.Fatalf("exported external ids = %v", exts)
		}
		if u := byExternalID(files, "g1"); u["email"] != "g1@example.com" {
			t.Fatalf("g1 = %v", u)
		}
		// nothing is left behind but the listed files
		entries, _ := os.ReadDir(x["dir"].(string))
		if len(entries) != 2 {
			t.Fatalf("export directory holds %d entries", len(entries))
		}

		// without fields_to_export every field comes, as /users/export/ids shows it
		r = e.do("POST", "/users/export/segment", `{"segment_id":"`+gold+`"}`)
		if r.status != http.StatusCreated {
			t.Fatalf("export: %d %s", r.status, r.body)
		}
		x = e.waitExport(r.json(t)["export_id"].(string))
		if x["status"] != "done" || x["fields_to_export"] != nil {
			t.Fatalf("export = %v", x)
		}
		got, want := byExternalID(readExport(t, x), "g1"), e.export("g1")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("exported user %v\nwant as /users/export/ids: %v", got, want)
		}

		// an empty audience is done with no file
		none := e.createSegment("Platinum", `{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"platinum"}}`)
		r = e.do("POST", "/users/export/segment", `{"segment_id":"`+none+`","fields_to_export":["external_id"]}`)
		if x := e.waitExport(r.json(t)["export_id"].(string)); x["status"] != "done" || x["rows"] != 0.0 || len(x["files"].([]any)) != 0 {
			t.Fatalf("empty export = %v", x)
		}

		for _, c := range []struct {
			body   string
			status int
			text   string
		}{
			{`{"segment_id":"nope"}`, 404, `segment \"nope\" not found`},
			{`{}`, 400, "segment_id is required"},
			{`{"segment_id":"` + gold + `","fields_to_export":["shoe_size"]}`, 400, `unknown field \"shoe_size\"`},
			{`{"segment_id":"` + gold + `","output_format":"zip"}`, 400, "gzip"},
			{`{"segment_id":"` + gold + `","callback_endpoint":"https://example.com/done"}`, 400, "poll"},
		} {
			if r := e.do("POST", "/users/export/segment", c.body); r.status != c.status || !strings.Contains(string(r.body), c.text) {
				t.Errorf("export %s: %d %s, want %d with %q", c.body, r.status, r.body, c.status, c.text)
			}
		}
		// the Braze scope starts an export; reading its state is management
		exporter := e.key("exporter", "users.export.segment")
		r = e.do("POST", "/users/export/segment", `{"segment_id":"`+none+`"}`, "Authorization", "Bearer "+exporter)
		if r.status != http.StatusCreated {
			t.Fatalf("export with users.export.segment: %d %s", r.status, r.body)
		}
		e.waitExport(r.json(t)["export_id"].(string))
		other := e.key("tracker", "users.track")
		if r := e.do("POST", "/users/export/segment", `{"segment_id":"`+none+`"}`, "Authorization", "Bearer "+other); r.status != http.StatusForbidden {
			t.Fatalf("export without the scope: %d", r.status)
		}
	})
}
