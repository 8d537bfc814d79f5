package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// trackNow is the injected clock of every DecodeTrack test.
var trackNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func decodeTrack(t *testing.T, body string) *TrackRequest {
	t.Helper()
	req, err := DecodeTrack(strings.NewReader(body), trackNow, DefaultLimits())
	if err != nil {
		t.Fatalf("DecodeTrack(%.200s) = %v; want a request", body, err)
	}
	return req
}

// repeat returns n copies of obj as the elements of a JSON array.
func repeat(obj string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = obj
	}
	return "[" + strings.Join(parts, ",") + "]"
}

const (
	goodAttr     = `{"external_id":"u1","first_name":"Ann"}`
	goodEvent    = `{"external_id":"u1","name":"played","time":"2024-01-02T03:04:05Z"}`
	goodPurchase = `{"external_id":"u1","product_id":"p","currency":"USD","price":1.5,"time":"2024-01-02T03:04:05Z"}`
)

func TestDecodeTrackFatal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
	}{
		{"invalid json", `{"attributes":[`, "Invalid JSON"},
		{"not json", `attributes=1`, "Invalid JSON"},
		{"empty body", ``, "Invalid JSON"},
		{"array body", `[{"external_id":"u1"}]`, "Invalid JSON"},
		{"string body", `"attributes"`, "Invalid JSON"},
		{"number body", `75`, "Invalid JSON"},
		{"null body", `null`, "must be an object"},
		{"trailing object", `{"attributes":[]} {}`, "Invalid JSON"},
		{"trailing garbage", `{"attributes":[]}x`, "Invalid JSON"},
		{"trailing bracket", `{"attributes":[]}]`, "Invalid JSON"},
		{"unknown top-level key", `{"attributes":[],"users":[]}`, `unknown field "users"`},
		{"misspelt key", `{"attribute":[` + goodAttr + `]}`, `unknown field "attribute"`},
		{"attributes not an array", `{"attributes":{"external_id":"u1"}}`, "'attributes' must be an array"},
		{"events a string", `{"events":"x"}`, "'events' must be an array"},
		{"purchases a number", `{"purchases":1}`, "'purchases' must be an array"},
		{"76 attributes", `{"attributes":` + repeat(goodAttr, 76) + `}`, "Max Input Length Exceeded"},
		{"76 events", `{"events":` + repeat(goodEvent, 76) + `}`, "Max Input Length Exceeded"},
		{"76 purchases", `{"purchases":` + repeat(goodPurchase, 76) + `}`, "Max Input Length Exceeded"},
		{"76 purchases next to valid arrays", `{"attributes":[` + goodAttr + `],"purchases":` + repeat(goodPurchase, 76) + `}`, "Max Input Length Exceeded"},
		{"no arrays", `{}`, "must include attributes, events or purchases"},
		{"only api_key", `{"api_key":"k"}`, "must include attributes, events or purchases"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := DecodeTrack(strings.NewReader(tc.body), trackNow, DefaultLimits())
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T); want a *RequestError", err, err)
			}
			if req != nil {
				t.Errorf("req = %+v; want nil with a fatal error", req)
			}
			if !strings.Contains(re.Message, tc.want) {
				t.Errorf("message = %q; want it to contain %q", re.Message, tc.want)
			}
		})
	}
}

func TestDecodeTrackMaxObjects(t *testing.T) {
	t.Parallel()
	body := fmt.Sprintf(`{"attributes":%s,"events":%s,"purchases":%s}`,
		repeat(goodAttr, 75), repeat(goodEvent, 75), repeat(goodPurchase, 75))
	req := decodeTrack(t, body)
	if len(req.Attributes) != 75 || len(req.Events) != 75 || len(req.Purchases) != 75 || len(req.Errors) != 0 {
		t.Fatalf("got %d/%d/%d objects and errors %v; want 75 of each", len(req.Attributes), len(req.Events), len(req.Purchases), req.Errors)
	}

	lim := Limits{MaxObjects: 2, MaxArrayLength: 25}
	_, err := DecodeTrack(strings.NewReader(`{"events":`+repeat(goodEvent, 3)+`}`), trackNow, lim)
	var re *RequestError
	if !errors.As(err, &re) || !strings.Contains(re.Message, "at most 2") {
		t.Fatalf("3 events with MaxObjects 2: err = %v; want Max Input Length Exceeded naming 2", err)
	}
}

// wantErr matches an ObjectError: exact array and index, Type containing typ.
type wantErr struct {
	array string
	index int
	typ   string
}

