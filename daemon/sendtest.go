package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fcm"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

// sendTest sends one message through an app's provider and prints the outcome.
func (c *cli) sendTest(ctx context.Context, args []string) error {
	fs := c.flags("send-test")
	file := fs.String("c", "", "config file")
	appID := fs.String("app", "", "app id")
	platform := fs.String("platform", "", "ios, android or web: the one app of that platform")
	token := fs.String("token", "", "device token (web: the subscription endpoint or its last path segment, found among registered devices or on the fake push service)")
	subscription := fs.String("subscription", "", "web: the PushSubscription JSON")
	title := fs.String("title", "Herald test", "notification title")
	body := fs.String("body", "A test message from herald send-test", "notification body")
	attempts := fs.Int("attempts", 3, "attempts when the provider asks to retry")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*appID == "") == (*platform == "") {
		return usageErr("give --app ID or --platform ios|android|web")
	}
	if *token == "" && *subscription == "" {
		return usageErr("give --token (or --subscription for web)")
	}
	cfg, err := c.loadConfig(c.configPath(*file))
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, c.stderr, c.env.Map)
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.Store.AutoMigrate {
		if _, err := st.Migrate(ctx); err != nil {
			return err
		}
	} else if pending, err := st.MigrationsPending(ctx); err != nil {
		return err
	} else if pending {
		return errors.New("the database has pending migrations: run `herald migrate` first")
	}
	apps, err := appService(cfg, st)
	if err != nil {
		return err
	}
	if err := declareApps(ctx, cfg, apps); err != nil {
		return err
	}
	app, err := pickApp(ctx, apps, *appID, *platform)
	if err != nil {
		return err
	}
	snd, err := newSenders(cfg, apps, log, nil)
	if err != nil {
		return err
	}
	defer snd.Close()
	msgToken, err := resolveToken(ctx, st, apps, snd, app, *token, *subscription)
	if err != nil {
		return err
	}
	sender, _, err := snd.For(ctx, app.ID)
	if err != nil {
		return err
	}
	id := "send-test-" + fmt.Sprintf("%x", randomBytes(6))
	object := map[string]any{"title": *title, "alert": *body} // android_push and web_push
	if app.Platform == profiles.PlatformIOS {
		object = map[string]any{"alert": map[string]any{"title": *title, "body": *body}} // apple_push
	}
	msg := channels.Message{ID: id, DispatchID: "send-test", AppID: app.ID, Token: msgToken, CollapseID: id, Object: object}
	for n := 1; ; n++ {
		r := sender.Send(ctx, []channels.Message{msg})[0]
		switch {
		case r.Outcome == channels.Delivered:
			fmt.Fprintf(c.stdout, "delivered: app %s (%s), provider id %q\n", app.ID, app.Platform, r.ProviderID)
			return nil
		case r.Outcome == channels.Retry && (r.Pause || r.Reason == "channel_paused"):
			fmt.Fprintf(c.stdout, "retry, channel paused: %s: the provider refused this app's credentials or environment\n", r.Reason)
		case r.Outcome == channels.Retry && n < *attempts:
			wait := r.After
			if wait <= 0 {
				wait = time.Second
			}
			fmt.Fprintf(c.stdout, "attempt %d: retry after %s (%s)\n", n, wait, r.Reason)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			continue
		case r.Outcome == channels.DropToken:
			fmt.Fprintf(c.stdout, "drop_token: %s: the device token is no longer valid\n", r.Reason)
			if !unregistered(r) {
				// a one-off test may use a token of another environment or app:
				// only the provider's "this device is gone" prunes the record
				fmt.Fprintln(c.stdout, "the registered token is kept: only an unregistered answer prunes it from a test send")
			} else if pruned, err := pruneTested(ctx, st, app, msgToken, r.Reason); err != nil {
				return err
			} else if pruned {
				fmt.Fprintln(c.stdout, "the registered token is now marked invalid")
			}
		default:
			fmt.Fprintf(c.stdout, "%s: %s\n", r.Outcome, r.Reason)
		}
		if r.Err != nil {
			return fmt.Errorf("not delivered: %w", r.Err)
		}
		return fmt.Errorf("not delivered: %s", r.Outcome)
	}
}

