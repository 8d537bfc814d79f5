package templates

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestObjectRender(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	src := map[string]any{
		"alert": map[string]any{
			"title": "Hi {{${first_name} | default: 'there'}}",
			"body":  "{% if custom_attribute.${plan} == 'gold' %}Your gold perks await{% else %}Upgrade today{% endif %}",
		},
		"badge":             float64(1),
		"content-available": true,
		"sound":             nil,
		"buttons": []any{
			map[string]any{"text": "Shop {{ event_properties.${category} }}", "uri": "https://ex.com/{{ user_id | url_param_escape }}"},
			"static",
		},
		"tags":  []string{"{{ country }}", "promo"},
		"extra": map[string]string{"ref": "{{ user_id | md5 }}"},
	}
	obj, err := e.ParseObject(src)
	if err != nil {
		t.Fatal(err)
	}
	vars := Vars{"first_name": "Ada", "user_id": "a b", "country": "GB",
		"custom_attribute": map[string]any{"plan": "gold"}, "event_properties": map[string]any{"category": "tea"}}
	got, err := obj.Render(context.Background(), vars)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"alert":             map[string]any{"title": "Hi Ada", "body": "Your gold perks await"},
		"badge":             float64(1),
		"content-available": true,
		"sound":             nil,
		"buttons": []any{
			map[string]any{"text": "Shop tea", "uri": "https://ex.com/a%20b"},
			"static",
		},
		"tags":  []any{"GB", "promo"},
		"extra": map[string]any{"ref": "0cc9cd4dd26c5137b675a0d819cb9ab0"},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("got %s", g)
	}
	// A fresh tree each time: changing the result does not change the next one.
	got["alert"].(map[string]any)["title"] = "changed"
	again, _ := obj.Render(context.Background(), vars)
	if again["alert"].(map[string]any)["title"] != "Hi Ada" {
		t.Error("render results share state")
	}
	if src["alert"].(map[string]any)["title"] != "Hi {{${first_name} | default: 'there'}}" {
		t.Error("source object modified")
	}
}

func TestObjectAbortAndErrors(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	obj, err := e.ParseObject(map[string]any{
		"title": "Hello",
		"data":  map[string]any{"list": []any{"{% if vip != true %}{% abort_message('not vip') %}{% endif %}"}},
		"count": "{{ n | plus: 1 }}",
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = obj.Render(context.Background(), Vars{"n": 1})
	var abort *AbortError
	if !errors.As(err, &abort) || abort.Reason != "not vip" {
		t.Fatalf("abort: %v", err)
	}
	_, err = obj.Render(context.Background(), Vars{"vip": true, "n": "x"})
	var re *RenderError
	if !errors.As(err, &re) || re.Field != "count" || re.Error() != `count: render 1:1: can't convert string(x) to type float64` {
		t.Fatalf("render error: %v", err)
	}
	empty, err := e.ParseObject(nil)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := empty.Render(context.Background(), nil); err != nil || out == nil || len(out) != 0 {
		t.Errorf("nil object: %v, %v", out, err)
	}
}
