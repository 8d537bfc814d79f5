package audiences

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/segments"
)

// maxNameLength caps a segment name, in characters.
const maxNameLength = 255

// SampleSize is how many external ids a preview lists.
const SampleSize = 10

// Options configure a Service.
type Options struct {
	// Now is the clock filters are evaluated at; time.Now when nil.
	Now func() time.Time
}

// Service manages saved segments and answers audience questions.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over st.
func NewService(st Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: st, now: opts.Now}
}

// Now returns the service clock's current time.
func (s *Service) Now() time.Time { return s.now() }

// Create validates and stores a new segment. Invalid input is a joined list of
// *profiles.FieldError ("name", "filter.AND[0].comparison", …).
func (s *Service) Create(ctx context.Context, name string, filter json.RawMessage) (*Segment, error) {
	sg, err := s.build("", name, filter)
	if err != nil {
		return nil, err
	}
	sg.CreatedAt = sg.UpdatedAt
	if err := s.store.CreateSegment(ctx, sg); err != nil {
		return nil, refProblem(err)
	}
	return sg, nil
}

// Update replaces a segment's name and filter.
func (s *Service) Update(ctx context.Context, id, name string, filter json.RawMessage) (*Segment, error) {
	sg, err := s.build(id, name, filter)
	if err != nil {
		return nil, err
	}
	if err := s.store.UpdateSegment(ctx, sg); err != nil {
		return nil, refProblem(err)
	}
	return sg, nil
}

// Delete deletes a segment; one other segments reference is a *InUseError
// naming them.
func (s *Service) Delete(ctx context.Context, id string) error {
	err := s.store.DeleteSegment(ctx, id)
	var inUse *InUseError
	if errors.As(err, &inUse) {
		inUse.Names = make([]string, len(inUse.By))
		for i, by := range inUse.By {
			if sg, gerr := s.store.Segment(ctx, by); gerr == nil {
				inUse.Names[i] = sg.Name
			}
		}
	}
	return err
}

// Get returns a segment.
func (s *Service) Get(ctx context.Context, id string) (*Segment, error) {
	return s.store.Segment(ctx, id)
}

// List returns every segment, oldest first.
func (s *Service) List(ctx context.Context) ([]*Segment, error) {
	return s.store.Segments(ctx)
}

// build validates name and filter into a segment with id (a new one when
// empty) and UpdatedAt set.
func (s *Service) build(id, name string, filter json.RawMessage) (*Segment, error) {
	var errs []error
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		errs = append(errs, &profiles.FieldError{Field: "name", Reason: "required"})
	case utf8.RuneCountInString(name) > maxNameLength:
		errs = append(errs, &profiles.FieldError{Field: "name", Reason: fmt.Sprintf("at most %d characters", maxNameLength)})
	}
	f, err := parseFilter(filter)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	canonical, err := f.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = NewID()
	}
	return &Segment{ID: id, Name: name, Filter: canonical, Refs: f.Refs(), UpdatedAt: s.now().UTC()}, nil
}

// parseFilter parses a filter; its problems are *profiles.FieldError values
// named "filter.<path>".
func parseFilter(data json.RawMessage) (*segments.Filter, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, &profiles.FieldError{Field: "filter", Reason: "required"}
	}
	f, err := segments.Parse(data)
	var se *segments.Error
	if errors.As(err, &se) {
		errs := make([]error, len(se.Problems))
		for i, p := range se.Problems {
			field := "filter"
			if p.Path != "" && p.Path != "filter" {
				field += "." + p.Path
			}
			errs[i] = &profiles.FieldError{Field: field, Reason: p.Message}
		}
		return nil, errors.Join(errs...)
	}
	return f, err
}

// refProblem turns a store's *RefError into a problem of the filter field.
func refProblem(err error) error {
	var re *RefError
	if errors.As(err, &re) {
		return &profiles.FieldError{Field: "filter", Reason: re.Error()}
	}
	return err
}

// Size counts a segment's users now.
func (s *Service) Size(ctx context.Context, id string) (int64, error) {
	sg, err := s.store.Segment(ctx, id)
	if err != nil {
		return 0, err
	}
	f, err := segments.Parse(sg.Filter)
	if err != nil {
		return 0, fmt.Errorf("audiences: stored segment %q: %w", id, err)
	}
	where, args, err := s.Compile(ctx, f, s.now())
	if err != nil {
		return 0, err
	}
	return s.store.CountWhere(ctx, where, args)
}

// Preview counts the users of a filter that is not saved and lists up to
// SampleSize of their external ids (lowest user ids first).
func (s *Service) Preview(ctx context.Context, filter json.RawMessage) (int64, []string, error) {
	f, err := parseFilter(filter)
	if err != nil {
		return 0, nil, err
	}
	where, args, err := s.Compile(ctx, f, s.now())
	if err != nil {
		var re *RefError
		if errors.As(err, &re) {
			return 0, nil, refProblem(err)
		}
		return 0, nil, err
	}
	n, err := s.store.CountWhere(ctx, where, args)
	if err != nil {
		return 0, nil, err
	}
	sample, err := s.store.SampleExternalIDs(ctx, where, args, SampleSize)
	if err != nil {
		return 0, nil, err
	}
	return n, sample, nil
}

// Compile resolves the segments f references and compiles it to SQL for the
// store at now. A reference to a segment that does not exist is a *RefError.
func (s *Service) Compile(ctx context.Context, f *segments.Filter, now time.Time) (string, []any, error) {
	resolved, err := f.Resolve(ctx, s.Resolver())
	if err != nil {
		return "", nil, err
	}
	return resolved.SQL(s.store.Driver(), now)
}

// Resolver returns the saved filters of segments by id, each parsed once per
// resolver. An unknown id is a *RefError.
func (s *Service) Resolver() segments.Resolver {
	parsed := map[string]*segments.Filter{}
	return func(ctx context.Context, id string) (*segments.Filter, error) {
		if f, ok := parsed[id]; ok {
			return f, nil
		}
		sg, err := s.store.Segment(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, &RefError{Missing: []string{id}}
		}
		if err != nil {
			return nil, err
		}
		f, err := segments.Parse(sg.Filter)
		if err != nil {
			return nil, fmt.Errorf("audiences: stored segment %q: %w", id, err)
		}
		parsed[id] = f
		return f, nil
	}
}

// NewID returns a random UUID (version 4), the form Braze gives segment and
// export ids.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
