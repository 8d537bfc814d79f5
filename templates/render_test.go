package templates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBrazeDocumentedExamples(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	ada := Vars{"first_name": "Ada", "city": "New York City"}
	anon := Vars{}
	balances := Vars{"custom_attribute": map[string]any{"balance": 12.0, "current_rewards_balance": 25.0,
		"giftcard_balance": 10.0, "Brands Viewed": []any{"Nike", "Converse", "Puma"}}}
	for _, tc := range []struct {
		src       string
		vars      Vars
		want      string
		abortWith string
	}{
		{`Hi {{${first_name} | default: 'there'}}!`, ada, "Hi Ada!", ""},
		{`Hi {{${first_name} | default: 'there'}}!`, anon, "Hi there!", ""},
		{`Hi {{ ${first_name} | default: 'Valued User' }}`, ada, "Hi Ada", ""},
		{`Hi {{ ${first_name} | default: 'Valued User' }}`, anon, "Hi Valued User", ""},
		{`Hi {{${first_name}}}`, anon, "Hi ", ""},
		{`{% if ${city} == "New York City" %}Visit our store!{% else %}{% abort_message("not in NYC") %}{% endif %}`, ada, "Visit our store!", ""},
		{`{% if ${city} == "New York City" %}Visit our store!{% else %}{% abort_message("not in NYC") %}{% endif %}`, anon, "", "not in NYC"},
		{`{% if ${first_name} == blank %}{% abort_message() %}{% endif %}Hello {{${first_name}}}`, anon, "", ""},
		{`{% abort_message('no first name') %}`, anon, "", "no first name"},
		// {{ }} inside tags and outputs (supported_personalization_tags, filters).
		{`{% if {{custom_attribute.${balance}}} > 0 %}Your rewards balance is {{custom_attribute.${balance}}}{% else %}{% abort_message('no balance') %}{% endif %}`,
			balances, "Your rewards balance is 12", ""},
		{`{% if {{custom_attribute.${balance}}} > 0 %}x{% else %}{% abort_message('no balance') %}{% endif %}`, anon, "", "no balance"},
		{`{% assign balance = {{custom_attribute.${current_rewards_balance}}} %}You have ${{custom_attribute.${giftcard_balance} | plus: {{balance}}}} to spend!`,
			balances, "You have $35 to spend!", ""},
		{`{% assign new_points_balance = {{custom_attribute.${current_rewards_balance} | plus: 50}} %}{% if new_points_balance >= 100 %}Bring it to {{new_points_balance}}!{% else %}{% abort_message('not enough points') %}{% endif %}`,
			balances, "", "not enough points"},
		{`{% for items in {{custom_attribute.${Brands Viewed}}} limit:5 %}{% if {{items}} contains 'Converse' %}{% assign converse_viewer = true %}{% endif %}{% endfor %}{% if converse_viewer == true %}Sale on Converse!{% else %}{% abort_message('no converse') %}{% endif %}`,
			balances, "Sale on Converse!", ""},
		{`{% if ${first_name} != blank and ${first_name} != null %}Hello {{${first_name} | default: 'there'}}, thanks for downloading!{% else %}Thanks for downloading!{% endif %}`,
			ada, "Hello Ada, thanks for downloading!", ""},
		{`{% if ${first_name} != blank and ${first_name} != null %}Hello{% else %}Thanks for downloading!{% endif %}`,
			anon, "Thanks for downloading!", ""},
		{`{% echo ${first_name} | default: 'there' | upcase %}`, ada, "ADA", ""},
		{`{{ "{{" }}`, anon, "{{", ""},
	} {
		got, err := renderString(t, e, tc.src, tc.vars)
		var abort *AbortError
		aborted := errors.As(err, &abort)
		switch {
		case strings.Contains(tc.src, "abort_message()") && tc.vars["first_name"] == nil:
			if !aborted || abort.Reason != "" || abort.Error() != "aborted" {
				t.Errorf("%s: want a bare abort, got %v", tc.src, err)
			}
		case tc.abortWith != "":
			if !aborted || abort.Reason != tc.abortWith || abort.Error() != "aborted: "+tc.abortWith {
				t.Errorf("%s: want abort %q, got %q, %v", tc.src, tc.abortWith, got, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("%s: got %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
}

func TestRenderDialect(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	vars := Vars{
		"first_name": "Ada",
		"empty_str":  "",
		"custom_attribute": map[string]any{
			"plan": "gold", "favorite color": "green", "shoe-size": 38.0, `it's`: "q",
			"tags": []any{"a", "b"}, "none": []any{}, "obj": map[string]any{},
		},
		"most_recently_used_device": map[string]any{"model": "iPhone 15", "platform": "ios"},
		"subscribed_state":          map[string]any{"push": "opted_in"},
		"event_properties":          map[string]any{"sku": "A-1"},
		"api_trigger_properties":    map[string]any{"coupon": "SAVE"},
	}
	for _, tc := range []struct{ src, want string }{
		{`{{custom_attribute.${plan}}}`, "gold"},
		{`{{custom_attribute.${favorite color}}}`, "green"},
		{`{{custom_attribute.${shoe-size}}}`, "38"},
		{`{{custom_attribute.${it's}}}`, "q"},
		{`{{ custom_attribute.${tags} | join: '+' }}`, "a+b"},
		{`{{most_recently_used_device.${model}}} on {{most_recently_used_device.${platform}}}`, "iPhone 15 on ios"},
		{`{{subscribed_state.${push}}}`, "opted_in"},
		{`{{event_properties.${sku}}} {{api_trigger_properties.${coupon}}}`, "A-1 SAVE"},
		{`{{event_properties.${missing}}}|{{nothing.at.all}}`, "|"},
		{`{{ '${first_name}' }}`, "${first_name}"},
		{"{{ ${first_name}\n | upcase }}", "ADA"},
		// blank and empty
		{`{% if empty_str == blank %}y{% endif %}`, "y"},
		{`{% if missing == blank %}y{% endif %}`, "y"},
		{`{% if custom_attribute.${none} == blank %}y{% endif %}`, "y"},
		{`{% if custom_attribute.obj == blank %}y{% endif %}`, "y"},
		{`{% if ${first_name} == blank %}y{% else %}n{% endif %}`, "n"},
		{`{% if ${first_name} != blank %}y{% endif %}`, "y"},
		{`{% if custom_attribute["favorite color"] != blank and 1 == 1 %}y{% endif %}`, "y"},
		{`{% unless missing != blank %}y{% endunless %}`, "y"},
		{`{% if empty_str == empty %}y{% endif %}{% if missing == empty %}n{% endif %}`, "y"},
		{`{% if custom_attribute.tags != empty %}y{% endif %}`, "y"},
		{`{% if 'blank' == 'blank' %}y{% endif %}`, "y"},
		{`{% assign is_blank = ${first_name} == blank %}{{ is_blank }}`, "false"},
		// raw, comments, whitespace control
		{`{% raw %}{{ ${first_name} }} {% if %}{% endraw %}`, "{{ ${first_name} }} {% if %}"},
		{"a {% comment %} {{ x | nope }} {% endcomment %}b", "a b"},
		{"a {% # note %}b", "a b"},
		{"x {%- if true -%}  y  {%- endif -%} z", "xyz"},
		{"x {{- first_name -}} y", "xAday"},
		{"{%- raw -%}  r  {%- endraw -%}", "r"},
		{`{% capture g %}Hi {{ first_name }}{% endcapture %}{{ g | upcase }}`, "HI ADA"},
		{`{% for t in custom_attribute.tags %}{{ forloop.index }}{{ t }}{% unless forloop.last %},{% endunless %}{% endfor %}`, "1a,2b"},
		{`{% for t in custom_attribute.none %}x{% else %}none{% endfor %}`, "none"},
		{`{% case first_name %}{% when 'Bob', 'Ada' %}hi{% else %}who{% endcase %}`, "hi"},
		{`{% if(first_name == 'Ada') %}y{% endif %}`, "y"},
		{`{{}}{{ }}`, ""},
	} {
		got, err := renderString(t, e, tc.src, vars)
		if err != nil || got != tc.want {
			t.Errorf("%s\n got %q, %v\nwant %q", tc.src, got, err, tc.want)
		}
	}
}

func TestAbortInsideBlocks(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	for _, src := range []string{
		"{% for i in (1..3) %}\n{% if i == 2 %}{% abort_message('at ' | append: i) %}{% endif %}{% endfor %}",
		"{% capture c %}{% abort_message('at 2') %}{% endcapture %}",
		"{% unless false %}{% case 1 %}{% when 1 %}{% abort_message('at 2') %}{% endcase %}{% endunless %}",
	} {
		_, err := renderString(t, e, src, nil)
		var abort *AbortError
		if !errors.As(err, &abort) || abort.Reason != "at 2" {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	_, err := renderString(t, e, "line one\n{% if true %}\n  {{ n | plus: 'abc' }}\n{% endif %}", Vars{"n": 1})
	var re *RenderError
	if !errors.As(err, &re) || re.Line != 3 || re.Column != 3 || !strings.Contains(re.Message, "can't convert") {
		t.Errorf("type error: %#v", err)
	}
	// Output is capped.
	_, err = renderString(t, e, `{% for i in (1..10000) %}{{ s }}{% endfor %}`, Vars{"s": strings.Repeat("x", 1000)})
	if !errors.As(err, &re) || re.Message != "output is larger than 1 MiB" {
		t.Errorf("output cap: %v", err)
	}
	// Render with a nil context and nil vars works.
	tpl := mustParse(t, e, "a{{ x | upcase }}b")
	var noContext context.Context
	if got, err := tpl.Render(noContext, nil); err != nil || got != "ab" {
		t.Errorf("nil vars: %q, %v", got, err)
	}
}

// TestLoopBudget checks that a render stops after maxLoopIterations loop
// iterations (nested loops count together) instead of running for minutes.
func TestLoopBudget(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	for _, src := range []string{
		"{% for i in (1..10000) %}\n{% for j in (1..10000) %}{% endfor %}{% endfor %}",
		"{% for i in (1..n) %}{% endfor %}",
		"{% for i in (1..n) %}{% assign x = i %}{% endfor %}",
	} {
		start := time.Now()
		_, err := renderString(t, e, src, Vars{"n": 1 << 40})
		var re *RenderError
		if !errors.As(err, &re) || re.Message != "more than 1000000 loop iterations" || re.Line != 1 && re.Line != 2 {
			t.Errorf("%q: %v", src, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%q took %v", src, d)
		}
	}
	got, err := renderString(t, e, "{% for i in (1..3) %}{% for j in (1..2) -%} {{ i }}{{ j }}{% endfor %}{% endfor %}", nil)
	if err != nil || got != "111221223132" {
		t.Errorf("small loops: %q, %v", got, err)
	}
}

// TestOutputFormat checks that outputs write values as Braze's Ruby Liquid
// does: whole numbers (profiles hold them as float64) without an exponent, a
// UTC timestamp as "2016-09-07 08:43:50 UTC" (Braze's documented form), on the
// fast path and the full renderer alike.
func TestOutputFormat(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	vars := Vars{
		"custom_attribute": map[string]any{"points": 1234567.0, "ratio": 0.00001, "big": 2.5e7,
			"ids": []any{1234567.0, 2.0}, "signup": time.Date(2016, 9, 7, 8, 43, 50, 0, time.UTC)},
		"local": time.Date(2016, 9, 7, 8, 43, 50, 0, time.FixedZone("", -7*3600)),
	}
	for _, tc := range []struct{ src, want string }{
		{`{{custom_attribute.${points}}}`, "1234567"},
		{`{% if true %}{{custom_attribute.${points}}}{% endif %}`, "1234567"},
		{`{{ custom_attribute.${points} | plus: 1 }} {{ 1000000 | times: 3 }}`, "1234568 3000000"},
		{`{{ custom_attribute.${ratio} }} {{ custom_attribute.${big} | divided_by: 2.0 }}`, "0.00001 12500000"},
		{`{{ custom_attribute.${ids} | join: ', ' }}|{{ custom_attribute.${ids} }}`, "1234567, 2|12345672"},
		{`{{custom_attribute.${signup}}}`, "2016-09-07 08:43:50 UTC"},
		{`{% if true %}{{custom_attribute.${signup}}}{% endif %}`, "2016-09-07 08:43:50 UTC"},
		{`{{ custom_attribute.${signup} | time_zone: 'America/Los_Angeles' }}`, "2016-09-07 01:43:50 -0700"},
		{`{{ local }}`, "2016-09-07 08:43:50 -0700"},
	} {
		got, err := renderString(t, e, tc.src, vars)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
}

// TestFastPathMatchesLiquid renders plain-substitution templates with the fast
// path and with osteele/liquid and requires the same output.
func TestFastPathMatchesLiquid(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	type point struct{ X int }
	vars := Vars{
		"s": "text", "i": 42, "i64": int64(-7), "f": 1.5, "fw": 3.0, "fbig": 1e21, "fsmall": 0.00001,
		"b": true, "n": nil, "num": json.Number("12.50"),
		"t":   time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC),
		"arr": []any{"x", map[string]any{"k": "deep"}, 3.0},
		"m":   map[string]any{"a": map[string]any{"b": "ab"}, "with space": "ws", "size": "own size", "list": []any{}},
		"mm":  map[string]any{"k": 1},
		"ms":  map[string]string{"k": "typed"},
		"st":  point{X: 1},
		"v":   Vars{"inner": "vars"},
	}
	for _, src := range []string{
		"plain text only", "{{ s }}/{{ i }}/{{ i64 }}/{{ f }}/{{ fw }}/{{ fbig }}/{{ fsmall }}/{{ b }}/{{ n }}/{{ num }}",
		"{{ t }}", "{{ arr.first }} {{ arr.last }} {{ arr.size }} {{ arr[1].k }} {{ arr[-1] }} {{ arr[9] }} {{ arr.nope }}",
		"{{ m.a.b }} {{ m['with space'] }} {{ m[\"a\"].b }} {{ m.size }} {{ mm.size }} {{ m.list.size }} {{ m.missing.deeper }}",
		"{{ s.size }} {{ s.other }} {{ i.x }} {{ n.x }} {{ b.x }}",
		"{{ ms.k }}", "{{ st }}", "{{ v.inner }}", "{{ arr }}", "{{ m.list }}", "{{ mm[0] }}",
		"{{ ${s} }} {{ m.${with space} }}", "{{ missing }}",
	} {
		tpl := mustParse(t, e, src)
		if tpl.fast == nil && !tpl.isStatic {
			t.Errorf("%q: no fast path", src)
			continue
		}
		want, err := tpl.renderLiquid(vars)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		got, err := tpl.Render(context.Background(), vars)
		if err != nil || got != want {
			t.Errorf("%q: fast %q, liquid %q (%v)", src, got, want, err)
		}
	}
	for _, src := range []string{"{{ a | upcase }}", "{%- if a %}{% endif %}", "{{- a }}", "{{ 'lit' }}", "{{ true }}", "{{ a == b }}"} {
		if tpl := mustParse(t, e, src); tpl.fast != nil || tpl.isStatic {
			t.Errorf("%q: took the fast path", src)
		}
	}
}

func TestConcurrentRender(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	tpl := mustParse(t, e, `{% assign greeting = 'Hi' %}{{ greeting }} {{ first_name | default: 'there' }}{% for t in tags %} {{ t }}{% endfor %}`)
	fast := mustParse(t, e, `Hello {{ first_name }} from {{ custom_attribute.city }}`)
	obj, err := e.ParseObject(map[string]any{"title": "Hi {{ first_name }}", "body": "{% if vip %}VIP {% endif %}{{ first_name | upcase }}"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				name := fmt.Sprintf("u%d-%d", g, i)
				vars := Vars{"first_name": name, "tags": []any{"a", "b"}, "vip": i%2 == 0,
					"custom_attribute": map[string]any{"city": "Paris"}}
				if got, err := tpl.Render(context.Background(), vars); err != nil || got != "Hi "+name+" a b" {
					t.Errorf("got %q, %v", got, err)
					return
				}
				if got, _ := fast.Render(context.Background(), vars); got != "Hello "+name+" from Paris" {
					t.Errorf("fast: %q", got)
					return
				}
				out, err := obj.Render(context.Background(), vars)
				want := strings.ToUpper(name)
				if i%2 == 0 {
					want = "VIP " + want
				}
				if err != nil || out["title"] != "Hi "+name || out["body"] != want {
					t.Errorf("object: %v, %v", out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
