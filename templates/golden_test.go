package templates

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenUser is a user the golden corpus is rendered for.
type goldenUser struct {
	name string
	vars Vars
}

func goldenUsers() []goldenUser {
	day := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	ada := &profiles.Profile{
		User: &profiles.User{
			BrazeID: "5f3c9a01d2e4", ExternalID: "ada-1", RandomBucket: 1234,
			Standard: profiles.Standard{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
				Phone: "+442071234567", Country: "GB", HomeCity: "London", Language: "en",
				TimeZone: "Europe/London", DOB: "1815-12-10", Gender: "F",
				PushSubscribe: profiles.OptedIn, EmailSubscribe: profiles.Subscribed},
			Custom: profiles.Custom{
				"plan": "gold", "points": 1234567.0, "vip": true, "favorite color": "green",
				"wishlist":  []any{"Telescope", "Notebook", "Quill pen", "Oil lamp"},
				"sale_ends": day(2026, 3, 20, 17),
			},
			LastSessionAt: day(2026, 3, 13, 9),
		},
		Devices: []profiles.Device{{Platform: profiles.PlatformIOS, DeviceID: "ada-phone", UpdatedAt: day(2026, 3, 1, 0)}},
		Apps:    []profiles.AppUsage{{AppID: "ios", Version: "2.3.1", LastUsed: day(2026, 3, 13, 9)}},
	}
	bob := &profiles.Profile{
		User: &profiles.User{
			BrazeID: "7a1b2c3d4e5f", ExternalID: "bob-2", RandomBucket: 42,
			Standard: profiles.Standard{LastName: "Builder", Email: "bob@example.org", Country: "MX",
				HomeCity: "Guadalajara", Language: "es", TimeZone: "America/Los_Angeles", DOB: "1990-03-14",
				PushSubscribe: profiles.Subscribed, EmailSubscribe: profiles.Unsubscribed},
			Custom: profiles.Custom{"plan": "silver", "points": 950.0, "wishlist": []any{},
				"sale_ends": day(2026, 3, 20, 17)},
		},
		Devices: []profiles.Device{{Platform: profiles.PlatformAndroid, DeviceID: "bob-pixel", UpdatedAt: day(2026, 2, 1, 0)}},
	}
	return []goldenUser{
		{"ada", ProfileVars(ada, VarsOptions{
			EventProperties:      map[string]any{"product_name": "Analytical Engine", "price": 1999.5, "quantity": 2.0, "category": "machines"},
			APITriggerProperties: map[string]any{"coupon_code": "ADA20", "expires": "2026-04-01T00:00:00Z"},
		})},
		{"bob", ProfileVars(bob, VarsOptions{
			EventProperties: map[string]any{"product_name": "Hammer", "price": 12.0, "quantity": 1.0},
		})},
		{"anonymous", ProfileVars(nil, VarsOptions{})},
	}
}

// partnerAPI is the local server the connected content templates call.
func partnerAPI(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/offers/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "ada-1":
			fmt.Fprint(w, `{"title":"Tea for two","discount":25,"code":"TEA25","products":[{"name":"Earl Grey","price":4.5},{"name":"Scones","price":6}]}`)
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("/weather", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "sunny in %s", r.URL.Query().Get("city"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestGolden renders every template of testdata/golden for each golden user
// and compares with its .golden file; go test -update rewrites them.
func TestGolden(t *testing.T) {
	t.Parallel()
	srv := partnerAPI(t)
	e := New(Options{Now: func() time.Time { return goldenNow },
		ConnectedContent: ConnectedOptions{AllowLoopback: true}})
	files, err := filepath.Glob("testdata/golden/*.liquid")
	if err != nil || len(files) < 15 {
		t.Fatalf("%d golden templates (%v)", len(files), err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".liquid")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tpl := mustParse(t, e, string(src))
			var out strings.Builder
			for _, u := range goldenUsers() {
				u.vars["partner_api"] = srv.URL
				got, err := tpl.Render(context.Background(), u.vars)
				fmt.Fprintf(&out, "=== %s ===\n", u.name)
				var abort *AbortError
				switch {
				case errors.As(err, &abort):
					fmt.Fprintf(&out, "ABORTED: %q\n", abort.Reason)
				case err != nil:
					fmt.Fprintf(&out, "ERROR: %v\n", err)
				default:
					out.WriteString(got)
					if !strings.HasSuffix(got, "\n") {
						out.WriteString("\n")
					}
				}
			}
			golden := strings.TrimSuffix(file, ".liquid") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./templates -update)", err)
			}
			if out.String() != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", golden, out.String(), want)
			}
		})
	}
}
