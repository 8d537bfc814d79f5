package profiles

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Seeds shared by the fuzz targets; the corpus files under testdata/fuzz hold more.
const (
	seedP256dh = "BAEKH5-T-FsUpQdSpiA7VZHg6KZdzzlxuXFsXCoWNjxki4wKzM4hWBvTcfhUXaUxE_owsZy4bnHTBnZR2iMkjHg"
	seedAuth   = "z9bOBtdpfLUEPnaAuDXEwA"
	seedSub    = `{"endpoint":"https://fcm.googleapis.com/fcm/send/c1:APA91b","expirationTime":null,"keys":{"p256dh":"` + seedP256dh + `","auth":"` + seedAuth + `"}}`
)

func FuzzDecodeTrack(f *testing.F) {
	for _, s := range []string{
		`{"attributes":[{"external_id":"u1","first_name":"Ann","email":"Ann@Example.com","tags":["a","b"],"score":{"inc":2}}]}`,
		`{"events":[{"user_alias":{"alias_name":"n","alias_label":"l"},"_update_existing_only":false,"name":"e","time":"2024-01-02T03:04:05+01:00","properties":{"a":[1,{"b":null}]}}]}`,
		`{"purchases":[{"braze_id":"b1","product_id":"p","currency":"eur","price":-0,"quantity":100,"time":"2099-01-01"}]}`,
		`{"attributes":[{"first_name":"no id"},7,{"external_id":"u","braze_id":"b"}],"events":[{}],"purchases":[null]}`,
		`{"attributes":[{"external_id":"u","when":"2024-02-29 10:00:00","tags":{"remove":["x",1,true]},"o":{"x":{"y":[1.5e3]}},"gone":null}]}`,
		`{"api_key":"k","events":[]}`,
		`{}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeTrack(bytes.NewReader(body), trackNow, DefaultLimits())
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || req != nil {
				t.Fatalf("DecodeTrack = %v, %v; want a *RequestError and no request", req, err)
			}
			return
		}
		checkTrack(t, body, req)

		// Re-encoding what was kept gives a clean request that decodes to the same.
		again := encodeTrack(t, req)
		req2, err := DecodeTrack(bytes.NewReader(again), trackNow, DefaultLimits())
		if err != nil {
			t.Fatalf("re-encoded request %s: %v", again, err)
		}
		if len(req2.Errors) != 0 {
			t.Fatalf("re-encoded request %s has errors %+v", again, req2.Errors)
		}
		if a, b := withoutIndexes(req), withoutIndexes(req2); !reflect.DeepEqual(a, b) {
			t.Fatalf("re-encoded request %s decodes differently:\n%+v\n%+v", again, a, b)
		}
	})
}

// checkTrack checks what DecodeTrack promises about a request it accepted.
func checkTrack(t *testing.T, body []byte, req *TrackRequest) {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatalf("DecodeTrack accepted a body json rejects: %v", err)
	}
	lengths := map[string]int{}
	for _, k := range []string{"attributes", "events", "purchases"} {
		if raw, ok := top[k]; ok {
			var items []json.RawMessage
			if err := json.Unmarshal(raw, &items); err != nil {
				t.Fatalf("%s accepted but not an array: %v", k, err)
			}
			if len(items) > DefaultLimits().MaxObjects {
				t.Fatalf("%d %s accepted", len(items), k)
			}
			lengths[k] = len(items)
		}
	}
	if len(lengths) == 0 {
		t.Fatal("accepted a request without attributes, events or purchases")
	}
	_, ha := lengths["attributes"]
	_, he := lengths["events"]
	_, hp := lengths["purchases"]
	if req.HasAttributes != ha || req.HasEvents != he || req.HasPurchases != hp {
		t.Fatalf("Has* = %v/%v/%v; body has %v", req.HasAttributes, req.HasEvents, req.HasPurchases, lengths)
	}

	errored := map[string]map[int]bool{}
	for _, e := range req.Errors {
		n, ok := lengths[e.InputArray]
		if !ok || e.Index < 0 || e.Index >= n {
			t.Fatalf("error %+v outside the arrays %v", e, lengths)
		}
		if e.Type == "" {
			t.Fatalf("error %+v without a type", e)
		}
		if errored[e.InputArray] == nil {
			errored[e.InputArray] = map[int]bool{}
		}
		errored[e.InputArray][e.Index] = true
	}
	kept := map[string][]int{}
	for _, a := range req.Attributes {
		kept["attributes"] = append(kept["attributes"], a.Index)
		checkIdentifier(t, a.ID, a.UpdateExistingOnly)
		checkAttribute(t, a)
	}
	for _, e := range req.Events {
		kept["events"] = append(kept["events"], e.Index)
		checkIdentifier(t, e.ID, e.UpdateExistingOnly)
		if strings.TrimSpace(e.Name) == "" || len(e.Name) > 255 {
			t.Fatalf("event name %q", e.Name)
		}
		checkTime(t, "event time", e.Time)
		checkProperties(t, e.Properties)
	}
	for _, p := range req.Purchases {
		kept["purchases"] = append(kept["purchases"], p.Index)
		checkIdentifier(t, p.ID, p.UpdateExistingOnly)
		if p.Quantity < 1 || p.Quantity > 100 || len(p.Currency) != 3 || strings.ToUpper(p.Currency) != p.Currency ||
			strings.TrimSpace(p.ProductID) == "" || len(p.ProductID) > 255 {
			t.Fatalf("purchase %+v", p)
		}
		checkTime(t, "purchase time", p.Time)
		checkProperties(t, p.Properties)
	}
	for array, n := range lengths {
		idx := kept[array]
		for i := range idx {
			if idx[i] < 0 || idx[i] >= n || (i > 0 && idx[i] <= idx[i-1]) {
				t.Fatalf("%s kept indexes %v of %d objects", array, idx, n)
			}
		}
		// every object is kept or reported; events and purchases are never both
		have := map[int]bool{}
		for _, i := range idx {
			have[i] = true
			if array != "attributes" && errored[array][i] {
				t.Fatalf("%s[%d] kept and reported", array, i)
			}
		}
		for i := 0; i < n; i++ {
			if !have[i] && !errored[array][i] {
				t.Fatalf("%s[%d] neither kept nor reported", array, i)
			}
		}
	}
}

func checkIdentifier(t *testing.T, id Identifier, updateOnly bool) {
	t.Helper()
	n := 0
	if id.ExternalID != "" {
		n++
	}
	if id.BrazeID != "" {
		n++
		if !updateOnly {
			t.Fatalf("braze_id %q may create a user", id.BrazeID)
		}
	}
	if id.Alias != nil {
		n++
		if id.Alias.Name == "" || id.Alias.Label == "" {
			t.Fatalf("alias %+v", *id.Alias)
		}
	}
	if n != 1 {
		t.Fatalf("identifier %+v has %d kinds", id, n)
	}
}

func checkTime(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.After(trackNow) || tm.Location() != time.UTC {
		t.Fatalf("%s %v: after now or not UTC", what, tm)
	}
}

func checkProperties(t *testing.T, p json.RawMessage) {
	t.Helper()
	if len(p) > 50*1024 {
		t.Fatalf("properties of %d bytes", len(p))
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		t.Fatalf("properties %s are not a JSON object: %v", p, err)
	}
	if canon, _ := json.Marshal(m); !bytes.Equal(canon, p) {
		t.Fatalf("properties %s are not canonical (%s)", p, canon)
	}
}

func checkAttribute(t *testing.T, a AttributeUpdate) {
	t.Helper()
	for _, op := range a.Standard {
		if op.Value != nil && (*op.Value == "" || len(*op.Value) > 255 || strings.TrimSpace(*op.Value) != *op.Value) {
			t.Fatalf("standard op %s = %q", op.Field, *op.Value)
		}
	}
	for _, s := range []*time.Time{a.FirstSession, a.LastSession} {
		if s != nil {
			checkTime(t, "session", *s)
		}
	}
	// the ops apply to a new profile, and what they leave survives storage
	c := Custom{}
	for _, op := range a.Custom {
		if err := validKey(op.Key); err != nil {
			t.Fatalf("custom key %q: %v", op.Key, err)
		}
		if err := c.Apply(op, DefaultLimits().MaxArrayLength); err != nil {
			t.Fatalf("op %+v does not apply to a new profile: %v", op, err)
		}
	}
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatalf("custom %#v does not encode: %v", c, err)
	}
	var back Custom
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("stored custom %s does not decode: %v", b, err)
	}
	if !back.Equal(c) {
		t.Fatalf("custom %#v stored as %s reads back as %#v", c, b, back)
	}
	for k, v := range c {
		if TypeName(back[k]) != TypeName(v) {
			t.Fatalf("custom %q: a %s stored as %s reads back as a %s", k, TypeName(v), b, TypeName(back[k]))
		}
	}
}

// encodeTrack writes the objects of req as a /users/track body.
func encodeTrack(t *testing.T, req *TrackRequest) []byte {
	t.Helper()
	ts := func(tm time.Time) string { return tm.Format(time.RFC3339Nano) }
	ident := func(m map[string]any, id Identifier, updateOnly bool) map[string]any {
		switch {
		case id.ExternalID != "":
			m["external_id"] = id.ExternalID
		case id.BrazeID != "":
			m["braze_id"] = id.BrazeID
		case id.Alias != nil:
			m["user_alias"] = map[string]string{"alias_name": id.Alias.Name, "alias_label": id.Alias.Label}
		}
		m["_update_existing_only"] = updateOnly
		return m
	}
	body := map[string]any{}
	if req.HasAttributes {
		list := []any{}
		for _, a := range req.Attributes {
			m := ident(map[string]any{}, a.ID, a.UpdateExistingOnly)
			dobs := 0
			for _, op := range a.Standard {
				if op.Field == "dob" {
					dobs++
				}
			}
			for _, op := range a.Standard {
				key := op.Field
				if key == "dob" && dobs == 2 {
					key, dobs = "date_of_birth", 1 // the decoder reads date_of_birth before dob
				}
				if op.Value == nil {
					m[key] = nil
				} else {
					m[key] = *op.Value
				}
			}
			for _, op := range a.Custom {
				switch op.Kind {
				case OpSet:
					if tm, ok := op.Value.(time.Time); ok {
						m[op.Key] = ts(tm)
					} else {
						m[op.Key] = op.Value
					}
				case OpUnset:
					m[op.Key] = nil
				case OpInc:
					m[op.Key] = map[string]any{"inc": op.Inc}
				case OpAdd:
					m[op.Key] = map[string]any{"add": op.Items}
				case OpRemove:
					m[op.Key] = map[string]any{"remove": op.Items}
				}
			}
			if a.PushTokens != nil {
				toks := []any{}
				for _, tok := range a.PushTokens {
					toks = append(toks, map[string]string{"app_id": tok.AppID, "token": tok.Token, "device_id": tok.DeviceID})
				}
				m["push_tokens"] = toks
			}
			if a.FirstSession != nil {
				m["date_of_first_session"] = ts(*a.FirstSession)
			}
			if a.LastSession != nil {
				m["date_of_last_session"] = ts(*a.LastSession)
			}
			list = append(list, m)
		}
		body["attributes"] = list
	}
	if req.HasEvents {
		list := []any{}
		for _, e := range req.Events {
			m := ident(map[string]any{"name": e.Name, "time": ts(e.Time), "properties": e.Properties}, e.ID, e.UpdateExistingOnly)
			if e.AppID != "" {
				m["app_id"] = e.AppID
			}
			list = append(list, m)
		}
		body["events"] = list
	}
	if req.HasPurchases {
		list := []any{}
		for _, p := range req.Purchases {
			m := ident(map[string]any{"product_id": p.ProductID, "currency": p.Currency, "price": p.Price,
				"quantity": p.Quantity, "time": ts(p.Time), "properties": p.Properties}, p.ID, p.UpdateExistingOnly)
			if p.AppID != "" {
				m["app_id"] = p.AppID
			}
			list = append(list, m)
		}
		body["purchases"] = list
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("encoding %+v: %v", req, err)
	}
	return b
}

// withoutIndexes returns a copy of req's objects with indexes cleared (re-encoding
// renumbers them).
func withoutIndexes(req *TrackRequest) TrackRequest {
	out := TrackRequest{HasAttributes: req.HasAttributes, HasEvents: req.HasEvents, HasPurchases: req.HasPurchases}
	for _, a := range req.Attributes {
		a.Index = 0
		out.Attributes = append(out.Attributes, a)
	}
	for _, e := range req.Events {
		e.Index = 0
		out.Events = append(out.Events, e)
	}
	for _, p := range req.Purchases {
		p.Index = 0
		out.Purchases = append(out.Purchases, p)
	}
	return out
}

func FuzzParseWebSubscription(f *testing.F) {
	f.Add(seedSub)
	f.Add(`{"keys":{"auth":"` + seedAuth + `","p256dh":"` + seedP256dh + `"},"endpoint":"https://updates.push.services.mozilla.com/wpush/v2/gAAAAA?a=1&b=2"}`)
	f.Add(`{"endpoint":"http://localhost:8080/push","keys":{"p256dh":"` + seedP256dh + `","auth":"` + seedAuth + `"}}`)
	f.Add(`{"endpoint":"https://push.example","keys":{"p256dh":"BAAA","auth":"AAAA"}}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, s string) {
		sub, err := ParseWebSubscription(s)
		if err != nil {
			if sub != nil {
				t.Fatalf("a subscription %+v with the error %v", sub, err)
			}
			return
		}
		u, err := url.Parse(sub.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			t.Fatalf("endpoint %q accepted (%v)", sub.Endpoint, err)
		}
		if h := u.Hostname(); u.Scheme == "http" && h != "localhost" && !net.ParseIP(h).IsLoopback() {
			t.Fatalf("plain http endpoint %q off loopback accepted", sub.Endpoint)
		}
		if b, err := decodeB64URL(sub.Keys.P256dh); err != nil {
			t.Fatalf("p256dh %q accepted", sub.Keys.P256dh)
		} else if _, err := ecdh.P256().NewPublicKey(b); err != nil {
			t.Fatalf("p256dh %q accepted, but it is no P-256 public key: %v", sub.Keys.P256dh, err)
		}
		if b, err := decodeB64URL(sub.Keys.Auth); err != nil || len(b) != 16 {
			t.Fatalf("auth %q accepted", sub.Keys.Auth)
		}
		checkWebToken(t, s, sub)
	})
}

