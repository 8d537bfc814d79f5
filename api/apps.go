package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/herald-oss/herald/profiles"
)

// appView is an app as the management API shows it: never its credentials.
type appView struct {
	ID          string                   `json:"id"`
	Name        string                   `json:"name"`
	Platform    string                   `json:"platform"`
	SDKKey      string                   `json:"sdk_key"`
	Source      string                   `json:"source"`
	Credentials profiles.CredentialKinds `json:"credentials"`
	SDKAuth     sdkAuthView              `json:"sdk_auth"`
	CreatedAt   string                   `json:"created_at"`
	UpdatedAt   string                   `json:"updated_at"`
}

// sdkAuthView is an app's SDK authentication without its key.
type sdkAuthView struct {
	Mode      string `json:"mode"`
	Algorithm string `json:"algorithm"`
}

func viewApp(a *profiles.App) appView {
	return appView{ID: a.ID, Name: a.Name, Platform: a.Platform, SDKKey: a.SDKKey, Source: a.Source,
		Credentials: a.Kinds, SDKAuth: sdkAuthView{Mode: string(a.SDKAuth.Mode), Algorithm: a.SDKAuth.Algorithm},
		CreatedAt: a.CreatedAt.Format(time.RFC3339), UpdatedAt: a.UpdatedAt.Format(time.RFC3339)}
}

// decodeManage decodes a management request body strictly.
func decodeManage(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err // 413
		}
		return &profiles.RequestError{Message: "invalid JSON body: " + err.Error()}
	}
	return nil
}

func (s *Server) createApp(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Platform string `json:"platform"`
	}
	if err := decodeManage(r, &body); err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	a, err := s.deps.Apps.Create(r.Context(), body.ID, body.Name, body.Platform)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewApp(a))
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	apps, err := s.deps.Apps.List(r.Context())
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	out := make([]appView, 0, len(apps))
	for _, a := range apps {
		out = append(out, viewApp(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": out})
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	a, err := s.deps.Apps.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewApp(a))
}

func (s *Server) setCredentials(w http.ResponseWriter, r *http.Request) {
	var c profiles.Credentials
	if err := decodeManage(r, &c); err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	a, err := s.deps.Apps.SetCredentials(r.Context(), r.PathValue("id"), &c)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewApp(a))
}

// setSDKAuth is PUT /manage/apps/{id}/sdk_auth {mode, algorithm, secret |
// public_key}; it answers the app, never the secret.
func (s *Server) setSDKAuth(w http.ResponseWriter, r *http.Request) {
	var in profiles.SDKAuthSettings
	if err := decodeManage(r, &in); err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	a, err := s.deps.Apps.SetSDKAuth(r.Context(), r.PathValue("id"), &in)
	if err != nil {
		s.writeRequestError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewApp(a))
}
