package sdkauth

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mode          Mode
		subject, user string
		want          error
	}{
		{Disabled, "", "u1", nil},
		{Disabled, "u2", "u1", nil},
		{Optional, "", "u1", nil},
		{Optional, "u1", "u1", nil},
		{Optional, "u2", "u1", ErrWrongSubject},
		{Optional, "u1", "", nil},
		{Required, "", "u1", ErrMissing},
		{Required, "u1", "u1", nil},
		{Required, "u2", "u1", ErrWrongSubject},
		{Required, "U1", "u1", ErrWrongSubject},
		{Required, "", "", nil}, // anonymous device user
		{Required, "u1", "", nil},
		{"", "", "u1", nil},
	} {
		if err := Check(c.mode, c.subject, c.user); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("Check(%q, sub %q, user %q) = %v, want %v", c.mode, c.subject, c.user, err, c.want)
		}
	}
	for m, ok := range map[Mode]bool{Disabled: true, Optional: true, Required: true, "": false, "on": false} {
		if m.Valid() != ok {
			t.Errorf("%q.Valid() = %v", m, !ok)
		}
	}
}
