package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/profiles"
)

func (d *Dashboard) settingsRoutes() {
	d.mux.HandleFunc("GET /dashboard/settings", d.authed(d.settings))
	d.mux.HandleFunc("POST /dashboard/settings/apps", d.authed(d.createApp))
	d.mux.HandleFunc("POST /dashboard/settings/apps/{id}/credentials", d.authed(d.uploadCredentials))
	d.mux.HandleFunc("POST /dashboard/settings/apps/{id}/test", d.authed(d.testSend))
	d.mux.HandleFunc("POST /dashboard/settings/keys", d.authed(d.createKey))
	d.mux.HandleFunc("POST /dashboard/settings/keys/{id}/revoke", d.authed(d.revokeKey))
}

// settingsView is the app settings page.
type settingsView struct {
	Apps      []appRow
	Keys      []*apikeys.Key
	Scopes    []string
	NewSecret string // a key just created: shown once
	NewKey    string
	CanTest   bool
	Errors    []fieldError
}

type appRow struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Platform    string `json:"platform"`
	SDKKey      string `json:"sdk_key"`
	Source      string `json:"source"`
	Credentials struct {
		APNs    bool `json:"apns"`
		FCM     bool `json:"fcm"`
		WebPush bool `json:"webpush"`
	} `json:"credentials"`
}

func (d *Dashboard) settings(w http.ResponseWriter, r *http.Request, s *session) {
	d.renderSettings(w, r, s, http.StatusOK, settingsView{}, "")
}

func (d *Dashboard) renderSettings(w http.ResponseWriter, r *http.Request, s *session, status int, v settingsView, msg string) {
	var apps struct {
		Apps []appRow `json:"apps"`
	}
	if err := d.call(r.Context(), s.Secret, http.MethodGet, "/manage/apps", nil, &apps); err != nil {
		d.fail(w, r, err)
		return
	}
	v.Apps, v.Scopes, v.CanTest = apps.Apps, apikeys.AllScopes(), d.deps.TestSender != nil
	if d.deps.APIKeys != nil {
		keys, err := d.deps.APIKeys.ListAPIKeys(r.Context())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		v.Keys = keys
	}
	d.render(w, r, status, "settings", s, page{Title: "Settings", Nav: "settings", Error: msg, Data: v})
}

// settingsError re-renders the page with a 400 and the fields refused.
func (d *Dashboard) settingsError(w http.ResponseWriter, r *http.Request, s *session, err error, msg string) {
	var ae *apiError
	var fe *fieldError
	v := settingsView{}
	switch {
	case errors.As(err, &fe):
		v.Errors = []fieldError{*fe}
	case errors.As(err, &ae) && ae.Status/100 == 4:
		v.Errors = ae.Errors
		if len(v.Errors) == 0 {
			v.Errors = []fieldError{{Field: "request", Reason: ae.Message}}
		}
	default:
		d.fail(w, r, err)
		return
	}
	d.renderSettings(w, r, s, http.StatusBadRequest, v, msg)
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Reason }

func (d *Dashboard) createApp(w http.ResponseWriter, r *http.Request, s *session) {
	body := map[string]string{"id": strings.TrimSpace(r.PostFormValue("id")), "name": strings.TrimSpace(r.PostFormValue("name")),
		"platform": r.PostFormValue("platform")}
	if err := d.call(r.Context(), s.Secret, http.MethodPost, "/manage/apps", body, nil); err != nil {
		d.settingsError(w, r, s, err, "the app was not created")
		return
	}
	redirect(w, r, "/dashboard/settings", "app "+body["id"]+" created")
}

// maxUpload bounds one credential file.
const maxUpload = 1 << 20

// upload reads a posted file field; "" when none was given.
func upload(r *http.Request, field string) ([]byte, error) {
	f, _, err := r.FormFile(field)
	if errors.Is(err, http.ErrMissingFile) {
		return nil, nil
	}
	if err != nil {
		return nil, &fieldError{Field: field, Reason: err.Error()}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxUpload {
		return nil, &fieldError{Field: field, Reason: "file over 1 MiB"}
	}
	return b, nil
}

// credentialsFrom builds an app's credentials from the upload form: kind
// apns (a .p8 key with key_id and team_id, or a .p12/PEM certificate with
// its password), fcm (a service-account JSON) or webpush (VAPID keys).
func credentialsFrom(r *http.Request) (*profiles.Credentials, error) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	switch kind := v("kind"); kind {
	case "apns":
		c := &profiles.APNsCredentials{KeyID: v("key_id"), TeamID: v("team_id"), Topic: v("topic"),
			Environment: v("environment"), Host: v("host"), CertificatePassword: r.PostFormValue("password")}
		file, err := upload(r, "file")
		if err != nil {
			return nil, err
		}
		switch {
		case len(file) == 0:
			return nil, &fieldError{Field: "file", Reason: "upload the .p8 key or the .p12 certificate"}
		case strings.Contains(string(file), "PRIVATE KEY-----") && !strings.Contains(string(file), "CERTIFICATE"):
			c.KeyP8 = string(file)
		case strings.Contains(string(file), "-----BEGIN"):
			c.CertificatePEM = string(file)
		default:
			c.CertificateP12 = file
		}
		return &profiles.Credentials{APNs: c}, nil
	case "fcm":
		file, err := upload(r, "file")
		if err != nil {
			return nil, err
		}
		if len(file) == 0 || !json.Valid(file) {
			return nil, &fieldError{Field: "file", Reason: "upload the service-account JSON file"}
		}
		return &profiles.Credentials{FCM: &profiles.FCMCredentials{ServiceAccountJSON: file, ProjectID: v("project_id"), Endpoint: v("endpoint")}}, nil
	case "webpush":
		return &profiles.Credentials{WebPush: &profiles.WebPushCredentials{VAPIDPublicKey: v("vapid_public_key"),
			VAPIDPrivateKey: v("vapid_private_key"), Subject: v("subject")}}, nil
	default:
		return nil, &fieldError{Field: "kind", Reason: fmt.Sprintf("want apns, fcm or webpush, got %q", kind)}
	}
}