// checkWebToken checks that an accepted subscription normalizes to a stored form
// keyed by its endpoint, and that the stored form is a fixed point.
func checkWebToken(t *testing.T, token string, sub *WebSubscription) {
	t.Helper()
	stored, key, err := NormalizeToken(PlatformWeb, token)
	if err != nil {
		t.Fatalf("parsed but not normalized: %v", err)
	}
	if key != sub.Endpoint {
		t.Fatalf("key %q; want the endpoint %q", key, sub.Endpoint)
	}
	again, key2, err := NormalizeToken(PlatformWeb, stored)
	if err != nil || again != stored || key2 != key {
		t.Fatalf("stored %s normalizes to %s, %q, %v", stored, again, key2, err)
	}
	back, err := ParseWebSubscription(stored)
	if err != nil || back.Endpoint != sub.Endpoint {
		t.Fatalf("stored %s parses to %+v, %v; want %+v", stored, back, err, sub)
	}
	// the stored keys are the same bytes, in the one canonical dialect
	for _, k := range [][2]string{{back.Keys.P256dh, sub.Keys.P256dh}, {back.Keys.Auth, sub.Keys.Auth}} {
		got, err := base64.RawURLEncoding.DecodeString(k[0])
		want, _ := decodeB64URL(k[1])
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("stored key %q is not the raw base64url of %q (%v)", k[0], k[1], err)
		}
	}
}