func checkErrors(t *testing.T, got []ObjectError, want []wantErr) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("errors = %+v; want %d matching %+v", got, len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.InputArray != w.array || g.Index != w.index || !strings.Contains(g.Type, w.typ) {
			t.Errorf("errors[%d] = %+v; want input_array %q, index %d, type containing %q", i, g, w.array, w.index, w.typ)
		}
	}
}

func TestDecodeTrackObjectErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 256)
	bigProps := `{"list":[` + strings.TrimSuffix(strings.Repeat(`"`+strings.Repeat("y", 200)+`",`, 300), ",") + `]}`
	deep := strings.Repeat(`{"a":`, 22) + `1` + strings.Repeat(`}`, 22)
	ev := func(fields string) string {
		return `{"events":[{"external_id":"u1","name":"e","time":"2024-01-02T03:04:05Z"` + fields + `}]}`
	}
	pu := func(fields string) string {
		return `{"purchases":[{"external_id":"u1","product_id":"p","time":"2024-01-02T03:04:05Z"` + fields + `}]}`
	}
	cases := []struct {
		name string
		body string
		want []wantErr
		// kept is how many objects of the array survive.
		kept int
	}{
		{"attribute without identifier", `{"attributes":[{"first_name":"Ann"}]}`,
			[]wantErr{{"attributes", 0, "'external_id' or 'braze_id' or 'user_alias' is required"}}, 0},
		{"event without identifier", `{"events":[{"name":"e","time":"2024-01-02T03:04:05Z"}]}`,
			[]wantErr{{"events", 0, "'external_id' or 'braze_id' or 'user_alias' is required"}}, 0},
		{"purchase without identifier", `{"purchases":[{"product_id":"p","currency":"USD","price":1,"time":"2024-01-02T03:04:05Z"}]}`,
			[]wantErr{{"purchases", 0, "'external_id' or 'braze_id' or 'user_alias' is required"}}, 0},
		{"second object bad", `{"attributes":[` + goodAttr + `,{"first_name":"Bo"},` + goodAttr + `]}`,
			[]wantErr{{"attributes", 1, "is required"}}, 2},
		{"external_id and braze_id", `{"attributes":[{"external_id":"u1","braze_id":"b1"}]}`,
			[]wantErr{{"attributes", 0, "only one of"}}, 0},
		{"external_id and user_alias", `{"events":[{"external_id":"u1","user_alias":{"alias_name":"n","alias_label":"l"},"name":"e","time":"2024-01-02"}]}`,
			[]wantErr{{"events", 0, "only one of"}}, 0},
		{"empty external_id", `{"attributes":[{"external_id":""}]}`, []wantErr{{"attributes", 0, "'external_id' must be"}}, 0},
		{"numeric external_id", `{"attributes":[{"external_id":12}]}`, []wantErr{{"attributes", 0, "'external_id' must be"}}, 0},
		{"external_id too long", `{"attributes":[{"external_id":"` + strings.Repeat("e", 513) + `"}]}`, []wantErr{{"attributes", 0, "'external_id' must be"}}, 0},
		{"braze_id too long", `{"attributes":[{"braze_id":"` + strings.Repeat("b", 65) + `"}]}`, []wantErr{{"attributes", 0, "'braze_id' must be"}}, 0},
		{"user_alias a string", `{"attributes":[{"user_alias":"n"}]}`, []wantErr{{"attributes", 0, "'user_alias' must be an object"}}, 0},
		{"user_alias without label", `{"attributes":[{"user_alias":{"alias_name":"n"}}]}`, []wantErr{{"attributes", 0, "'user_alias' must have exactly"}}, 0},
		{"user_alias empty name", `{"attributes":[{"user_alias":{"alias_name":"","alias_label":"l"}}]}`, []wantErr{{"attributes", 0, "'user_alias'"}}, 0},
		{"user_alias extra key", `{"attributes":[{"user_alias":{"alias_name":"n","alias_label":"l","x":1}}]}`, []wantErr{{"attributes", 0, "'user_alias'"}}, 0},
		{"user_alias label too long", `{"attributes":[{"user_alias":{"alias_name":"n","alias_label":"` + long + `"}}]}`, []wantErr{{"attributes", 0, "too long"}}, 0},
		{"_update_existing_only a string", `{"attributes":[{"external_id":"u1","_update_existing_only":"true"}]}`, []wantErr{{"attributes", 0, "must be a boolean"}}, 0},
		{"element not an object", `{"events":[1,null,"x",[]]}`,
			[]wantErr{{"events", 0, "JSON object"}, {"events", 1, "JSON object"}, {"events", 2, "JSON object"}, {"events", 3, "JSON object"}}, 0},

		{"event without name", `{"events":[{"external_id":"u1","time":"2024-01-02T03:04:05Z"}]}`, []wantErr{{"events", 0, "'name' is required"}}, 0},
		{"event blank name", `{"events":[{"external_id":"u1","name":"  ","time":"2024-01-02T03:04:05Z"}]}`, []wantErr{{"events", 0, "'name' is required"}}, 0},
		{"event name too long", `{"events":[{"external_id":"u1","name":"` + long + `","time":"2024-01-02T03:04:05Z"}]}`, []wantErr{{"events", 0, "'name' is required"}}, 0},
		{"event without time", `{"events":[{"external_id":"u1","name":"e"}]}`, []wantErr{{"events", 0, "'time' is required"}}, 0},
		{"event time not ISO 8601", `{"events":[{"external_id":"u1","name":"e","time":"yesterday at noon"}]}`, []wantErr{{"events", 0, "'time' is required"}}, 0},
		{"event time a number", `{"events":[{"external_id":"u1","name":"e","time":1704164645}]}`, []wantErr{{"events", 0, "'time' is required"}}, 0},
		{"event time month 13", `{"events":[{"external_id":"u1","name":"e","time":"2024-13-01T00:00:00Z"}]}`, []wantErr{{"events", 0, "'time' is required"}}, 0},
		{"event app_id a number", ev(`,"app_id":5`), []wantErr{{"events", 0, "'app_id'"}}, 0},
		{"event unknown field", ev(`,"nmae":"typo"`), []wantErr{{"events", 0, `unknown field "nmae"`}}, 0},
		{"properties not an object", ev(`,"properties":[1]`), []wantErr{{"events", 0, "'properties' must be an object"}}, 0},
		{"property key starts with $", ev(`,"properties":{"$price":1}`), []wantErr{{"events", 0, "must not start with $"}}, 0},
		{"nested property key starts with $", ev(`,"properties":{"a":{"$b":1}}`), []wantErr{{"events", 0, "must not start with $"}}, 0},
		{"property key too long", ev(`,"properties":{"` + long + `":1}`), []wantErr{{"events", 0, "longer than 255"}}, 0},
		{"property string over 255", ev(`,"properties":{"s":"` + long + `"}`), []wantErr{{"events", 0, "at most 255 characters"}}, 0},
		{"property string over 255 in an array", ev(`,"properties":{"s":["` + long + `"]}`), []wantErr{{"events", 0, "at most 255 characters"}}, 0},
		{"properties over 50 KB", ev(`,"properties":` + bigProps), []wantErr{{"events", 0, "larger than 50 KB"}}, 0},
		{"properties nested too deep", ev(`,"properties":` + deep), []wantErr{{"events", 0, "20 levels"}}, 0},
		{"property number out of range", ev(`,"properties":{"n":1e400}`), []wantErr{{"events", 0, "out of range"}}, 0},

		{"purchase without product_id", `{"purchases":[{"external_id":"u1","currency":"USD","price":1,"time":"2024-01-02"}]}`, []wantErr{{"purchases", 0, "'product_id' is required"}}, 0},
		{"purchase without currency", pu(`,"price":1`), []wantErr{{"purchases", 0, "'currency' is required"}}, 0},
		{"purchase currency two letters", pu(`,"currency":"US","price":1`), []wantErr{{"purchases", 0, "'currency' is required"}}, 0},
		{"purchase currency with a digit", pu(`,"currency":"U5D","price":1`), []wantErr{{"purchases", 0, "'currency' is required"}}, 0},
		{"purchase currency a number", pu(`,"currency":840,"price":1`), []wantErr{{"purchases", 0, "'currency' is required"}}, 0},
		{"purchase without price", pu(`,"currency":"USD"`), []wantErr{{"purchases", 0, "'price' is required"}}, 0},
		{"purchase price a string", pu(`,"currency":"USD","price":"9.99"`), []wantErr{{"purchases", 0, "'price' is required"}}, 0},
		{"purchase price out of range", pu(`,"currency":"USD","price":1e999`), []wantErr{{"purchases", 0, "out of range"}}, 0},
		{"purchase quantity 0", pu(`,"currency":"USD","price":1,"quantity":0`), []wantErr{{"purchases", 0, "'quantity' must be an integer from 1 to 100"}}, 0},
		{"purchase quantity 101", pu(`,"currency":"USD","price":1,"quantity":101`), []wantErr{{"purchases", 0, "'quantity'"}}, 0},
		{"purchase quantity 2.5", pu(`,"currency":"USD","price":1,"quantity":2.5`), []wantErr{{"purchases", 0, "'quantity'"}}, 0},
		{"purchase quantity -1", pu(`,"currency":"USD","price":1,"quantity":-1`), []wantErr{{"purchases", 0, "'quantity'"}}, 0},
		{"purchase quantity a string", pu(`,"currency":"USD","price":1,"quantity":"2"`), []wantErr{{"purchases", 0, "'quantity'"}}, 0},
		{"purchase without time", `{"purchases":[{"external_id":"u1","product_id":"p","currency":"USD","price":1}]}`, []wantErr{{"purchases", 0, "'time' is required"}}, 0},
		{"purchase property key with $", pu(`,"currency":"USD","price":1,"properties":{"$x":"y"}`), []wantErr{{"purchases", 0, "must not start with $"}}, 0},
		{"purchase unknown field", pu(`,"currency":"USD","price":1,"sku":"s"`), []wantErr{{"purchases", 0, `unknown field "sku"`}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := decodeTrack(t, tc.body)
			checkErrors(t, req.Errors, tc.want)
			kept := len(req.Attributes) + len(req.Events) + len(req.Purchases)
			if kept != tc.kept {
				t.Errorf("kept %d objects; want %d", kept, tc.kept)
			}
		})
	}
}

