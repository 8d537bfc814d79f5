package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/sdkauth"
	"github.com/herald-oss/herald/store"
)

// testAppSDKAuth: an app's SDK authentication settings round-trip; a new app
// is disabled; an upsert without settings keeps them, one with settings
// replaces them.
func testAppSDKAuth(t *testing.T, s *store.Store) {
	mustApp(t, s, "auth-web", profiles.PlatformWeb)
	got, err := s.GetApp(ctx(t), "auth-web")
	if err != nil {
		t.Fatal(err)
	}
	if got.SDKAuth.Mode != sdkauth.Disabled || got.SDKAuth.Algorithm != "" || got.SDKAuth.SealedSecret != nil || got.SDKAuth.PublicKey != "" {
		t.Fatalf("new app's SDK auth = %+v, want disabled", got.SDKAuth)
	}

	hs := profiles.SDKAuth{Mode: sdkauth.Required, Algorithm: sdkauth.HS256, SealedSecret: []byte{0, 1, 2, 255, 9}}
	if err := s.SetAppSDKAuth(ctx(t), "auth-web", hs, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppSDKAuth(ctx(t), "nope", hs, t0); !errors.Is(err, profiles.ErrNotFound) {
		t.Fatalf("SetAppSDKAuth(nope) = %v, want ErrNotFound", err)
	}
	check := func(what string, want profiles.SDKAuth) {
		t.Helper()
		for _, get := range []func() (*profiles.App, error){
			func() (*profiles.App, error) { return s.GetApp(ctx(t), "auth-web") },
			func() (*profiles.App, error) { return s.AppBySDKKey(ctx(t), "sdk-auth-web") },
		} {
			a, err := get()
			if err != nil {
				t.Fatal(err)
			}
			g := a.SDKAuth
			if g.Mode != want.Mode || g.Algorithm != want.Algorithm || string(g.SealedSecret) != string(want.SealedSecret) || g.PublicKey != want.PublicKey {
				t.Fatalf("%s: SDK auth = %+v, want %+v", what, g, want)
			}
		}
	}
	check("set HS256", hs)
	if a, _ := s.GetApp(ctx(t), "auth-web"); !a.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("updated_at = %v", a.UpdatedAt)
	}

	rs := profiles.SDKAuth{Mode: sdkauth.Optional, Algorithm: sdkauth.RS256, PublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}
	if err := s.SetAppSDKAuth(ctx(t), "auth-web", rs, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("set RS256 (the secret goes)", rs)

	// a declaration without SDK auth keeps it; one with replaces it
	decl := &profiles.App{ID: "auth-web", Name: "Web", Platform: "web", SDKKey: "ignored", Source: "config", CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}
	if err := s.UpsertApp(ctx(t), decl); err != nil {
		t.Fatal(err)
	}
	check("upsert without SDK auth", rs)
	decl.SDKAuth = hs
	if err := s.UpsertApp(ctx(t), decl); err != nil {
		t.Fatal(err)
	}
	check("upsert with SDK auth", hs)
	decl.SDKAuth = profiles.SDKAuth{Mode: sdkauth.Disabled}
	if err := s.UpsertApp(ctx(t), decl); err != nil {
		t.Fatal(err)
	}
	check("upsert disabled", profiles.SDKAuth{Mode: sdkauth.Disabled})

	// a declared app created with SDK auth; CreateApp stores it too
	if err := s.UpsertApp(ctx(t), &profiles.App{ID: "auth-new", Name: "n", Platform: "ios", SDKKey: "sdk-auth-new", Source: "config",
		SDKAuth: rs, CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateApp(ctx(t), &profiles.App{ID: "auth-created", Name: "c", Platform: "ios", SDKKey: "sdk-auth-created", Source: "api",
		SDKAuth: hs, CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]profiles.SDKAuth{"auth-new": rs, "auth-created": hs} {
		a, err := s.GetApp(ctx(t), id)
		if err != nil || a.SDKAuth.Mode != want.Mode || a.SDKAuth.Algorithm != want.Algorithm ||
			string(a.SDKAuth.SealedSecret) != string(want.SealedSecret) || a.SDKAuth.PublicKey != want.PublicKey {
			t.Fatalf("%s: %+v %v, want %+v", id, a, err, want)
		}
	}
}
