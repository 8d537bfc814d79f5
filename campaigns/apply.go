package campaigns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// ApplyResult says what Apply did.
type ApplyResult string

// Apply results.
const (
	Created   ApplyResult = "created"
	Updated   ApplyResult = "updated"
	Unchanged ApplyResult = "unchanged"
)

// idPattern is what a declared campaign id may look like.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Apply creates the campaign with the given id, or updates it when its name
// or definition differ; applying the same input twice changes nothing (no new
// version).
func (s *Service) Apply(ctx context.Context, id string, in *Input) (*Campaign, ApplyResult, error) {
	if !idPattern.MatchString(id) {
		return nil, "", &ValidationError{Problems: []Problem{{Field: "id", Reason: "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"}}}
	}
	name, def, err := s.definition(ctx, in)
	if err != nil {
		return nil, "", err
	}
	now := s.now().UTC()
	c, err := s.st.Campaign(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		c = &Campaign{ID: id, Name: name, Status: StatusDraft, Definition: def, CreatedAt: now, UpdatedAt: now}
		if err := s.st.CreateCampaign(ctx, c); err != nil {
			return nil, "", err
		}
		return c, Created, nil
	case err != nil:
		return nil, "", err
	}
	same, err := sameDefinition(c.Definition, def)
	if err != nil {
		return nil, "", err
	}
	if same && c.Name == name {
		return c, Unchanged, nil
	}
	c.Name, c.Definition, c.UpdatedAt = name, def, now
	if err := s.st.UpdateCampaign(ctx, c); err != nil {
		return nil, "", err
	}
	return c, Updated, nil
}

// sameDefinition compares definitions by their canonical JSON.
func sameDefinition(a, b Definition) (bool, error) {
	ja, err := canonical(a)
	if err != nil {
		return false, err
	}
	jb, err := canonical(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ja, jb), nil
}

// canonical is a definition's JSON with object keys sorted at every level.
func canonical(d Definition) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("campaign definition: %w", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v) // maps marshal with sorted keys
}
