package templates

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	for _, tc := range []struct {
		name, src string
		want      []string // "line:col: message"
	}{
		{"unterminated output", "Hi {{ first_name }", []string{`1:4: unterminated "{{": missing "}}"`}},
		{"unterminated output before another", "Hi {{ first_name } and {{ last_name }}", []string{
			`1:4: unterminated "{{": missing "}}" before the next "{{" or "{%"`}},
		{"unterminated tag", "a\nb {% if x }}\nc", []string{`2:3: unterminated "{%": missing "%}"`}},
		{"unterminated tag before another", "{% if x {% endif %}", []string{`1:1: unterminated "{%": missing "%}" before the next "{%"`}},
		{"lone brace in output", "{{ a } b }}", []string{`1:1: "{{" is not closed by "}}"`}},
		{"unclosed ${", "Hi {{ ${first_name }}", []string{`1:7: "${" is not closed by "}"`}},
		{"bad ${} name", "{{ ${first name} }}", []string{`1:4: "${first name}" is not a valid variable name`}},
		{"syntax error", "{{ first_name | }}", []string{`1:1: invalid expression "first_name |"`}},
		{"syntax error in tag", "{% if a == %}x{% endif %}", []string{`1:1: "if": syntax error in "a =="`}},
		{"number out of range", "{{ 99999999999999999999 }}", []string{`1:1: invalid expression "99999999999999999999": number out of range`}},
		{"unknown filter", "Hi {{ first_name | upcase | shout }}", []string{`1:29: unknown filter "shout"`}},
		{"unknown filter in assign", "{% assign x = y | nope: 1 %}", []string{`1:19: unknown filter "nope"`}},
		{"unknown filter in if", "{% if x | nope %}{% endif %}", []string{`1:11: unknown filter "nope"`}},
		{"filter name in a string is not a filter", `{{ 'a | b' | upcase }}`, nil},
		{"unknown tag", "a\n  {% frobnicate x %}", []string{`2:3: unknown tag "frobnicate"`}},
		{"include refused", "{% include 'x' %}", []string{`1:1: unknown tag "include"`}},
		{"missing tag name", "{% 'x' %}", []string{`1:1: missing tag name after "{%"`}},
		{"unclosed if", "Hello\n{% if x %}\n  hi", []string{`2:1: "if" block is not closed: missing {% endif %}`}},
		{"unclosed raw", "{% raw %}x", []string{`1:1: "raw" block is not closed: missing {% endraw %}`}},
		{"stray end", "{% endfor %}", []string{`1:1: unexpected "endfor": no "for" block is open`}},
		{"crossed blocks", "{% if a %}{% for b in c %}{% endif %}{% endfor %}", []string{
			`1:27: unexpected "endif": the "for" block opened at 1:11 is not closed`,
			`1:38: unexpected "endfor": no "for" block is open`}},
		{"else outside", "{% else %}", []string{`1:1: "else" is only allowed inside if, unless, for, case`}},
		{"when outside case", "{% if a %}{% when 1 %}{% endif %}", []string{`1:11: "when" is only allowed inside case`}},
		{"break outside loop", "{% if a %}{% break %}{% endif %}", []string{`1:11: "break" is only allowed inside a for loop`}},
		{"bad for", "{% for x y %}{% endfor %}", []string{`1:1: "for": syntax error in "x y"`}},
		{"empty if", "{% if %}{% endif %}", []string{`1:1: "if" is missing its arguments`}},
		{"capture needs a name", "{% capture %}{% endcapture %}", []string{`1:1: "capture" needs a variable name`}},
		{"huge range", "{% for i in (1..100000) %}{% endfor %}", []string{`1:1: range (1..100000) is larger than 10000 items`}},
		{"bad abort argument", "{% abort_message('a' | ) %}", []string{`1:1: "abort_message": syntax error in "'a' |"`}},
		{"columns count characters", "héllo wörld {{ x | nope }}", []string{`1:20: unknown filter "nope"`}},
		{"multi-line template", strings.Join([]string{
			"{% if ${first_name} != blank %}",
			"  Hi {{ ${first_name} | capitalise }},",
			"{% else %}",
			"  Hi {{ 'there' | upcase }",
			"{% endif %}",
		}, "\n"), []string{`2:25: unknown filter "capitalise"`, `4:6: unterminated "{{": missing "}}"`}},
		{"unknown filter inside nested output", "{% if {{ a | nope }} > 0 %}{% endif %}", []string{`1:14: unknown filter "nope"`}},
		{"unknown filter in nested argument", "x\n{{ a | plus: {{ b | nope }} }}", []string{`2:21: unknown filter "nope"`}},
		{"nested output not closed", "{{ a | plus: {{ b }}", []string{`1:1: unterminated "{{": missing "}}" before the next "{{" or "{%"`}},
		{"echo with unknown filter", "{% echo a | nope %}", []string{`1:13: unknown filter "nope"`}},
		{"echo syntax error", "{% echo a | %}", []string{`1:1: invalid expression "a |"`}},
		{"errors sorted by position", "{% if a %}\n{{ b | x1 }}\n{{ c | x2 }}", []string{
			`1:1: "if" block is not closed: missing {% endif %}`, `2:8: unknown filter "x1"`, `3:8: unknown filter "x2"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Parse(tc.src)
			var got []string
			for _, se := range SyntaxErrors(err) {
				got = append(got, se.Error())
				if se.Line < 1 || se.Column < 1 {
					t.Errorf("bad position %d:%d", se.Line, se.Column)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Parse(%q):\n got %q\nwant %q", tc.src, got, tc.want)
			}
			if tc.want == nil && err != nil {
				t.Errorf("unexpected %v", err)
			}
		})
	}
}

func TestParseErrorTypes(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	_, err := e.Parse("{{ a | x }}")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 1 || se.Column != 8 || se.Error() != `1:8: unknown filter "x"` {
		t.Fatalf("single error: %#v", err)
	}
	_, err = e.Parse("{{ a | x }}{{ b | y }}")
	if errs := SyntaxErrors(err); len(errs) != 2 || !errors.As(err, &se) {
		t.Fatalf("joined errors: %v", err)
	}
	if got := SyntaxErrors(nil); got != nil {
		t.Errorf("SyntaxErrors(nil) = %v", got)
	}
}

func TestParseObjectErrors(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	_, err := e.ParseObject(map[string]any{
		"apple_push": map[string]any{
			"alert": map[string]any{
				"title": "Hi {{ ${first_name} | shout }}",
				"body":  "ok {{ x }}",
			},
			"badge": 1,
		},
		"android_push": map[string]any{
			"buttons": []any{map[string]any{"text": "{% iff x %}"}, "plain"},
			"extra":   map[string]string{"k": "{{ a"},
		},
	})
	var got []string
	for _, se := range SyntaxErrors(err) {
		got = append(got, se.Error())
	}
	want := []string{
		`android_push.buttons[0].text: 1:1: unknown tag "iff"`,
		`android_push.extra.k: 1:1: unterminated "{{": missing "}}"`,
		`apple_push.alert.title: 1:23: unknown filter "shout"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestStandardFiltersAreRegistered(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	for _, name := range standardFilterNames() {
		tpl := mustParse(t, e, "{{ x | "+name+" }}")
		_, err := tpl.Render(t.Context(), Vars{"x": []any{"a"}})
		if err != nil && strings.Contains(err.Error(), "undefined filter") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
