package daemon

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/sdkauth"
)

// TestDeclareAppsSDKAuth: apps[].sdk_auth in the config file reaches the
// store (the secret sealed), tokens verify against it, a later declaration
// without sdk_auth keeps it and one with replaces it.
func TestDeclareAppsSDKAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	const secret = "declared-secret-0123456789abcdefghijkl"
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("sdk.secret", secret+"\n")
	write("sdk.pub.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	head := "store:\n  sqlite:\n    path: herald.db\nsecurity:\n  encryption_key: \"1QM9bLajxswIhT9vSDSZWg68b5y86Ntlq22o9+3Q5UA=\"\napps:\n"
	declare := func(apps string) {
		t.Helper()
		write("herald.yaml", head+apps)
		cfg, err := config.Load(filepath.Join(dir, "herald.yaml"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		st, err := openStore(ctx, &cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		svc, err := appService(&cfg, st)
		if err != nil {
			t.Fatal(err)
		}
		if err := declareApps(ctx, &cfg, svc); err != nil {
			t.Fatal(err)
		}
	}
	declare(`  - id: web-main
    platform: web
    sdk_auth:
      mode: required
      algorithm: HS256
      secret_file: sdk.secret
  - id: ios-main
    platform: ios
    sdk_auth:
      mode: optional
      algorithm: RS256
      public_key_file: sdk.pub.pem
`)

	cfg, err := config.Load(filepath.Join(dir, "herald.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := openStore(ctx, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := appService(&cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, key any) string {
		s, err := jwt.NewWithClaims(m, jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	web, err := svc.Get(ctx, "web-main")
	if err != nil {
		t.Fatal(err)
	}
	if web.SDKAuth.Mode != sdkauth.Required || web.SDKAuth.Algorithm != sdkauth.HS256 || strings.Contains(string(web.SDKAuth.SealedSecret), secret) {
		t.Fatalf("web-main SDK auth = %+v", web.SDKAuth)
	}
	// the file's trailing newline is not part of the secret
	if c, err := svc.VerifySDKToken(web, sign(jwt.SigningMethodHS256, []byte(secret))); err != nil || c.Subject != "u1" {
		t.Fatalf("HS256 token for the declared secret: %+v %v", c, err)
	}
	ios, err := svc.Get(ctx, "ios-main")
	if err != nil {
		t.Fatal(err)
	}
	if ios.SDKAuth.Mode != sdkauth.Optional || ios.SDKAuth.Algorithm != sdkauth.RS256 {
		t.Fatalf("ios-main SDK auth = %+v", ios.SDKAuth)
	}
	if _, err := svc.VerifySDKToken(ios, sign(jwt.SigningMethodRS256, priv)); err != nil {
		t.Fatalf("RS256 token for the declared key: %v", err)
	}
	st.Close()

	// without sdk_auth the declared settings stay; disabled replaces them
	declare("  - id: web-main\n    platform: web\n  - id: ios-main\n    platform: ios\n    sdk_auth:\n      mode: disabled\n")
	st, err = openStore(ctx, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if a, err := st.GetApp(ctx, "web-main"); err != nil || a.SDKAuth.Mode != sdkauth.Required {
		t.Fatalf("web-main after a declaration without sdk_auth: %+v %v", a, err)
	}
	if a, err := st.GetApp(ctx, "ios-main"); err != nil || a.SDKAuth.Mode != sdkauth.Disabled || a.SDKAuth.PublicKey != "" {
		t.Fatalf("ios-main declared disabled: %+v %v", a, err)
	}
}
