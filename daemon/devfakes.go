package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/profiles"
)

// devApps are the apps herald dev creates, whose providers are the fakes.
var devApps = []struct{ id, name, platform string }{
	{"dev-ios", "Dev iOS", "ios"},
	{"dev-android", "Dev Android", "android"},
	{"dev-web", "Dev Web", "web"},
}

// startDevFakes starts the fake providers on loopback for herald dev and makes
// cfg trust them: their CA (with providers.ca_file's, if set) is written to a
// new file in dataDir that becomes providers.ca_file. Once the data dir is
// known to be this process's (the store is open), publishDevCA renames it to
// fakes-ca.pem.
func startDevFakes(cfg *config.Config, dataDir string, log *slog.Logger) (*fakeProviders, error) {
	f, err := newFakeProviders("127.0.0.1:0", log, fakeApps{ios: devApps[0].id, android: devApps[1].id, web: devApps[2].id})
	if err != nil {
		return nil, err
	}
	pem := f.ca.PEM()
	if cfg.Providers.CAFile != "" {
		own, err := os.ReadFile(cfg.Path(cfg.Providers.CAFile))
		if err != nil {
			_ = f.l.Close()
			return nil, fmt.Errorf("providers.ca_file: %w", err)
		}
		pem = append(append(own, '\n'), pem...)
	}
	tmp, err := os.CreateTemp(dataDir, "fakes-ca-*.pem")
	if err == nil {
		_, err = tmp.Write(pem)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_ = f.l.Close()
		return nil, fmt.Errorf("write the fake providers' CA: %w", err)
	}
	cfg.Providers.CAFile = tmp.Name()
	return f, nil
}

// publishDevCA names the CA file fakes-ca.pem in the data dir, for clients of
// the fakes (curl --cacert).
func publishDevCA(cfg *config.Config, dataDir string) error {
	return os.Rename(cfg.Providers.CAFile, filepath.Join(dataDir, "fakes-ca.pem"))
}

// declareDevApps creates the dev apps, or updates their credentials, so they
// send to the fakes (whose keys are new at every start).
func (f *fakeProviders) declareDevApps(ctx context.Context, apps *profiles.AppService) error {
	creds := f.credentials()
	for _, a := range devApps {
		_, err := apps.Get(ctx, a.id)
		switch {
		case errors.Is(err, profiles.ErrNotFound):
			err = apps.Declare(ctx, a.id, a.name, a.platform, creds[a.id])
		case err == nil:
			_, err = apps.SetCredentials(ctx, a.id, creds[a.id])
		}
		if err != nil {
			return fmt.Errorf("dev app %s: %w", a.id, err)
		}
	}
	return nil
}

// devRoutes serves dev mode's own endpoints beside the API:
//
//	GET /dev/outbox               every message the fakes accepted, oldest first, as JSON
//	DELETE /dev/outbox            forget them
//	POST /dev/webpush/subscribe   a new subscription on the Web Push fake for dev-web
func (f *fakeProviders) devRoutes(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/dev/outbox", f.recorder.Handler())
	mux.HandleFunc("POST /dev/webpush/subscribe", f.devSubscribe)
	mux.Handle("/", api)
	return mux
}

// devSubscribe mints a PushSubscription for dev-web's VAPID key, as a browser's
// pushManager.subscribe would; ?behavior=unregistered (or another fake token
// word) scripts the push service's answers.
func (f *fakeProviders) devSubscribe(w http.ResponseWriter, r *http.Request) {
	sub, err := f.web.NewRestrictedSubscription(r.URL.Query().Get("behavior"), f.vapidPub)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
		return
	}
	_, _ = w.Write([]byte(sub))
}
