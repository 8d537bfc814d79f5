package profiles

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// jsonList returns n JSON values made by f, comma-separated.
func jsonList(n int, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f(i)
	}
	return strings.Join(parts, ",")
}

func quotedIDs(n int) string {
	return jsonList(n, func(i int) string { return fmt.Sprintf(`"u%d"`, i) })
}

func aliasObjs(n int) string {
	return jsonList(n, func(i int) string { return fmt.Sprintf(`{"alias_name":"n%d","alias_label":"l"}`, i) })
}

// checkRequestError asserts err is a *RequestError whose message contains want.
func checkRequestError(t *testing.T, err error, want string) {
	t.Helper()
	var re *RequestError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T); want a *RequestError containing %q", err, err, want)
	}
	if !strings.Contains(re.Message, want) {
		t.Errorf("message = %q; want it to contain %q", re.Message, want)
	}
}

func TestDecodeDelete(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       *DeleteRequest
		err        string
	}{
		{"external ids", `{"external_ids":["a","b"]}`, &DeleteRequest{ExternalIDs: []string{"a", "b"}}, ""},
		{"braze ids", `{"braze_ids":["0123456789abcdef01234567"]}`, &DeleteRequest{BrazeIDs: []string{"0123456789abcdef01234567"}}, ""},
		{"aliases", `{"user_aliases":[{"alias_name":"n","alias_label":"l"}]}`, &DeleteRequest{Aliases: []Alias{{Name: "n", Label: "l"}}}, ""},
		{"api_key tolerated", `{"api_key":"k","external_ids":["a"]}`, &DeleteRequest{ExternalIDs: []string{"a"}}, ""},
		{"50 external ids", `{"external_ids":[` + quotedIDs(50) + `]}`, nil, ""},
		{"50 aliases", `{"user_aliases":[` + aliasObjs(50) + `]}`, nil, ""},
		{"51 external ids", `{"external_ids":[` + quotedIDs(51) + `]}`, nil, "at most 50"},
		{"51 braze ids", `{"braze_ids":[` + quotedIDs(51) + `]}`, nil, "at most 50"},
		{"51 aliases", `{"user_aliases":[` + aliasObjs(51) + `]}`, nil, "at most 50"},
		{"two kinds", `{"external_ids":["a"],"braze_ids":["b"]}`, nil, "only one of"},
		{"three kinds", `{"external_ids":["a"],"braze_ids":["b"],"user_aliases":[{"alias_name":"n","alias_label":"l"}]}`, nil, "only one of"},
		{"none", `{}`, nil, "give external_ids, user_aliases or braze_ids"},
		{"empty arrays", `{"external_ids":[],"braze_ids":[]}`, nil, "give external_ids"},
		{"alias without label", `{"user_aliases":[{"alias_name":"n"}]}`, nil, "user_aliases[0] needs alias_name and alias_label"},
		{"second alias empty", `{"user_aliases":[{"alias_name":"n","alias_label":"l"},{"alias_name":"","alias_label":"l"}]}`, nil, "user_aliases[1]"},
		{"unknown field", `{"external_ids":["a"],"emails":["a@b.c"]}`, nil, `unknown field "emails"`},
		{"unknown alias field", `{"user_aliases":[{"alias_name":"n","alias_label":"l","x":1}]}`, nil, `unknown field "x"`},
		{"ids not strings", `{"external_ids":[1]}`, nil, "Invalid request"},
		{"not an object", `["a"]`, nil, "Invalid JSON"},
		{"null", `null`, nil, "Invalid JSON"},
		{"bad json", `{"external_ids":`, nil, "Invalid JSON"},
		{"trailing data", `{"external_ids":["a"]} {}`, nil, "Invalid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := DecodeDelete(strings.NewReader(tc.body))
			if tc.err != "" {
				checkRequestError(t, err, tc.err)
				if req != nil {
					t.Errorf("req = %+v with an error", req)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.want != nil && !reflect.DeepEqual(req, tc.want) {
				t.Errorf("req = %+v; want %+v", req, tc.want)
			}
		})
	}
}