func FuzzNormalizeToken(f *testing.F) {
	platforms := []string{PlatformIOS, PlatformAndroid, PlatformWeb, "", "windows"}
	f.Add(uint8(0), "AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56ABCD")
	f.Add(uint8(1), "dGVzdA:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx")
	f.Add(uint8(2), seedSub)
	f.Add(uint8(0), " abc\x00 ")
	f.Add(uint8(1), "tök")
	f.Add(uint8(3), "x")
	f.Fuzz(func(t *testing.T, p uint8, token string) {
		platform := platforms[int(p)%len(platforms)]
		stored, key, err := NormalizeToken(platform, token)
		if err != nil {
			if stored != "" || key != "" {
				t.Fatalf("%q, %q with the error %v", stored, key, err)
			}
			return
		}
		switch platform {
		case PlatformWeb:
			sub, err := ParseWebSubscription(token)
			if err != nil {
				t.Fatalf("normalized a subscription ParseWebSubscription rejects: %v", err)
			}
			checkWebToken(t, token, sub)
			return
		case PlatformIOS, PlatformAndroid:
		default:
			t.Fatalf("platform %q accepted", platform)
		}
		if stored != key || stored == "" || len(stored) > 4096 {
			t.Fatalf("stored %q, key %q", stored, key)
		}
		for _, r := range stored {
			if r <= ' ' || r > '~' {
				t.Fatalf("stored %q holds %q", stored, r)
			}
		}
		if platform == PlatformAndroid && stored != strings.TrimSpace(token) {
			t.Fatalf("an FCM token changed: %q -> %q", token, stored)
		}
		if platform == PlatformIOS && !strings.EqualFold(stored, strings.TrimSpace(token)) {
			t.Fatalf("an APNs token changed beyond case: %q -> %q", token, stored)
		}
		again, key2, err := NormalizeToken(platform, stored)
		if err != nil || again != stored || key2 != key {
			t.Fatalf("normalizing %q again gave %q, %q, %v", stored, again, key2, err)
		}
	})
}