// pickApp finds the app by id, or the one app of a platform.
func pickApp(ctx context.Context, apps *profiles.AppService, id, platform string) (*profiles.App, error) {
	if id != "" {
		return apps.Get(ctx, id)
	}
	list, err := apps.List(ctx)
	if err != nil {
		return nil, err
	}
	var found []*profiles.App
	for _, a := range list {
		if a.Platform == platform && (a.Kinds.APNs || a.Kinds.FCM || a.Kinds.WebPush) {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no %s app with credentials", platform)
	case 1:
		return found[0], nil
	}
	var ids []string
	for _, a := range found {
		ids = append(ids, a.ID)
	}
	return nil, fmt.Errorf("several %s apps (%s): choose one with --app", platform, strings.Join(ids, ", "))
}

// resolveToken returns the token to send to: as given, or for web the
// subscription JSON given, or the one whose endpoint ends in the token: first
// among registered devices, then on the fake push service (herald fakes), whose
// address comes from the token when it is a URL, or else from the other fake
// apps' loopback provider addresses.
func resolveToken(ctx context.Context, st *store.Store, apps *profiles.AppService, snd *senders, app *profiles.App, token, subscription string) (string, error) {
	if app.Platform != profiles.PlatformWeb {
		if token == "" {
			return "", usageErr("--token is required for %s apps", app.Platform)
		}
		return token, nil
	}
	if subscription != "" {
		stored, _, err := profiles.NormalizeToken(profiles.PlatformWeb, subscription)
		if err != nil {
			return "", fmt.Errorf("--subscription: %w", err)
		}
		return stored, nil
	}
	segment, origins := token, []string(nil)
	if u, err := url.Parse(token); err == nil && u.Scheme != "" && u.Host != "" {
		segment = path.Base(u.Path)
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	if d, err := st.FindDevice(ctx, app.ID, segment, true); err == nil {
		return d.Token, nil
	}
	origins = append(origins, fakeOrigins(ctx, apps)...)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: snd.roots}}}
	for _, o := range origins {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o+"/_fake/webpush/subscriptions/"+url.PathEscape(segment), nil)
		res, err := client.Do(req)
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(res.Body, 8192))
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			stored, _, err := profiles.NormalizeToken(profiles.PlatformWeb, string(data))
			if err == nil {
				return stored, nil
			}
		}
	}
	return "", fmt.Errorf("no subscription of app %s has an endpoint ending in /%s (not registered, not on a fake push service): pass --subscription", app.ID, segment)
}

// fakeOrigins returns the loopback provider origins of configured apps (the
// apps herald fakes writes all share the fakes' address).
func fakeOrigins(ctx context.Context, apps *profiles.AppService) []string {
	list, err := apps.List(ctx)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range list {
		c, err := apps.Credentials(ctx, a.ID)
		if err != nil || c == nil {
			continue
		}
		var raw string
		switch {
		case c.APNs != nil:
			raw = c.APNs.Host
		case c.FCM != nil:
			raw = c.FCM.Endpoint
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			continue
		}
		ip := net.ParseIP(u.Hostname())
		if (ip != nil && ip.IsLoopback() || u.Hostname() == "localhost") && !seen[u.Host] {
			seen[u.Host] = true
			out = append(out, u.Scheme+"://"+u.Host)
		}
	}
	return out
}

// unregistered reports whether a provider said the device or subscription is
// gone (APNs 410 Unregistered, FCM UNREGISTERED, Web Push 404/410), as opposed
// to the token not being valid for what was tried.
func unregistered(r channels.Result) bool {
	var perr *channels.ProviderError
	if !errors.As(r.Err, &perr) {
		return false
	}
	return perr.Status == http.StatusGone || perr.Reason == fcm.CodeUnregistered ||
		(perr.Channel == channels.WebPush && perr.Status == http.StatusNotFound)
}

// pruneTested marks a tested token invalid when a device holds it.
func pruneTested(ctx context.Context, st *store.Store, app *profiles.App, token, reason string) (bool, error) {
	key := token
	if app.Platform == profiles.PlatformWeb {
		sub, err := profiles.ParseWebSubscription(token)
		if err != nil {
			return false, nil
		}
		key = sub.Endpoint
	} else if _, k, err := profiles.NormalizeToken(app.Platform, token); err == nil {
		key = k
	}
	n, err := st.InvalidateTokens(ctx, []profiles.TokenDrop{{AppID: app.ID, TokenKey: key, Reason: reason, At: time.Now().UTC()}})
	return n > 0, err
}
