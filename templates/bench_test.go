package templates_test

import (
	"context"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/templates"
)

// benchVars are one user's variables as ProfileVars builds them.
func benchVars() templates.Vars {
	p := &profiles.Profile{User: &profiles.User{
		ExternalID: "user-42", RandomBucket: 4242,
		Standard: profiles.Standard{FirstName: "Ada", Country: "GB", Language: "en", TimeZone: "Europe/London"},
		Custom:   map[string]any{"plan": "gold", "points": float64(12345), "city_name": "London"},
	}}
	return templates.ProfileVars(p, templates.VarsOptions{Now: time.Unix(1_790_000_000, 0)})
}

// A typical push: title and body, three variables, one if, one filter.
const (
	typicalTitle = `{% if custom_attribute.${plan} == 'gold' %}Gold perks, {{${first_name} | default: 'friend'}}!{% else %}Hello {{${first_name} | default: 'friend'}}{% endif %}`
	typicalBody  = `You have {{custom_attribute.${points}}} points waiting in {{custom_attribute.${city_name}}}.`
)

func benchRender(b *testing.B, srcs ...string) {
	e := templates.New(templates.Options{})
	ts := make([]*templates.Template, len(srcs))
	for i, s := range srcs {
		t, err := e.Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		ts[i] = t
	}
	vars := benchVars()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, t := range ts {
			if _, err := t.Render(ctx, vars); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
}

// BenchmarkRenderTypicalPush renders the title and body of a typical push
// (one "render" is both strings) on one goroutine.
func BenchmarkRenderTypicalPush(b *testing.B) { benchRender(b, typicalTitle, typicalBody) }

// BenchmarkRenderSubstitution is the fast path: plain variable substitution.
func BenchmarkRenderSubstitution(b *testing.B) {
	benchRender(b, `Hello {{${first_name}}}`, `You have {{custom_attribute.${points}}} points in {{custom_attribute.${city_name}}}.`)
}

// BenchmarkRenderTypicalPushParallel renders from every core at once.
func BenchmarkRenderTypicalPushParallel(b *testing.B) {
	e := templates.New(templates.Options{})
	title, err := e.Parse(typicalTitle)
	if err != nil {
		b.Fatal(err)
	}
	body, err := e.Parse(typicalBody)
	if err != nil {
		b.Fatal(err)
	}
	vars := benchVars()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := title.Render(ctx, vars); err != nil {
				b.Error(err)
				return
			}
			if _, err := body.Render(ctx, vars); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
}

// BenchmarkRenderObject renders a whole apple_push object in one call.
func BenchmarkRenderObject(b *testing.B) {
	e := templates.New(templates.Options{})
	o, err := e.ParseObject(map[string]any{"apple_push": map[string]any{
		"alert":   map[string]any{"title": typicalTitle, "body": typicalBody},
		"sound":   "default",
		"badge":   1,
		"extra":   map[string]any{"deep_link": "app://offers/{{custom_attribute.${plan}}}"},
		"buttons": []any{map[string]any{"text": "Open, {{${first_name}}}"}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	vars := benchVars()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.Render(ctx, vars); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
}

// BenchmarkParse is the once-per-campaign-version cost.
func BenchmarkParse(b *testing.B) {
	e := templates.New(templates.Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Parse(typicalTitle); err != nil {
			b.Fatal(err)
		}
	}
}