func FuzzDecodeExport(f *testing.F) {
	for _, s := range []string{
		`{"external_ids":["user1","user2"],"fields_to_export":["first_name","email","purchases"]}`,
		`{"user_aliases":[{"alias_name":"example_alias","alias_label":"example_label"}],"fields_to_export":["custom_attributes"]}`,
		`{"email_address":"Example@Braze.com"}`,
		`{"device_id":"d1","phone":"+1"}`,
		`{"braze_id":"b","api_key":"k","fields_to_export":[]}`,
		`{"external_ids":[],"user_aliases":[{}]}`,
	} {
		f.Add([]byte(s))
	}
	known := map[string]bool{}
	for _, k := range ExportFields() {
		known[k] = true
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeExport(bytes.NewReader(body))
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || req != nil {
				t.Fatalf("DecodeExport = %+v, %v; want a *RequestError and no request", req, err)
			}
			return
		}
		l := req.Lookup
		singles := 0
		for _, s := range []string{l.DeviceID, l.BrazeID, l.Email, l.Phone} {
			if s != "" {
				singles++
			}
		}
		if n := len(l.ExternalIDs) + len(l.Aliases); n > maxIdentifiers || singles > 1 || n+singles == 0 {
			t.Fatalf("lookup %+v accepted", l)
		}
		for _, a := range l.Aliases {
			if a.Name == "" || a.Label == "" {
				t.Fatalf("alias %+v accepted", a)
			}
		}
		// the lookup matches the address /users/track stores
		var raw struct {
			Email string `json:"email_address"`
		}
		_ = json.Unmarshal(body, &raw)
		if op, err := standardOp("email", raw.Email); err == nil && op.Value != nil && *op.Value != l.Email {
			t.Fatalf("email_address %q looks up %q; /users/track stores %q", raw.Email, l.Email, *op.Value)
		}
		for f := range req.Fields {
			if !known[f] {
				t.Fatalf("field %q accepted", f)
			}
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-01-02T03:04:05Z", "2024-01-02", "2024-01-02 03:04:05.999+02:00", "2024-01-02T03:04", "12345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := ParseTime(s)
		if !ok {
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) = %v, not UTC", s, tm)
		}
		// what is accepted can be written back and stored
		again, ok := ParseTime(tm.Format(time.RFC3339Nano))
		if !ok || !again.Equal(tm) {
			t.Fatalf("ParseTime(%q) = %v, which does not parse back from %q", s, tm, tm.Format(time.RFC3339Nano))
		}
		stored := tm.Format(TimeLayout)
		back, err := time.Parse(TimeLayout, stored)
		if err != nil || !back.Equal(tm.Truncate(time.Millisecond)) {
			t.Fatalf("ParseTime(%q) = %v, stored as %q, reads back as %v, %v", s, tm, stored, back, err)
		}
	})
}
