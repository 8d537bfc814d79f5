package campaigns

import (
	"context"
	"errors"
	"fmt"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/templates"
)

// PreviewResult is a campaign document's messages rendered for one user,
// as a send would render them.
type PreviewResult struct {
	// Messages maps a channel to its rendered object; with variants the
	// key is "<variant id>/<channel>".
	Messages map[string]map[string]any `json:"messages"`
	// Aborted maps a channel (or variant/channel) whose template ran
	// {% abort_message %} to its reason.
	Aborted map[string]string `json:"aborted,omitempty"`
	// Problems are the template errors of the document, with their fields
	// and line:column, as saving it would report them.
	Problems []Problem `json:"problems,omitempty"`
}

// Preview renders in's messages (or each variant's) for the user p with the
// variables the delivery pipeline gives a template (templates.ProfileVars
// at the current time). A nil p renders for an unknown user: every profile
// variable empty. Template errors are Problems, not errors; only a render
// that fails for another reason (connected content) is an error.
func (s *Service) Preview(ctx context.Context, in *Input, p *profiles.Profile) (*PreviewResult, error) {
	out := &PreviewResult{Messages: map[string]map[string]any{}, Aborted: map[string]string{}}
	var ps problems
	sets := map[string]map[string]map[string]any{}
	if len(in.Variants) == 0 { // as saving: a campaign with variants has no messages of its own
		sets[""] = validateMessages(s.tmpl, in.Messages, "messages", &ps)
	}
	for i, v := range in.Variants {
		sets[v.ID+"/"] = validateMessages(s.tmpl, v.Messages, fmt.Sprintf("variants[%d].messages", i), &ps)
	}
	out.Problems = ps
	vars := templates.ProfileVars(p, templates.VarsOptions{Now: s.now()})
	for prefix, msgs := range sets {
		for ch, obj := range msgs {
			o, err := s.tmpl.ParseObject(obj)
			if err != nil {
				return nil, err // validated above
			}
			rendered, err := o.Render(ctx, vars)
			var ab *templates.AbortError
			switch {
			case errors.As(err, &ab):
				out.Aborted[prefix+ch] = ab.Reason
			case err != nil:
				return nil, fmt.Errorf("render %s%s: %w", prefix, ch, err)
			default:
				out.Messages[prefix+ch] = rendered
			}
		}
	}
	return out, nil
}