func TestDecodeAliasNew(t *testing.T) {
	t.Parallel()
	items := func(n int) string {
		return `{"user_aliases":[` + jsonList(n, func(i int) string {
			return fmt.Sprintf(`{"external_id":"u%d","alias_name":"n%d","alias_label":"l"}`, i, i)
		}) + `]}`
	}
	got, err := DecodeAliasNew(strings.NewReader(`{"api_key":"k","user_aliases":[{"external_id":"u1","alias_name":"n","alias_label":"l"},{"alias_name":"anon","alias_label":"l"}]}`))
	want := []AliasNewItem{{ExternalID: "u1", AliasName: "n", AliasLabel: "l"}, {AliasName: "anon", AliasLabel: "l"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeAliasNew = %+v, %v; want %+v", got, err, want)
	}
	if got, err := DecodeAliasNew(strings.NewReader(items(50))); err != nil || len(got) != 50 {
		t.Errorf("50 aliases: %d, %v; want accepted", len(got), err)
	}
	// missing names are reported per object by the service, not here
	if got, err := DecodeAliasNew(strings.NewReader(`{"user_aliases":[{"external_id":"u1"}]}`)); err != nil || len(got) != 1 {
		t.Errorf("an incomplete item: %+v, %v; want it passed on", got, err)
	}
	for _, tc := range []struct{ name, body, err string }{
		{"51 aliases", items(51), "at most 50"},
		{"none", `{}`, "user_aliases is required"},
		{"empty", `{"user_aliases":[]}`, "user_aliases is required"},
		{"unknown field", `{"user_aliases":[],"aliases":[]}`, `unknown field "aliases"`},
		{"unknown item field", `{"user_aliases":[{"alias_name":"n","alias_label":"l","user_alias":{}}]}`, `unknown field "user_alias"`},
		{"not an object", `[]`, "Invalid JSON"},
	} {
		_, err := DecodeAliasNew(strings.NewReader(tc.body))
		t.Run(tc.name, func(t *testing.T) { checkRequestError(t, err, tc.err) })
	}
}

func TestDecodeIdentify(t *testing.T) {
	t.Parallel()
	items := func(n int) string {
		return `{"aliases_to_identify":[` + jsonList(n, func(i int) string {
			return fmt.Sprintf(`{"external_id":"u%d","user_alias":{"alias_name":"n%d","alias_label":"l"}}`, i, i)
		}) + `]}`
	}
	got, err := DecodeIdentify(strings.NewReader(`{"aliases_to_identify":[{"external_id":"u1","user_alias":{"alias_name":"n","alias_label":"l"}}]}`))
	want := []IdentifyItem{{ExternalID: "u1", Alias: Alias{Name: "n", Label: "l"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeIdentify = %+v, %v; want %+v", got, err, want)
	}
	if got, err := DecodeIdentify(strings.NewReader(items(50))); err != nil || len(got) != 50 {
		t.Errorf("50 items: %d, %v; want accepted", len(got), err)
	}
	for _, tc := range []struct{ name, body, err string }{
		{"51 items", items(51), "at most 50"},
		{"none", `{"api_key":"k"}`, "aliases_to_identify is required"},
		{"unknown field", `{"aliases_to_identify":[],"merge_behavior":"merge"}`, `unknown field "merge_behavior"`},
		{"unknown item field", `{"aliases_to_identify":[{"external_id":"u1","braze_id":"b"}]}`, `unknown field "braze_id"`},
		{"alias a string", `{"aliases_to_identify":[{"external_id":"u1","user_alias":"n"}]}`, "Invalid request"},
		{"bad json", `{`, "Invalid JSON"},
	} {
		_, err := DecodeIdentify(strings.NewReader(tc.body))
		t.Run(tc.name, func(t *testing.T) { checkRequestError(t, err, tc.err) })
	}
}

func TestDecodeExport(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       *ExportRequest
		err        string
	}{
		{"external ids", `{"external_ids":["a","b"]}`, &ExportRequest{Lookup: Lookup{ExternalIDs: []string{"a", "b"}}}, ""},
		{"aliases", `{"user_aliases":[{"alias_name":"n","alias_label":"l"}]}`, &ExportRequest{Lookup: Lookup{Aliases: []Alias{{Name: "n", Label: "l"}}}}, ""},
		{"external ids and aliases", `{"external_ids":["a"],"user_aliases":[{"alias_name":"n","alias_label":"l"}]}`,
			&ExportRequest{Lookup: Lookup{ExternalIDs: []string{"a"}, Aliases: []Alias{{Name: "n", Label: "l"}}}}, ""},
		{"device id", `{"device_id":"d1"}`, &ExportRequest{Lookup: Lookup{DeviceID: "d1"}}, ""},
		{"braze id", `{"braze_id":"b1"}`, &ExportRequest{Lookup: Lookup{BrazeID: "b1"}}, ""},
		{"email lower-cased", `{"email_address":"Ann@Example.COM"}`, &ExportRequest{Lookup: Lookup{Email: "ann@example.com"}}, ""},
		{"phone", `{"phone":"+15550100"}`, &ExportRequest{Lookup: Lookup{Phone: "+15550100"}}, ""},
		{"fields", `{"external_ids":["a"],"fields_to_export":["email","custom_attributes","email"]}`,
			&ExportRequest{Lookup: Lookup{ExternalIDs: []string{"a"}}, Fields: map[string]bool{"email": true, "custom_attributes": true}}, ""},
		{"fields null means all", `{"external_ids":["a"],"fields_to_export":null}`, &ExportRequest{Lookup: Lookup{ExternalIDs: []string{"a"}}}, ""},
		{"documented but unfilled field", `{"braze_id":"b","fields_to_export":["attributed_campaign","uninstalled_at"]}`,
			&ExportRequest{Lookup: Lookup{BrazeID: "b"}, Fields: map[string]bool{"attributed_campaign": true, "uninstalled_at": true}}, ""},
		{"api_key tolerated", `{"api_key":"k","braze_id":"b"}`, &ExportRequest{Lookup: Lookup{BrazeID: "b"}}, ""},
		{"50 external ids", `{"external_ids":[` + quotedIDs(50) + `]}`, nil, ""},
		{"51 external ids", `{"external_ids":[` + quotedIDs(51) + `]}`, nil, "at most 50"},
		{"51 combined", `{"external_ids":[` + quotedIDs(30) + `],"user_aliases":[` + aliasObjs(21) + `]}`, nil, "at most 50"},
		{"51 aliases", `{"user_aliases":[` + aliasObjs(51) + `]}`, nil, "at most 50"},
		{"nothing", `{}`, nil, "give external_ids"},
		{"only fields", `{"fields_to_export":["email"]}`, nil, "give external_ids"},
		{"two singles", `{"device_id":"d","phone":"+1"}`, nil, "at most one of"},
		{"email and braze id", `{"email_address":"a@b.c","braze_id":"b"}`, nil, "at most one of"},
		{"alias without name", `{"user_aliases":[{"alias_label":"l"}]}`, nil, "user_aliases[0] needs"},
		{"unknown field to export", `{"external_ids":["a"],"fields_to_export":["email","password"]}`, nil, `unknown field "password"`},
		{"fields_to_export case matters", `{"external_ids":["a"],"fields_to_export":["Email"]}`, nil, `unknown field "Email"`},
		{"unknown body field", `{"external_ids":["a"],"email":"a@b.c"}`, nil, `unknown field "email"`},
		{"fields_to_export a string", `{"external_ids":["a"],"fields_to_export":"email"}`, nil, "Invalid request"},
		{"device id a number", `{"device_id":5}`, nil, "Invalid request"},
		{"not an object", `"a"`, nil, "Invalid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := DecodeExport(strings.NewReader(tc.body))
			if tc.err != "" {
				checkRequestError(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.want != nil && !reflect.DeepEqual(req, tc.want) {
				t.Errorf("req = %+v; want %+v", req, tc.want)
			}
		})
	}
}

// An export by email_address finds the user /users/track stored the address for:
// both sides normalize it the same way.
func TestDecodeExportEmailMatchesStored(t *testing.T) {
	t.Parallel()
	for _, email := range []string{"Ann@Example.COM", " ann@example.com ", "ÄNNE@example.com", "ÉLODIE@EXAMPLE.FR"} {
		op, err := standardOp("email", email)
		if err != nil {
			t.Errorf("%q: %v", email, err)
			continue
		}
		body := fmt.Sprintf(`{"email_address":%q}`, email)
		req, err := DecodeExport(strings.NewReader(body))
		if err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if req.Lookup.Email != *op.Value {
			t.Errorf("%q: export looks up %q, track stores %q", email, req.Lookup.Email, *op.Value)
		}
	}
}

// Every documented fields_to_export name is accepted.
func TestDecodeExportAllFields(t *testing.T) {
	t.Parallel()
	body := `{"braze_id":"b","fields_to_export":["` + strings.Join(ExportFields(), `","`) + `"]}`
	req, err := DecodeExport(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Fields) != len(ExportFields()) {
		t.Errorf("%d fields; want %d", len(req.Fields), len(ExportFields()))
	}
}
