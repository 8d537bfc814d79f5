package templates

import (
	"errors"
	"fmt"
)

// SyntaxError is a problem found when a template is parsed: a syntax error, an
// unknown tag or filter, an unterminated delimiter or block. Line and Column are
// 1-based and point into the source as the user wrote it (columns count
// characters, not bytes). Field is the path of the string inside an object
// ("apple_push.alert.title") when the error comes from ParseObject.
type SyntaxError struct {
	Line, Column int
	Message      string
	Field        string
}

func (e *SyntaxError) Error() string {
	s := fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message)
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	return s
}

// SyntaxErrors returns every *SyntaxError in err, which is what Parse and
// ParseObject return: a single *SyntaxError or several joined with errors.Join.
func SyntaxErrors(err error) []*SyntaxError {
	if err == nil {
		return nil
	}
	if se, ok := err.(*SyntaxError); ok {
		return []*SyntaxError{se}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*SyntaxError
		for _, e := range j.Unwrap() {
			out = append(out, SyntaxErrors(e)...)
		}
		return out
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		return []*SyntaxError{se}
	}
	return nil
}

// AbortError is returned by Render when the template ran
// {% abort_message('reason') %}: the message must not be sent to this user, and
// Reason is recorded.
type AbortError struct{ Reason string }

func (e *AbortError) Error() string {
	if e.Reason == "" {
		return "aborted"
	}
	return "aborted: " + e.Reason
}

// RenderError is a failure while rendering that is not an abort: a filter given
// a value it cannot use ("abc" | plus: 1), a break outside a loop, an output
// larger than the limit. Line and Column locate the tag or output in the
// user's source; Field is set for objects.
type RenderError struct {
	Line, Column int
	Message      string
	Field        string
	internal     bool // a recovered panic
}

func (e *RenderError) Error() string {
	s := fmt.Sprintf("render %d:%d: %s", e.Line, e.Column, e.Message)
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	return s
}

// joinSyntax returns nil, the single error, or the errors joined.
func joinSyntax(errs []*SyntaxError) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}