// uploadCredentials stores an app's push credentials (PUT
// /manage/apps/{id}/credentials validates them) and, given a test token,
// checks them with a test send.
func (d *Dashboard) uploadCredentials(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if err := r.ParseMultipartForm(4 * maxUpload); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		d.settingsError(w, r, s, &fieldError{Field: "file", Reason: err.Error()}, "the credentials were not saved")
		return
	}
	c, err := credentialsFrom(r)
	if err == nil {
		err = d.call(r.Context(), s.Secret, http.MethodPut, "/manage/apps/"+url.PathEscape(id)+"/credentials", c, nil)
	}
	if err != nil {
		d.settingsError(w, r, s, err, "the credentials were not saved")
		return
	}
	flash := "credentials of " + id + " saved"
	if token := strings.TrimSpace(r.PostFormValue("test_token")); token != "" && d.deps.TestSender != nil {
		flash += "; test send: " + d.runTest(r, id, token)
	}
	redirect(w, r, "/dashboard/settings", flash)
}

func (d *Dashboard) runTest(r *http.Request, appID, token string) string {
	out, err := d.deps.TestSender.TestSend(r.Context(), appID, token)
	if err != nil {
		return "failed: " + err.Error()
	}
	return out
}

// testSend sends one test push through an app's stored credentials.
func (d *Dashboard) testSend(w http.ResponseWriter, r *http.Request, s *session) {
	token := strings.TrimSpace(r.PostFormValue("token"))
	switch {
	case d.deps.TestSender == nil:
		http.Error(w, "test sends are not available in this process", http.StatusNotImplemented)
		return
	case token == "":
		d.settingsError(w, r, s, &fieldError{Field: "token", Reason: "required"}, "no test send")
		return
	}
	redirect(w, r, "/dashboard/settings", "test send to "+r.PathValue("id")+": "+d.runTest(r, r.PathValue("id"), token))
}

// createKey creates an API key and shows its secret once.
func (d *Dashboard) createKey(w http.ResponseWriter, r *http.Request, s *session) {
	if d.deps.APIKeys == nil {
		http.Error(w, "API keys cannot be managed here", http.StatusNotImplemented)
		return
	}
	if err := r.ParseForm(); err != nil {
		d.settingsError(w, r, s, &fieldError{Field: "scopes", Reason: err.Error()}, "no key created")
		return
	}
	scopes, err := apikeys.ParseScopes(strings.Join(r.PostForm["scopes"], ","))
	if err != nil {
		d.settingsError(w, r, s, &fieldError{Field: "scopes", Reason: err.Error()}, "no key created")
		return
	}
	if slices.Contains(scopes, apikeys.All) && !s.key.Allows(apikeys.All) {
		d.settingsError(w, r, s, &fieldError{Field: "scopes", Reason: "only a key with every scope can create one"}, "no key created")
		return
	}
	secret, k, err := apikeys.Create(r.Context(), d.deps.APIKeys, strings.TrimSpace(r.PostFormValue("name")), "", scopes, d.opts.Now())
	if err != nil {
		if strings.Contains(err.Error(), "needs a name") {
			err = &fieldError{Field: "name", Reason: err.Error()}
		}
		d.settingsError(w, r, s, err, "no key created")
		return
	}
	d.log.Info("dashboard: API key created", "key_id", k.ID, "by_key_id", s.key.ID)
	d.renderSettings(w, r, s, http.StatusCreated, settingsView{NewSecret: secret, NewKey: k.Name}, "")
}

func (d *Dashboard) revokeKey(w http.ResponseWriter, r *http.Request, s *session) {
	if d.deps.APIKeys == nil {
		http.Error(w, "API keys cannot be managed here", http.StatusNotImplemented)
		return
	}
	id := r.PathValue("id")
	err := d.deps.APIKeys.RevokeAPIKey(r.Context(), id, d.opts.Now())
	switch {
	case errors.Is(err, apikeys.ErrNotFound):
		d.settingsError(w, r, s, &fieldError{Field: "id", Reason: "no active key " + id}, "nothing revoked")
	case err != nil:
		d.fail(w, r, err)
	default:
		d.log.Info("dashboard: API key revoked", "key_id", id, "by_key_id", s.key.ID)
		redirect(w, r, "/dashboard/settings", "key "+id+" revoked")
	}
}
