package segments_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/segments"
)

// FuzzParse: no input panics Parse; an accepted filter compiles for both
// dialects (with balanced placeholders) and evaluates.
func FuzzParse(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 30 {
		f.Add(genFilter(rng, 3, true))
	}
	f.Add(`{"AND":[{"NOT":{"OR":[]}}]}`)
	f.Add(`{"custom_attribute":{"custom_attribute_name":"x","comparison":"matches_regex","value":"(?i)a[^b-d]+\\d{2,5}$"}}`)
	f.Fuzz(func(t *testing.T, src string) {
		flt, err := segments.Parse([]byte(src))
		if err != nil {
			var perr *segments.Error
			if !errors.As(err, &perr) || len(perr.Problems) == 0 {
				t.Fatalf("error %v is not a *segments.Error with problems", err)
			}
			return
		}
		rf, err := flt.Resolve(context.Background(), func(context.Context, string) (*segments.Filter, error) {
			return segments.Parse([]byte(`{"random_bucket":{"comparison":"less_than","value":10}}`))
		})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
		for _, d := range []string{segments.SQLite, segments.Postgres} {
			where, args, err := rf.SQL(d, now)
			if err != nil {
				t.Fatalf("%s: %v", d, err)
			}
			if n := strings.Count(where, "?"); n != len(args) {
				t.Fatalf("%s: %d placeholders, %d arguments: %s", d, n, len(args), where)
			}
		}
		rf.Eval(&profiles.Profile{User: &profiles.User{Custom: profiles.Custom{"x": "abc"}}}, now)
	})
}
