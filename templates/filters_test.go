package templates

import (
	"strings"
	"testing"
	"time"
)

// filterVars are the variables of the filter tables.
func filterVars() Vars {
	return Vars{
		"name":   "ada lovelace",
		"empty":  "",
		"no":     false,
		"zero":   0,
		"list":   []any{"b", "a", nil, "c", "a"},
		"nums":   []any{3.0, 1.0, 2.0},
		"none":   []any{},
		"users":  []any{map[string]any{"n": "x"}, map[string]any{"n": "y"}},
		"h":      map[string]any{"key": "hello", "k 2": "two"},
		"html":   "<b>Hi</b> & bye",
		"ws":     "  padded \n",
		"lines":  "a\nb",
		"big":    1234567.891,
		"int":    1234567,
		"whole":  1234567.0,
		"neg":    -9876543.21,
		"numstr": "1234.50",
		"t":      time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC),
	}
}

type filterCase struct{ src, want string }

func runFilterCases(t *testing.T, cases []filterCase) {
	t.Helper()
	e := New(Options{Now: func() time.Time { return goldenNow }})
	vars := filterVars()
	for _, tc := range cases {
		got, err := renderString(t, e, tc.src, vars)
		if err != nil {
			got = "ERROR: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("%s\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
}

func TestBrazeFilters(t *testing.T) {
	t.Parallel()
	runFilterCases(t, []filterCase{
		// default: nil, false and empty values take the default.
		{`Hi {{ missing | default: 'there' }}!`, "Hi there!"},
		{`{{ empty | default: 'x' }}`, "x"},
		{`{{ no | default: 'x' }}`, "x"},
		{`{{ none | default: 'x' }}`, "x"},
		{`{{ zero | default: 'x' }}`, "0"},
		{`{{ name | default: 'x' }}`, "ada lovelace"},
		{`{{ h.missing | default: 'Valued User' }}`, "Valued User"},

		{`{{ '123"456' | json_escape }}`, `123\"456`},
		{`{{ html | json_escape }}`, `<b>Hi</b> & bye`},
		{`{{ ws | json_escape }}`, `  padded \n`},
		{`{{ 'tab	é\' | json_escape }}`, `tab\té\\`},
		{`{{ missing | json_escape }}`, ``},
		{`{{ int | json_escape }}`, `1234567`},

		{`{{ 'hey<>hi' | url_escape }}`, "hey%3C%3Ehi"},
		{`{{ 'a b&c=d/é?x#y%' | url_escape }}`, "a%20b&c=d/%C3%A9?x%23y%25"},
		{`{{ 'hey<&>hi' | url_param_escape }}`, "hey%3C%26%3Ehi"},
		{`{{ 'a b&c=d' | url_param_escape }}`, "a%20b%26c=d"},
		{`{{ missing | url_escape }}`, ""},

		{`{{ big | number_with_delimiter }}`, "1,234,567.891"},
		{`{{ int | number_with_delimiter }}`, "1,234,567"},
		{`{{ whole | number_with_delimiter }}`, "1,234,567"},
		{`{{ neg | number_with_delimiter }}`, "-9,876,543.21"},
		{`{{ 999 | number_with_delimiter }}`, "999"},
		{`{{ 1000 | number_with_delimiter }}`, "1,000"},
		{`{{ 0 | number_with_delimiter }}`, "0"},
		{`{{ numstr | number_with_delimiter }}`, "1,234.50"},
		{`{{ int | number_with_delimiter: '.' }}`, "1.234.567"},
		{`{{ name | number_with_delimiter }}`, "ada lovelace"},
		{`{{ missing | number_with_delimiter }}`, ""},

		{`{{ 'hey' | md5 }}`, "6057f13c496ecf7fd777ceb9e79ae285"},
		{`{{ 'hey' | sha1 }}`, "7f550a9f4c44173a37664d938f1355f0f92a47a7"},
		{`{{ 'hey' | sha2 }}`, "fa690b82061edfd2852629aeba8a8977b57e40fcb77d1a7a28b26cba62591204"},
		{`{{ 'hey' | sha2: 256 }}`, "fa690b82061edfd2852629aeba8a8977b57e40fcb77d1a7a28b26cba62591204"},
		{`{{ 'abc' | sha2: 224 }}`, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"},
		{`{{ 'abc' | sha2: 384 }}`, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
		{`{{ 'abc' | sha2: '512' }}`, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
		{`{{ 'abc' | sha2: 100 }}`, `ERROR: render 1:1: filter "sha2": sha2: bits must be 224, 256, 384 or 512, not 100`},
		{`{{ 'blah' | base64_encode }}`, "YmxhaA=="},
		{`{{ 'hey' | hmac_sha256: 'secret_key' }}`, "8df897f8da3d7992fe57c8dbc6f27578cfbf2dcc4d0fbb4000b8c924841d508e"},
		{`{{ 'hey' | hmac_sha256_hex: 'secret_key' }}`, "8df897f8da3d7992fe57c8dbc6f27578cfbf2dcc4d0fbb4000b8c924841d508e"},
		{`{{ 'hey' | hmac_sha256_base64: 'secret_key' }}`, "jfiX+No9eZL+V8jbxvJ1eM+/LcxND7tAALjJJIQdUI4="},
		{`{{ 'hey' | hmac_sha1: 'secret_key' }}`, "2a3969bed25bfeefb00aca4063eb9590b4df8f0e"},
		{`{{ 'hey' | hmac_sha1_hex: 'secret_key' }}`, "2a3969bed25bfeefb00aca4063eb9590b4df8f0e"},
		{`{{ 'hey' | hmac_sha1_base64: 'secret_key' }}`, "KjlpvtJb/u+wCspAY+uVkLTfjw4="},
		{`{{ h | property_accessor: 'key' }}`, "hello"},
		{`{{ h | property_accessor: 'k 2' }}`, "two"},
		{`{{ h | property_accessor: 'nope' | default: '-' }}`, "-"},

		// Filters Braze documents that osteele/liquid lacks.
		{`{{ 'hey' | hmac_sha512: 'secret_key' }}`, "77559e110f13ef5700f9085728484653bd6365fb9426537f9b842f05a744f12f5f1f957aa966bd7296238e947461be739ad5417364f1737a58f7b464317c03ed"},
		{`{% assign d = '[{"id":"1","store_name":"demo-store"}]' | json_parse %}{% for item in d %}{{ item.id }} {{ item.store_name }}{% endfor %}`, "1 demo-store"},
		{`{{ 'not json' | json_parse | default: 'nil' }}`, "nil"},
		{`{% assign d = '[{"id":"1","store_name":"demo & co"}]' | json_parse %}{{ d | as_json_string }}`, `[{"id":"1","store_name":"demo & co"}]`},
		{`{{ h | as_json_string }}`, `{"k 2":"two","key":"hello"}`},
	})
}

// TestShopifyFilters covers the standard filters osteele/liquid v1.6.0 lacks
// or gets wrong (some panicked), with Shopify Liquid's results.
func TestShopifyFilters(t *testing.T) {
	t.Parallel()
	runFilterCases(t, []filterCase{
		{`{{ 4 | at_least: 5 }} {{ 4 | at_least: 3 }} {{ '4.5' | at_least: 2 }}`, "5 4 4.5"},
		{`{{ 4 | at_most: 5 }} {{ 4 | at_most: 3.5 }} {{ missing | at_most: 1 }}`, "4 3.5 0"},
		{`{{ users | where: 'n', 'y' | map: 'n' | join: ',' }}`, "y"},
		{`{% assign d = '[{"id":1,"on":true},{"id":2},{"id":3,"on":false}]' | json_parse %}{{ d | where: 'on' | map: 'id' | join: ',' }}`, "1"},
		{`{{ none | where: 'n' | size }}`, "0"},
		{`{{ 'ada LOVELACE' | capitalize }} {{ 'élan' | capitalize }}`, "Ada lovelace Élan"},
		{`{{ 'abc' | slice: 5 }}|{{ 'abc' | slice: 3 }}|{{ 'abc' | slice: 1, -1 }}|{{ 'abc' | slice: -5 }}`, "|||"},
		{`{{ 'héllo' | slice: -4, 2 }} {{ 'abc' | slice: 1, 99 }}`, "él bc"},
		{`{{ nums | slice: 1, 2 | join: ',' }}|{{ nums | slice: 9 | size }}`, "1,2|0"},
		{`{{ 'abcdef' | truncate: 1 }} {{ 'abcdef' | truncate: 5, '' }} {{ 'abcdef' | truncate: 5, '…' }}`, "... abcde abcd…"},
		{`{{ name | truncate: 2000 }}`, "ada lovelace"},
		{`{{ 'one  two three' | truncatewords: 2 }} {{ 'a b' | truncatewords: 0 }}`, "one two... a..."},
		{`{{ 'a b c' | truncatewords: 2000 }}`, "a b c"},
		{`{{ list | sort_natural | join: ',' }}`, "a,a,b,c"},
		{`{{ 'b,A,C' | split: ',' | concat: nums | sort_natural | join: ',' }}`, "1,2,3,A,b,C"},
		{`{{ users | concat: list | sort_natural: 'n' | size }}`, "7"},
		{`{{ 15 | divided_by: 2 }} {{ 15 | divided_by: 2.0 }} {{ 15.5 | divided_by: 2 }}`, "7 7.5 7.75"},
		{`{{ -7 | divided_by: 2 }} {{ '20' | divided_by: '7' }}`, "-4 2"},
		{`{{ 1 | divided_by: 0 }}`, `ERROR: render 1:1: filter "divided_by": division by zero`},
	})
}

func TestStandardFilters(t *testing.T) {
	t.Parallel()
	runFilterCases(t, []filterCase{
		{`{{ -3 | abs }}`, "3"},
		{`{{ name | append: '!' }}`, "ada lovelace!"},
		{`{{ name | capitalize }}`, "Ada lovelace"},
		{`{{ 1.2 | ceil }}`, "2"},
		{`{{ list | compact | join: ',' }}`, "b,a,c,a"},
		{`{{ list | concat: nums | size }}`, "8"},
		{`{{ t | date: '%Y-%m-%d' }}`, "2026-03-14"},
		{`{{ 7 | divided_by: 2 }}`, "3"},
		{`{{ 7.0 | divided_by: 2.0 }}`, "3.5"},
		{`{{ 'ADA' | downcase }}`, "ada"},
		{`{{ html | escape }}`, "&lt;b&gt;Hi&lt;/b&gt; &amp; bye"},
		{`{{ '&lt; &' | escape_once }}`, "&lt; &amp;"},
		{`{{ list | first }}`, "b"},
		{`{{ 1.8 | floor }}`, "1"},
		{`{{ list | join: '-' }}`, "b-a-c-a"},
		{`{{ h | json }}`, `{"k 2":"two","key":"hello"}`},
		{`{{ list | last }}`, "a"},
		{`{{ ws | lstrip }}`, "padded \n"},
		{`{{ users | map: 'n' | join: ',' }}`, "x,y"},
		{`{{ 5 | minus: 2 }}`, "3"},
		{`{{ 7 | modulo: 3 }}`, "1"},
		{`{{ lines | newline_to_br }}`, "a<br />b"},
		{`{{ 5 | plus: 2 }}`, "7"},
		{`{{ name | prepend: 'Dear ' }}`, "Dear ada lovelace"},
		{`{{ 'banana' | remove: 'an' }}`, "ba"},
		{`{{ 'banana' | remove_first: 'an' }}`, "bana"},
		{`{{ 'banana' | replace: 'a', 'o' }}`, "bonono"},
		{`{{ 'banana' | replace_first: 'a', 'o' }}`, "bonana"},
		{`{{ nums | reverse | join: ',' }}`, "2,1,3"},
		{`{{ 3.14159 | round: 2 }}`, "3.14"},
		{`{{ ws | rstrip }}`, "  padded"},
		{`{{ list | size }} {{ name | size }}`, "5 12"},
		{`{{ name | slice: 0, 3 }}`, "ada"},
		{`{{ nums | sort | join: ',' }}`, "1,2,3"},
		{`{{ 'b,A,c' | split: ',' | sort_natural | join: ',' }}`, "A,b,c"},
		{`{{ 'a,b' | split: ',' | size }}`, "2"},
		{`{{ ws | strip }}`, "padded"},
		{`{{ html | strip_html }}`, "Hi & bye"},
		{`{{ lines | strip_newlines }}`, "ab"},
		{`{{ 3 | times: 4 }}`, "12"},
		{`{{ name | truncate: 6 }}`, "ada..."},
		{`{{ 'one two three' | truncatewords: 2 }}`, "one two..."},
		{`{{ 'x' | type }}`, "string"},
		{`{{ h.key | inspect }}`, `"hello"`},
		{`{{ list | uniq | join: ',' }}`, "b,a,c"},
		{`{{ list | uniq | size }} {{ users | concat: users | uniq | size }}`, "4 2"},
		{`{{ name | upcase }}`, "ADA LOVELACE"},
		{`{{ 'a b&c' | url_encode }}`, "a+b%26c"},
		{`{{ 'a+b%26c' | url_decode }}`, "a b&c"},
	})
}

func TestEveryFilterIsTested(t *testing.T) {
	t.Parallel()
	src := readTestFile(t, "filters_test.go") + readTestFile(t, "date_test.go")
	for name := range New(Options{}).filters {
		if !strings.Contains(src, "| "+name) {
			t.Errorf("filter %s has no table test", name)
		}
	}
}
