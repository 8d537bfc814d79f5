package profiles

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

func (d *trackDecoder) event(index int, raw any) {
	const array = "events"
	obj, id, updateOnly, ok := d.head(array, index, raw)
	if !ok {
		return
	}
	ev := EventInput{Index: index, ID: id, UpdateExistingOnly: updateOnly}
	name, ok := obj["name"].(string)
	if !ok || strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > 255 {
		d.fail(array, index, "'name' is required: a non-empty string of at most 255 characters")
		return
	}
	ev.Name = name
	if ev.Time, ev.AppID, ev.Properties, ok = d.tail(array, index, obj, "name"); !ok {
		return
	}
	d.req.Events = append(d.req.Events, ev)
}

func (d *trackDecoder) purchase(index int, raw any) {
	const array = "purchases"
	obj, id, updateOnly, ok := d.head(array, index, raw)
	if !ok {
		return
	}
	p := PurchaseInput{Index: index, ID: id, UpdateExistingOnly: updateOnly, Quantity: 1}
	pid, ok := obj["product_id"].(string)
	if !ok || strings.TrimSpace(pid) == "" || utf8.RuneCountInString(pid) > 255 {
		d.fail(array, index, "'product_id' is required: a non-empty string of at most 255 characters")
		return
	}
	p.ProductID = pid
	cur, _ := obj["currency"].(string)
	if !isCurrency(cur) {
		d.fail(array, index, "'currency' is required: a three-letter ISO 4217 code")
		return
	}
	p.Currency = strings.ToUpper(cur)
	price, ok := obj["price"].(json.Number)
	if !ok {
		d.fail(array, index, "'price' is required: a number")
		return
	}
	f, err := number(price)
	if err != nil {
		d.fail(array, index, "'price': %v", err)
		return
	}
	p.Price = f
	if q, ok := obj["quantity"]; ok {
		n, isNum := q.(json.Number)
		i, err := n.Int64()
		if !isNum || err != nil || i < 1 || i > 100 {
			d.fail(array, index, "'quantity' must be an integer from 1 to 100")
			return
		}
		p.Quantity = int(i)
	}
	if p.Time, p.AppID, p.Properties, ok = d.tail(array, index, obj, "product_id", "currency", "price", "quantity"); !ok {
		return
	}
	d.req.Purchases = append(d.req.Purchases, p)
}

// tail reads what events and purchases end with (time, app_id, properties) and
// refuses fields other than those and own.
func (d *trackDecoder) tail(array string, index int, obj map[string]any, own ...string) (time.Time, string, json.RawMessage, bool) {
	t, ok := d.time(array, index, obj["time"])
	if !ok {
		return t, "", nil, false
	}
	app, ok := d.appID(array, index, obj["app_id"])
	if !ok {
		return t, "", nil, false
	}
	props, ok := d.properties(array, index, obj["properties"])
	if !ok {
		return t, "", nil, false
	}
	for _, k := range sortedKeys(obj) {
		switch {
		case k == "time" || k == "app_id" || k == "properties" || slices.Contains(own, k):
		default:
			d.fail(array, index, "unknown field %q", k)
			return t, "", nil, false
		}
	}
	return t, app, props, true
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

func (d *trackDecoder) time(array string, index int, v any) (time.Time, bool) {
	s, _ := v.(string)
	t, ok := ParseTime(s)
	if !ok {
		d.fail(array, index, "'time' is required: an ISO 8601 time")
		return time.Time{}, false
	}
	if t.After(d.now) {
		t = d.now // Braze stores future timestamps as now
	}
	return t, true
}

func (d *trackDecoder) appID(array string, index int, v any) (string, bool) {
	if v == nil {
		return "", true
	}
	s, ok := v.(string)
	if !ok || len(s) > 64 {
		d.fail(array, index, "'app_id' must be a string")
		return "", false
	}
	return s, true
}

// properties validates an event or purchase properties object and returns its
// canonical JSON.
func (d *trackDecoder) properties(array string, index int, v any) (json.RawMessage, bool) {
	if v == nil {
		return json.RawMessage("{}"), true
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(array, index, "'properties' must be an object")
		return nil, false
	}
	if _, _, err := nestedValue(m, 0); err != nil {
		d.fail(array, index, "'properties': %v", err)
		return nil, false
	}
	out, err := json.Marshal(m) // json.Number keeps the exact text; keys come out sorted
	if err != nil {
		d.fail(array, index, "'properties': %v", err)
		return nil, false
	}
	if len(out) > 50*1024 {
		d.fail(array, index, "'properties' is larger than 50 KB")
		return nil, false
	}
	return out, true
}
