package templates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
)

// varsProfile sets every variable ProfileVars builds.
func varsProfile() *profiles.Profile {
	return &profiles.Profile{
		User: &profiles.User{
			BrazeID: "b-1", ExternalID: "ada-1", RandomBucket: 1234,
			Standard: profiles.Standard{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
				Phone: "+441234", Country: "GB", HomeCity: "London", Language: "en", TimeZone: "Europe/London",
				DOB: "1815-12-10", Gender: "F", PushSubscribe: profiles.OptedIn, EmailSubscribe: profiles.Subscribed},
			Custom:        profiles.Custom{"plan": "gold", "n": 3.0},
			LastSessionAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		},
		Devices: []profiles.Device{{Platform: profiles.PlatformIOS, DeviceID: "phone", UpdatedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}},
		Apps:    []profiles.AppUsage{{AppID: "a", Version: "2.3.1", LastUsed: time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)}},
	}
}

func varsOptions(only VarSet) VarsOptions {
	return VarsOptions{Now: goldenNow, Only: only, EventProperties: map[string]any{"sku": "A"},
		APITriggerProperties: map[string]any{"coupon": "X1"}}
}

func TestVarsNamedInLiquidOnly(t *testing.T) {
	t.Parallel()
	e := New(Options{Now: func() time.Time { return goldenNow }})
	for _, tc := range []struct {
		src  string
		want []string // the variables ProfileVars builds for it
	}{
		{"Hello", nil},
		{"Hi {{${first_name}}}, first_name is text here", []string{"first_name"}},
		{"{% if custom_attribute.${plan} == 'gold' %}{{ last_name | upcase }}{% endif %}", []string{"custom_attribute", "last_name"}},
		{"{{ 'user_id' | append: most_recently_used_device.platform }}{{ now | date: '%Y' }}", []string{"user_id", "most_recently_used_device", "now"}},
		{"{% assign x = api_trigger_properties.${coupon} %}{{ x }}{{ event_properties.sku }}", []string{"api_trigger_properties", "event_properties"}},
		{"{{ first_names }}{{ xcity }}{{ city_ }}", nil}, // whole words only
		// a header value is a JSON string, decoded before it is parsed
		{`{% connected_content https://example.com/{{${user_id}}} :headers {"X-Name": "{{\u0066irst_name}}", "X-City": "{{\ncity}}"} :save r %}{{ r.x }}`,
			[]string{"user_id", "first_name", "city"}},
	} {
		tpl, err := e.Parse(tc.src)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		v := ProfileVars(varsProfile(), varsOptions(tpl.Vars()))
		var got []string
		for name := range v {
			got = append(got, name)
		}
		if !sameSet(got, tc.want) {
			t.Errorf("%q: built %v, want %v", tc.src, got, tc.want)
		}
	}
	if v := ProfileVars(varsProfile(), varsOptions(0)); len(v) != AllVars.count() {
		t.Errorf("Only 0 built %d variables, want all %d", len(v), AllVars.count())
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestObjectVarsRenderSame renders every golden template, inside an object,
// with the variables its Vars names and with all of them.
func TestObjectVarsRenderSame(t *testing.T) {
	t.Parallel()
	golden, _ := filepath.Glob("testdata/golden/*.liquid")
	if len(golden) == 0 {
		t.Fatal("no golden templates")
	}
	e := New(Options{Now: func() time.Time { return goldenNow }})
	for _, file := range golden {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		o, err := e.ParseObject(map[string]any{"alert": map[string]any{"title": "{{ first_name }}", "body": string(b)}})
		if err != nil {
			continue // a golden file of a syntax error
		}
		if o.Vars() == AllVars {
			t.Errorf("%s: names every variable", file)
		}
		assertSameRender(t, file, func(v Vars) (any, error) { return o.Render(context.Background(), v) }, o.Vars())
	}
}

// assertSameRender checks that render gives the same output (or error) with
// only the variables of set as with every variable.
func assertSameRender(t *testing.T, name string, render func(Vars) (any, error), set VarSet) {
	t.Helper()
	all, errAll := render(ProfileVars(varsProfile(), varsOptions(0)))
	only, errOnly := render(ProfileVars(varsProfile(), varsOptions(set)))
	var ab1, ab2 *AbortError
	if (errAll == nil) != (errOnly == nil) || errors.As(errAll, &ab1) != errors.As(errOnly, &ab2) || !reflect.DeepEqual(all, only) {
		t.Errorf("%s: with every variable %v (%v), with its own %v (%v)", name, all, errAll, only, errOnly)
	}
}
