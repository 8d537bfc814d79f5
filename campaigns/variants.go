package campaigns

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"

	"github.com/herald-oss/herald/templates"
)

// Variant is one arm of an A/B test: its share of the audience and its own
// messages.
type Variant struct {
	ID       string                    `json:"id"`
	Percent  int                       `json:"percent"`
	Messages map[string]map[string]any `json:"messages"`
}

// VariantInput is a variant as the API accepts it.
type VariantInput struct {
	ID       string                     `json:"id"`
	Percent  int                        `json:"percent"`
	Messages map[string]json.RawMessage `json:"messages"`
}

// ControlGroup names the users of a campaign's control group in counts.
const ControlGroup = "control"

// maxVariants is Braze's limit.
const maxVariants = 8

var variantIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)

// validateVariants checks variants and the control group and returns the
// variants with their messages parsed. With variants, the campaign's own
// messages must be absent; percentages and the control group add up to 100.
func validateVariants(eng *templates.Engine, in []VariantInput, control int, topMessages bool, ps *problems) []Variant {
	if control < 0 || control > 99 {
		ps.add("control_percent", "must be between 0 and 99, got %d", control)
	}
	if len(in) == 0 {
		return nil
	}
	if topMessages {
		ps.add("messages", "give messages in each variant, not beside them")
	}
	if len(in) > maxVariants {
		ps.add("variants", "at most %d, got %d", maxVariants, len(in))
	}
	out := make([]Variant, 0, len(in))
	sum, seen := control, map[string]bool{}
	for i, v := range in {
		path := fmt.Sprintf("variants[%d]", i)
		switch {
		case !variantIDPattern.MatchString(v.ID) || v.ID == ControlGroup:
			ps.add(path+".id", "1-32 letters, digits, '_' or '-' (not %q), got %q", ControlGroup, v.ID)
		case seen[v.ID]:
			ps.add(path+".id", "%q is used twice", v.ID)
		}
		seen[v.ID] = true
		if v.Percent < 1 || v.Percent > 100 {
			ps.add(path+".percent", "must be between 1 and 100, got %d", v.Percent)
		}
		sum += v.Percent
		out = append(out, Variant{ID: v.ID, Percent: v.Percent, Messages: validateMessages(eng, v.Messages, path+".messages", ps)})
	}
	if sum != 100 {
		ps.add("variants", "percentages and control_percent must add up to 100, got %d", sum)
	}
	return out
}

// variantBucket places a user of a campaign in 0..99, stably: a hash of the
// campaign and the user (not the user's random bucket, which would put the
// same users in every campaign's control group).
func variantBucket(campaignID string, userID int64) int {
	h := sha256.Sum256([]byte(campaignID + "\x00" + strconv.FormatInt(userID, 10)))
	return int(binary.BigEndian.Uint64(h[:8]) % 100)
}

// compiledVariant is one variant's templates.
type compiledVariant struct {
	id      string
	percent int
	objects map[string]*templates.Object
	vars    templates.VarSet // the variables the objects read
}

// pick returns the variant of a bucket, nil for the control group.
func pick(vs []compiledVariant, bucket int) *compiledVariant {
	from := 0
	for i := range vs {
		if bucket < from+vs[i].percent {
			return &vs[i]
		}
		from += vs[i].percent
	}
	return nil
}

// variantsOf is a dispatch's variants in order: its own, or its messages as
// one variant "" of 100 - control percent.
func variantsOf(s Spec) []Variant {
	if len(s.Variants) > 0 {
		return s.Variants
	}
	return []Variant{{Percent: 100 - s.ControlPercent, Messages: s.Messages}}
}

// channelsOf is every channel any variant sends on, sorted.
func channelsOf(vs []compiledVariant) []string {
	var out []string
	for _, v := range vs {
		for ch := range v.objects {
			if !slices.Contains(out, ch) {
				out = append(out, ch)
			}
		}
	}
	sort.Strings(out)
	return out
}

// VariantOf names the variant a user of a dispatch is in: a variant id, ""
// for a dispatch without variants, or ControlGroup.
func VariantOf(d *Dispatch, userID int64) string {
	vs := variantsOf(d.Spec)
	b := variantBucket(variantKey(d), userID)
	from := 0
	for _, v := range vs {
		if b < from+v.Percent {
			return v.ID
		}
		from += v.Percent
	}
	return ControlGroup
}

// variantKey is what a dispatch's users are bucketed by: the campaign, so a
// user stays in one variant across its dispatches (the dispatch for ad-hoc
// sends).
func variantKey(d *Dispatch) string {
	if d.CampaignID != "" {
		return d.CampaignID
	}
	return d.ID
}

// VariantCounts counts a dispatch's ledger rows by variant (ControlGroup for
// the control group, "" without variants) and then as LedgerCounts does: by
// state, aborts by "aborted:<reason>".
func (s *Service) VariantCounts(ctx context.Context, dispatchID string) (map[string]map[string]int64, error) {
	d, err := s.st.Dispatch(ctx, dispatchID)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	err = s.st.LedgerRows(ctx, dispatchID, func(userID int64, _, status, reason string) error {
		v := VariantOf(d, userID)
		if out[v] == nil {
			out[v] = map[string]int64{}
		}
		key := status
		if status == LedgerAborted && reason != "" {
			key += ":" + reason
		}
		out[v][key]++
		return nil
	})
	return out, err
}
