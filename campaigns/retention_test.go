package campaigns

import (
	"slices"
	"testing"
	"time"
)

func TestSendsRetention(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	camp := func(id string, re *ReEligibility) *Campaign {
		return &Campaign{ID: id, Definition: Definition{Rules: Rules{ReEligibility: re}}}
	}
	for _, tc := range []struct {
		name    string
		caps    []string
		cs      []*Campaign
		keep    time.Duration
		forever []string
	}{
		{"nothing: the conversion window behind the SDK's replay window", nil, nil, 62 * day, nil},
		{"short caps and windows", []string{"12h", "7d"}, []*Campaign{camp("a", &ReEligibility{After: "3d"}), camp("b", nil)}, 62 * day, nil},
		{"a long cap", []string{"10w"}, nil, 72 * day, nil},
		{"a long re-eligibility window and a never", []string{"1d"},
			[]*Campaign{camp("a", &ReEligibility{After: "90d"}), camp("n1", &ReEligibility{Never: true}), camp("n2", &ReEligibility{Never: true})},
			92 * day, []string{"n1", "n2"}},
	} {
		var caps []CapRule
		for _, w := range tc.caps {
			win, err := ParseWindow(w)
			if err != nil {
				t.Fatal(err)
			}
			caps = append(caps, CapRule{Channel: "any", Limit: 1, Window: win})
		}
		keep, forever := SendsRetention(caps, tc.cs)
		if keep != tc.keep || !slices.Equal(forever, tc.forever) {
			t.Errorf("%s: keep %v, forever %v; want %v, %v", tc.name, keep, forever, tc.keep, tc.forever)
		}
	}
}
