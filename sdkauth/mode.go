package sdkauth

import (
	"errors"
	"fmt"
)

// Mode is how an app uses SDK authentication.
type Mode string

const (
	// Disabled: no token is read; the X-Herald-Sdk-Auth header is ignored
	// (there is no key to check it with). The default.
	Disabled Mode = "disabled"
	// Optional: a token, when sent, must be valid and for the request's user;
	// requests without one are served as with Disabled. For rolling out: ship
	// SDK versions that send tokens, then switch to Required.
	Optional Mode = "optional"
	// Required: every request acting for an identified user must carry a valid
	// token for that user. Anonymous requests (a device without an external
	// id) are served without one.
	Required Mode = "required"
)

// Valid reports whether m is one of the three modes.
func (m Mode) Valid() bool { return m == Disabled || m == Optional || m == Required }

// Errors of Check: the request is refused (401).
var (
	ErrMissing      = errors.New("missing SDK authentication token")
	ErrWrongSubject = errors.New("token is for another user")
)

// Check decides whether a request authenticated with subject ("" when it
// carried no token) may act for the user with externalID ("" for an anonymous
// device user). A token sent is verified before Check; Check only compares.
func Check(mode Mode, subject, externalID string) error {
	if mode != Optional && mode != Required {
		return nil
	}
	if externalID == "" {
		return nil
	}
	if subject == "" {
		if mode == Required {
			return fmt.Errorf("%w: this app requires X-Herald-Sdk-Auth, a token for the user, on requests for identified users", ErrMissing)
		}
		return nil
	}
	if subject != externalID {
		return fmt.Errorf("%w: the token's sub does not match the request's user id", ErrWrongSubject)
	}
	return nil
}
