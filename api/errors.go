package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/herald-oss/herald/profiles"
)

// brazeError is Braze's error body: a message and, optionally, minor errors.
type brazeError struct {
	Message string                 `json:"message"`
	Errors  []profiles.ObjectError `json:"errors,omitempty"`
}

// fieldError names a bad field of a management request.
type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

type manageError struct {
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, brazeError{Message: msg})
}

// writeRequestError answers a request that failed decoding or validation. Errors
// that name fields become {"field","reason"} entries.
func (s *Server) writeRequestError(w http.ResponseWriter, r *http.Request, err error) {
	var re *profiles.RequestError
	if errors.As(err, &re) {
		writeJSON(w, http.StatusBadRequest, brazeError{Message: re.Message, Errors: re.Errors})
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeMessage(w, http.StatusRequestEntityTooLarge, "request body is larger than the limit")
		return
	}
	var be *bodyError
	if errors.As(err, &be) {
		writeMessage(w, http.StatusBadRequest, be.Error())
		return
	}
	if fes := fieldErrors(err); len(fes) > 0 {
		writeJSON(w, http.StatusBadRequest, manageError{Message: "invalid request", Errors: fes})
		return
	}
	switch {
	case errors.Is(err, profiles.ErrNotFound):
		writeMessage(w, http.StatusNotFound, "not found")
	case errors.Is(err, profiles.ErrConflict):
		writeMessage(w, http.StatusConflict, "already exists")
	case errors.Is(err, profiles.ErrNoEncryptionKey):
		writeMessage(w, http.StatusConflict, err.Error())
	case r.Context().Err() != nil:
		// the client went away; nothing useful to send
	default:
		s.log.Error("request failed", "route", r.Pattern, "err", err)
		writeMessage(w, http.StatusInternalServerError, "internal error")
	}
}

// fieldErrors flattens joined *profiles.FieldError values.
func fieldErrors(err error) []fieldError {
	var out []fieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		var fe *profiles.FieldError
		if errors.As(e, &fe) && e == error(fe) {
			out = append(out, fieldError{Field: fe.Field, Reason: fe.Reason})
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		if errors.As(e, &fe) {
			out = append(out, fieldError{Field: fe.Field, Reason: fe.Reason})
		}
	}
	walk(err)
	return out
}