// The missing-identifier error is Braze's exact wording, which clients match on.
func TestDecodeTrackMissingIdentifierWording(t *testing.T) {
	t.Parallel()
	req := decodeTrack(t, `{"attributes":[{"first_name":"Ann"}]}`)
	want := []ObjectError{{Type: "'external_id' or 'braze_id' or 'user_alias' is required", InputArray: "attributes", Index: 0}}
	if !reflect.DeepEqual(req.Errors, want) {
		t.Fatalf("errors = %+v; want %+v", req.Errors, want)
	}
	b, err := json.Marshal(req.Errors[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"type":"'external_id' or 'braze_id' or 'user_alias' is required","input_array":"attributes","index":0}` {
		t.Errorf("JSON = %s; want Braze's error object shape", got)
	}
}

func TestDecodeTrackFieldErrorKeepsObject(t *testing.T) {
	t.Parallel()
	req := decodeTrack(t, `{"attributes":[{"external_id":"u1","time_zone":"Mars/Olympus","first_name":"Ann",
		"facebook":{"id":1},"tags":`+repeat(`"t"`, 26)+`,"plan":"gold","date_of_first_session":"soon"}]}`)
	if len(req.Attributes) != 1 {
		t.Fatalf("attributes = %+v; want the object kept", req.Attributes)
	}
	a := req.Attributes[0]
	if len(a.Standard) != 1 || a.Standard[0].Field != "first_name" || a.Standard[0].Value == nil || *a.Standard[0].Value != "Ann" {
		t.Errorf("standard ops = %+v; want only first_name=Ann", a.Standard)
	}
	if len(a.Custom) != 1 || a.Custom[0].Key != "plan" || a.Custom[0].Value != "gold" {
		t.Errorf("custom ops = %+v; want only plan=gold", a.Custom)
	}
	if a.FirstSession != nil {
		t.Errorf("first session = %v; want none", a.FirstSession)
	}
	// errors come in key order
	checkErrors(t, req.Errors, []wantErr{
		{"attributes", 0, "date_of_first_session: must be an ISO 8601 time"},
		{"attributes", 0, "facebook: not supported"},
		{"attributes", 0, "tags: array has 26 elements"},
		{"attributes", 0, "time_zone: not a known IANA time zone"},
	})
}

func TestDecodeTrackBrazeExample(t *testing.T) {
	t.Parallel()
	// The example request of Braze's /users/track documentation.
	body := `{
	  "attributes": [
	    {
	      "external_id": "user_identifier",
	      "string_attribute": "fruit",
	      "boolean_attribute_1": true,
	      "integer_attribute": 25,
	      "array_attribute": ["banana", "apple"]
	    }
	  ],
	  "events": [
	    {
	      "external_id": "user_identifier",
	      "app_id": "your_app_identifier",
	      "name": "rented_movie",
	      "time": "2022-12-06T19:20:45+01:00",
	      "properties": {
	        "release": {"studio": "FilmStudio", "year": "2022"},
	        "cast": [{"name": "Actor1"}, {"name": "Actor2"}]
	      }
	    },
	    {
	      "user_alias": {"alias_name": "device123", "alias_label": "my_device_identifier"},
	      "app_id": "your_app_identifier",
	      "name": "rented_movie",
	      "time": "2013-07-16T19:20:50+01:00"
	    }
	  ],
	  "purchases": [
	    {
	      "external_id": "user_identifier",
	      "app_id": "your_app_identifier",
	      "product_id": "product_name",
	      "currency": "USD",
	      "price": 12.12,
	      "quantity": 6,
	      "time": "2017-05-12T18:47:12Z",
	      "properties": {
	        "color": "red",
	        "monogram": "ABC",
	        "checkout_duration": 180,
	        "size": "Large",
	        "brand": "Backpack Locker"
	      }
	    }
	  ]
	}`
	req := decodeTrack(t, body)
	if len(req.Errors) != 0 {
		t.Fatalf("errors = %+v; want none", req.Errors)
	}
	if !req.HasAttributes || !req.HasEvents || !req.HasPurchases {
		t.Errorf("Has* = %v/%v/%v; want all true", req.HasAttributes, req.HasEvents, req.HasPurchases)
	}
	wantAttrs := []AttributeUpdate{{
		Index: 0,
		ID:    Identifier{ExternalID: "user_identifier"},
		Custom: []CustomOp{
			{Key: "array_attribute", Value: []any{"banana", "apple"}},
			{Key: "boolean_attribute_1", Value: true},
			{Key: "integer_attribute", Value: float64(25)},
			{Key: "string_attribute", Value: "fruit"},
		},
	}}
	if !reflect.DeepEqual(req.Attributes, wantAttrs) {
		t.Errorf("attributes =\n%+v\nwant\n%+v", req.Attributes, wantAttrs)
	}
	wantEvents := []EventInput{
		{
			Index: 0, ID: Identifier{ExternalID: "user_identifier"}, Name: "rented_movie",
			Time:  time.Date(2022, 12, 6, 18, 20, 45, 0, time.UTC),
			AppID: "your_app_identifier",
			// canonical: keys sorted, no white space, numbers as sent
			Properties: json.RawMessage(`{"cast":[{"name":"Actor1"},{"name":"Actor2"}],"release":{"studio":"FilmStudio","year":"2022"}}`),
		},
		{
			Index: 1, ID: Identifier{Alias: &Alias{Name: "device123", Label: "my_device_identifier"}}, UpdateExistingOnly: true,
			Name: "rented_movie", Time: time.Date(2013, 7, 16, 18, 20, 50, 0, time.UTC), AppID: "your_app_identifier",
			Properties: json.RawMessage(`{}`),
		},
	}
	if !reflect.DeepEqual(req.Events, wantEvents) {
		t.Errorf("events =\n%+v\nwant\n%+v", req.Events, wantEvents)
	}
	wantPurchases := []PurchaseInput{{
		Index: 0, ID: Identifier{ExternalID: "user_identifier"}, ProductID: "product_name", Currency: "USD",
		Price: 12.12, Quantity: 6, Time: time.Date(2017, 5, 12, 18, 47, 12, 0, time.UTC), AppID: "your_app_identifier",
		Properties: json.RawMessage(`{"brand":"Backpack Locker","checkout_duration":180,"color":"red","monogram":"ABC","size":"Large"}`),
	}}
	if !reflect.DeepEqual(req.Purchases, wantPurchases) {
		t.Errorf("purchases =\n%+v\nwant\n%+v", req.Purchases, wantPurchases)
	}
}

func TestDecodeTrackHasArrays(t *testing.T) {
	t.Parallel()
	req := decodeTrack(t, `{"events":[],"api_key":"legacy-key"}`)
	if req.HasAttributes || !req.HasEvents || req.HasPurchases {
		t.Errorf("Has* = %v/%v/%v; want only events", req.HasAttributes, req.HasEvents, req.HasPurchases)
	}
	if req.Bulk {
		t.Error("Bulk set by the decoder; it comes from the X-Braze-Bulk header")
	}
}

func TestDecodeTrackAPIKeyTolerated(t *testing.T) {
	t.Parallel()
	req := decodeTrack(t, `{"api_key":"00000000-0000-0000-0000-000000000000","attributes":[`+goodAttr+`]}`)
	if len(req.Attributes) != 1 || len(req.Errors) != 0 {
		t.Fatalf("got %+v, errors %+v; want the attribute decoded and api_key ignored", req.Attributes, req.Errors)
	}
}

func TestDecodeTrackUpdateExistingOnly(t *testing.T) {
	t.Parallel()
	alias := `"user_alias":{"alias_name":"n","alias_label":"l"}`
	cases := []struct {
		name string
		id   string // identifier and optional flag, as JSON members
		want bool
	}{
		{"external_id default", `"external_id":"u1"`, false},
		{"external_id explicit true", `"external_id":"u1","_update_existing_only":true`, true},
		{"external_id explicit false", `"external_id":"u1","_update_existing_only":false`, false},
		{"user_alias default", alias, true},
		{"user_alias explicit false creates", alias + `,"_update_existing_only":false`, false},
		{"user_alias explicit true", alias + `,"_update_existing_only":true`, true},
		{"braze_id default", `"braze_id":"0123456789abcdef01234567"`, true},
		{"braze_id never creates", `"braze_id":"0123456789abcdef01234567","_update_existing_only":false`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := fmt.Sprintf(`{"attributes":[{%[1]s,"first_name":"A"}],
				"events":[{%[1]s,"name":"e","time":"2024-01-02T03:04:05Z"}],
				"purchases":[{%[1]s,"product_id":"p","currency":"EUR","price":2,"time":"2024-01-02T03:04:05Z"}]}`, tc.id)
			req := decodeTrack(t, body)
			if len(req.Errors) != 0 || len(req.Attributes) != 1 || len(req.Events) != 1 || len(req.Purchases) != 1 {
				t.Fatalf("decoded %+v; want one object per array and no errors", req)
			}
			got := []bool{req.Attributes[0].UpdateExistingOnly, req.Events[0].UpdateExistingOnly, req.Purchases[0].UpdateExistingOnly}
			for i, g := range got {
				if g != tc.want {
					t.Errorf("%s: UpdateExistingOnly = %v; want %v", []string{"attributes", "events", "purchases"}[i], g, tc.want)
				}
			}
		})
	}
}

func TestDecodeTrackTimes(t *testing.T) {
	t.Parallel()
	req := decodeTrack(t, `{
		"attributes":[{"external_id":"u1","date_of_first_session":"2020-01-01T00:00:00-05:00","date_of_last_session":"2099-01-01T00:00:00Z"}],
		"events":[
			{"external_id":"u1","name":"future","time":"2030-01-01T00:00:00Z"},
			{"external_id":"u1","name":"past","time":"2024-02-29T23:30:00.123+02:00"},
			{"external_id":"u1","name":"date only","time":"2024-02-29"},
			{"external_id":"u1","name":"no zone","time":"2024-02-29T10:11:12"}
		],
		"purchases":[{"external_id":"u1","product_id":"p","currency":"usd","price":0,"time":"2025-06-01T12:00:00.001Z"}]}`)
	if len(req.Errors) != 0 {
		t.Fatalf("errors = %+v", req.Errors)
	}
	a := req.Attributes[0]
	if a.FirstSession == nil || !a.FirstSession.Equal(time.Date(2020, 1, 1, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("first session = %v; want 2020-01-01T05:00Z", a.FirstSession)
	}
	if a.LastSession == nil || !a.LastSession.Equal(trackNow) {
		t.Errorf("last session = %v; want the future time clamped to now %v", a.LastSession, trackNow)
	}
	want := []time.Time{
		trackNow,
		time.Date(2024, 2, 29, 21, 30, 0, 123e6, time.UTC),
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 10, 11, 12, 0, time.UTC),
	}
	for i, w := range want {
		if got := req.Events[i].Time; !got.Equal(w) || got.Location() != time.UTC {
			t.Errorf("events[%d].Time = %v; want %v in UTC", i, got, w)
		}
	}
	p := req.Purchases[0]
	if !p.Time.Equal(trackNow) {
		t.Errorf("purchase time = %v; want a millisecond in the future clamped to now", p.Time)
	}
	if p.Currency != "USD" || p.Quantity != 1 {
		t.Errorf("purchase = %+v; want currency upper-cased and quantity defaulting to 1", p)
	}
}

func TestDecodeTrackQuantity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field string
		want  int
	}{{``, 1}, {`,"quantity":1`, 1}, {`,"quantity":6`, 6}, {`,"quantity":100`, 100}} {
		req := decodeTrack(t, `{"purchases":[{"external_id":"u1","product_id":"p","currency":"USD","price":1,"time":"2024-01-02"`+tc.field+`}]}`)
		if len(req.Purchases) != 1 || req.Purchases[0].Quantity != tc.want {
			t.Errorf("quantity field %q: purchases %+v, errors %+v; want quantity %d", tc.field, req.Purchases, req.Errors, tc.want)
		}
	}
}

func TestDecodeTrackCustomTyping(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name  string
		value string // the attribute's JSON value
		want  CustomOp
	}{
		{"ISO 8601 string becomes a time", `"2024-01-02T03:04:05Z"`, CustomOp{Value: when}},
		{"ISO 8601 with offset", `"2024-01-02T04:04:05+01:00"`, CustomOp{Value: when}},
		{"date only", `"2024-01-02"`, CustomOp{Value: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}},
		{"plain string", `"gold"`, CustomOp{Value: "gold"}},
		{"digits stay a string", `"12345"`, CustomOp{Value: "12345"}},
		{"version stays a string", `"1.2.3"`, CustomOp{Value: "1.2.3"}},
		{"bad date stays a string", `"2024-13-01"`, CustomOp{Value: "2024-13-01"}},
		{"integer", `25`, CustomOp{Value: float64(25)}},
		{"float", `-1.5e3`, CustomOp{Value: float64(-1500)}},
		{"boolean", `false`, CustomOp{Value: false}},
		{"array", `["a",1,true]`, CustomOp{Value: []any{"a", float64(1), true}}},
		{"array strings are not times", `["2024-01-02"]`, CustomOp{Value: []any{"2024-01-02"}}},
		{"empty array", `[]`, CustomOp{Value: []any{}}},
		{"array of 25", repeat(`"x"`, 25), CustomOp{Value: []any{"x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x"}}},
		{"nested object", `{"song":{"name":"Solea","plays":3,"tags":["jazz"],"live":null}}`,
			CustomOp{Value: map[string]any{"song": map[string]any{"name": "Solea", "plays": float64(3), "tags": []any{"jazz"}, "live": nil}}}},
		{"nested time string stays a string", `{"at":"2024-01-02T03:04:05Z"}`, CustomOp{Value: map[string]any{"at": "2024-01-02T03:04:05Z"}}},
		{"inc", `{"inc":2}`, CustomOp{Kind: OpInc, Inc: 2}},
		{"negative inc", `{"inc":-0.5}`, CustomOp{Kind: OpInc, Inc: -0.5}},
		{"add", `{"add":["x",2]}`, CustomOp{Kind: OpAdd, Items: []any{"x", float64(2)}}},
		{"remove", `{"remove":["x"]}`, CustomOp{Kind: OpRemove, Items: []any{"x"}}},
		{"null unsets", `null`, CustomOp{Kind: OpUnset}},
		{"object with inc and more is nested", `{"inc":1,"by":2}`, CustomOp{Value: map[string]any{"inc": float64(1), "by": float64(2)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := decodeTrack(t, `{"attributes":[{"external_id":"u1","attr":`+tc.value+`}]}`)
			if len(req.Errors) != 0 || len(req.Attributes) != 1 {
				t.Fatalf("errors = %+v; want none", req.Errors)
			}
			want := tc.want
			want.Key = "attr"
			if got := req.Attributes[0].Custom; len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Errorf("custom = %#v; want [%#v]", got, want)
			}
		})
	}
}

func TestDecodeTrackCustomErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("s", 256)
	cases := []struct {
		name, member, want string
	}{
		{"array longer than the limit", `"tags":` + repeat(`"t"`, 26), "more than the maximum 25"},
		{"array of objects", `"tags":[{"a":1}]`, "only strings, numbers and booleans"},
		{"array of arrays", `"tags":[[1]]`, "only strings, numbers and booleans"},
		{"array with null", `"tags":[null]`, "only strings, numbers and booleans"},
		{"array string over 255", `"tags":["` + long + `"]`, "at most 255"},
		{"string over 255", `"s":"` + long + `"`, "at most 255"},
		{"key starting with $", `"$plan":"gold"`, "must not start with $"},
		{"key too long", `"` + strings.Repeat("k", 256) + `":1`, "longer than 255"},
		{"inc of a string", `"n":{"inc":"1"}`, "inc needs a number"},
		{"inc out of range", `"n":{"inc":1e400}`, "out of range"},
		{"add not an array", `"tags":{"add":"x"}`, "add needs an array"},
		{"remove not an array", `"tags":{"remove":1}`, "remove needs an array"},
		{"add of objects", `"tags":{"add":[{}]}`, "only strings, numbers and booleans"},
		{"nested key with $", `"o":{"a":{"$time":"2024-01-02T00:00:00.000Z"}}`, "must not start with $"},
		{"nested string over 255", `"o":{"a":"` + long + `"}`, "at most 255"},
		{"nested over 50 KB", `"o":{"l":[` + strings.TrimSuffix(strings.Repeat(`"`+strings.Repeat("y", 250)+`",`, 210), ",") + `]}`, "larger than 50 KB"},
		{"nested too deep", `"o":` + strings.Repeat(`{"a":`, 22) + `1` + strings.Repeat(`}`, 22), "20 levels"},
		{"number out of range", `"n":-1e400`, "out of range"},
		{"first session not a string", `"date_of_first_session":12`, "ISO 8601"},
		{"push_tokens not an array", `"push_tokens":{"app_id":"a","token":"t"}`, "push_tokens: must be an array"},
		{"push token without token", `"push_tokens":[{"app_id":"a"}]`, "needs app_id and token"},
		{"push token not an object", `"push_tokens":["t"]`, "must be an object"},
		{"more than 50 push tokens", `"push_tokens":` + repeat(`{"app_id":"a","token":"t"}`, 51), "at most 50"},
		{"push token too long", `"push_tokens":[{"app_id":"a","token":"` + strings.Repeat("t", 4097) + `"}]`, "longer than 4096"},
		{"subscription_groups unsupported", `"subscription_groups":[]`, "not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := decodeTrack(t, `{"attributes":[{"external_id":"u1",`+tc.member+`}]}`)
			if len(req.Attributes) != 1 {
				t.Fatalf("attributes = %+v; a bad field must keep the object", req.Attributes)
			}
			a := req.Attributes[0]
			if len(a.Custom)+len(a.Standard)+len(a.PushTokens) != 0 {
				t.Errorf("object kept the bad field: %+v", a)
			}
			checkErrors(t, req.Errors, []wantErr{{"attributes", 0, tc.want}})
		})
	}
}

func TestDecodeTrackMaxArrayLengthFromLimits(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxObjects: 75, MaxArrayLength: 100}
	req, err := DecodeTrack(strings.NewReader(`{"attributes":[{"external_id":"u1","tags":`+repeat(`1`, 100)+`}]}`), trackNow, lim)
	if err != nil || len(req.Errors) != 0 || len(req.Attributes[0].Custom) != 1 {
		t.Fatalf("100 elements with MaxArrayLength 100: %v, %+v; want accepted", err, req)
	}
	req, err = DecodeTrack(strings.NewReader(`{"attributes":[{"external_id":"u1","tags":[1,2,3,4]}]}`), trackNow, Limits{MaxObjects: 75, MaxArrayLength: 3})
	if err != nil || len(req.Errors) != 1 || !strings.Contains(req.Errors[0].Type, "maximum 3") {
		t.Fatalf("4 elements with MaxArrayLength 3: %v, %+v; want an error naming 3", err, req)
	}
}

func TestDecodeTrackStandardAndTokens(t *testing.T) {
	t.Parallel()
	req := decodeTrack(t, `{"attributes":[{"external_id":"u1",
		"email":" Ann@Example.COM ","country":"de","date_of_birth":"1990-02-03","last_name":null,
		"email_subscribe":"opted_in",
		"push_tokens":[{"app_id":"ios-app","token":"ABCDEF","device_id":"dev-1"},{"app_id":"web","token":"{}"}]}]}`)
	if len(req.Errors) != 0 {
		t.Fatalf("errors = %+v", req.Errors)
	}
	a := req.Attributes[0]
	got := map[string]string{}
	for _, op := range a.Standard {
		if op.Value == nil {
			got[op.Field] = "<null>"
		} else {
			got[op.Field] = *op.Value
		}
	}
	want := map[string]string{"email": "ann@example.com", "country": "DE", "dob": "1990-02-03", "last_name": "<null>", "email_subscribe": "opted_in"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("standard ops = %v; want %v", got, want)
	}
	// tokens are checked against their app's platform by the service, not here
	wantTokens := []PushTokenInput{{AppID: "ios-app", Token: "ABCDEF", DeviceID: "dev-1"}, {AppID: "web", Token: "{}"}}
	if !reflect.DeepEqual(a.PushTokens, wantTokens) {
		t.Errorf("push tokens = %+v; want %+v", a.PushTokens, wantTokens)
	}
}
