package templates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzVars are the fixed variables FuzzParseRender renders with.
func fuzzVars() Vars {
	return Vars{
		"first_name": "Ada", "n": 3, "f": 2.5, "ok": true, "empty": "",
		"t":                time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC),
		"custom_attribute": map[string]any{"plan": "gold", "tags": []any{"a", nil, 2.0, map[string]any{"k": "v"}}, "when": "2026-01-02"},
		"event_properties": map[string]any{"price": 9.99},
	}
}

// FuzzParseRender checks that no template source makes Parse or Render panic
// (a recovered osteele/liquid panic counts as a failure), and that every parse
// error has a position inside the source, and that a template renders the
// same with only the variables it names (Template.Vars) as with all of them.
func FuzzParseRender(f *testing.F) {
	golden, _ := filepath.Glob("testdata/golden/*.liquid")
	for _, file := range golden {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"", "{{", "{%", "{{ x }", "{{${first_name}}}", "{{ a | default: 'b' | upcase }}",
		"{% if a %}{% elsif b %}{% else %}{% endif %}", "{% for i in (1..3) %}{{ forloop.index }}{% endfor %}",
		"{% abort_message('x') %}", "{% raw %}{{{% endraw %}", "{{ 99999999999999999999 }}",
		"{% connected_content https://api.example.com/{{ n }} :save x :retry %}{{ x.y }}",
		"{{ custom_attribute.tags | uniq | sort | join }}", "{% cycle 'a', 'b' %}", "{{ t | date: '%s %Q %N' }}",
		"{{ first_name | truncate: 2000 }}{{ first_name | truncatewords: 9999 }}", "{{ custom_attribute.tags | sort_natural | slice: 9, 2 }}",
		"{% if {{ n }} > 1 %}{{ f | plus: {{ n }} }}{% endif %}{% echo first_name %}", "{{ '[1,{\"a\":2}]' | json_parse | where: 'a' | as_json_string }}",
	} {
		f.Add(s)
	}
	e := New(Options{Now: func() time.Time { return goldenNow }})
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := e.Parse(src)
		if err != nil {
			errs := SyntaxErrors(err)
			if len(errs) == 0 {
				t.Fatalf("Parse error is not a SyntaxError: %v", err)
			}
			lines := strings.Split(src, "\n")
			for _, se := range errs {
				if se.Line < 1 || se.Column < 1 || se.Line > len(lines) || se.Column > utf8.RuneCountInString(lines[se.Line-1])+1 {
					t.Fatalf("error outside the source: %v", se)
				}
				if strings.HasPrefix(se.Message, "template cannot be parsed") {
					t.Fatalf("Parse panicked: %v", se)
				}
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = tpl.Render(ctx, fuzzVars())
		var re *RenderError
		if errors.As(err, &re) && re.internal {
			t.Fatalf("Render panicked: %v", re)
		}
		if !tpl.connected { // the only template whose output is not a function of its variables
			assertSameRender(t, src, func(v Vars) (any, error) { return tpl.Render(ctx, v) }, tpl.Vars())
		}
	})
}
