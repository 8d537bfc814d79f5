package daemon

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/config"
)

// dev runs everything embedded: every role in one process, SQLite under
// --data-dir, an in-process Redis unless --redis is given, migrations applied,
// an admin API key, and the fake providers on loopback as the dev apps'
// providers.
func (c *cli) dev(ctx context.Context, args []string) error {
	fs := c.flags("dev")
	addr := fs.String("addr", "127.0.0.1:8080", "API listen address")
	dataDir := fs.String("data-dir", "./herald-data", "directory for the SQLite database and dev secrets")
	redisAddr := fs.String("redis", "", "use this Redis (host:port or redis:// URL) instead of the in-process one")
	apiKey := fs.String("api-key", c.env.Map["HERALD_DEV_API_KEY"], "admin REST API key (default: generated once and kept in the data dir)")
	file := fs.String("c", "", "optional config file; dev overrides its store, Redis and API address")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := config.Default()
	if path := c.configPath(*file); path != "" {
		loaded, err := config.Load(path, c.env.List)
		if err != nil {
			return fmt.Errorf("invalid configuration:\n%s", indent(err))
		}
		cfg = loaded
	} else if err := applyEnvOnly(&cfg, c.env.List); err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	absData, _ := filepath.Abs(*dataDir)
	cfg.API.Addr = *addr
	cfg.Store.Driver = "sqlite"
	cfg.Store.SQLite.Path = filepath.Join(absData, "herald.db")
	cfg.Store.AutoMigrate = true
	cfg.Exports.Dir = filepath.Join(absData, "exports")
	cfg.Providers.WebPush.AllowLoopback = true // the fake push service listens on loopback
	cfg.Providers.Webhook.AllowPrivate = true  // a webhook receiver tried in dev runs on this machine
	if cfg.Security.EncryptionKey == "" && cfg.Security.EncryptionKeyFile == "" {
		keyFile, err := devSecret(filepath.Join(absData, "encryption.key"), func() string {
			return base64.StdEncoding.EncodeToString(randomBytes(32))
		})
		if err != nil {
			return err
		}
		cfg.Security.EncryptionKeyFile = keyFile
	}

	log := newLogger(cfg.Log, c.stderr, c.env.Map)
	fakes, err := startDevFakes(&cfg, absData, log)
	if err != nil {
		return err
	}
	defer fakes.l.Close()                 // stopped softly as a component; this covers early returns
	defer os.Remove(cfg.Providers.CAFile) // published (renamed) once the store is open

	var mr *miniredis.Miniredis
	if *redisAddr == "" {
		mr = miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("start in-process Redis: %w", err)
		}
		defer mr.Close()
		cfg.Redis = config.Redis{Addr: mr.Addr(), KeyPrefix: cfg.Redis.KeyPrefix, CheckNoEviction: false}
	} else if err := setRedis(&cfg, *redisAddr); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%s", indent(err))
	}

	n, err := buildNode(ctx, &cfg, log, mr == nil)
	if err != nil {
		return err
	}
	defer n.close()
	if err := publishDevCA(&cfg, absData); err != nil {
		return err
	}
	if err := fakes.declareDevApps(ctx, n.apps); err != nil {
		return err
	}
	key := *apiKey
	if key == "" {
		key, err = devSecret(filepath.Join(absData, "dev-api-key"), apikeys.NewSecret)
		if err != nil {
			return err
		}
		b, _ := os.ReadFile(key)
		key = strings.TrimSpace(string(b))
	}
	if _, err := apikeys.Ensure(ctx, n.store, "dev admin", key, []string{apikeys.All}, time.Now()); err != nil {
		return fmt.Errorf("dev API key: %w", err)
	}

	comps := []component{}
	if mr != nil {
		comps = append(comps, miniredisClock(mr))
	}
	roles, h, err := n.roleComponents(roleAll)
	if err != nil {
		return err
	}
	h.srv.Handler = withPprof(cfg.Ops.Pprof, fakes.devRoutes(n.withDashboard(n.api)))
	comps = append(append(comps, fakes), roles...)
	banner := func(context.Context) error {
		c.printBanner(h.Addr(), absData, key, mr != nil, cfg.Redis.Addr, fakes.base)
		if c.devStarted != nil {
			c.devStarted(n, "http://"+h.Addr())
		}
		return nil
	}
	comps = append(comps, &funcComponent{name: "banner", start: banner})
	return runComponents(ctx, log, cfg.Lifecycle.DrainTimeout, comps, h.Failed())
}

// applyEnvOnly applies HERALD_* overrides to defaults when dev has no config file.
func applyEnvOnly(cfg *config.Config, env []string) error {
	loaded, err := config.Load("", env)
	if err != nil {
		return fmt.Errorf("invalid environment:\n%s", indent(err))
	}
	*cfg = loaded
	return nil
}

func setRedis(cfg *config.Config, v string) error {
	if strings.Contains(v, "://") {
		o, err := redisURL(v)
		if err != nil {
			return fmt.Errorf("--redis: %w", err)
		}
		cfg.Redis.Addr, cfg.Redis.Username, cfg.Redis.Password, cfg.Redis.DB = o.Addr, o.Username, o.Password, o.DB
		cfg.Redis.TLS = o.TLSConfig != nil
		return nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return fmt.Errorf("--redis must be host:port or a redis:// URL: %w", err)
	}
	cfg.Redis.Addr = v
	return nil
}

// devSecret returns path after making sure it holds a secret (generated once,
// mode 0600).
func devSecret(path string, gen func() string) (string, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(path, []byte(gen()+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	} else if err != nil {
		return "", err
	}
	return path, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return b
}

// miniredisClock advances the in-process Redis clock every second: miniredis only
// expires keys when its clock moves.
func miniredisClock(mr *miniredis.Miniredis) component {
	var stop context.CancelFunc
	done := make(chan struct{})
	return &funcComponent{name: "redis-clock",
		start: func(context.Context) error {
			var ctx context.Context
			ctx, stop = context.WithCancel(context.Background())
			go func() {
				defer close(done)
				t := time.NewTicker(time.Second)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case now := <-t.C:
						mr.SetTime(now)
						mr.FastForward(time.Second)
					}
				}
			}()
			return nil
		},
		stop: func(context.Context) error {
			stop()
			<-done
			return nil
		},
	}
}

func (c *cli) printBanner(addr, dataDir, key string, embeddedRedis bool, redisAddr, fakesURL string) {
	base := "http://" + addr
	redisLine := "in-process (miniredis at " + redisAddr + ")"
	if !embeddedRedis {
		redisLine = redisAddr
	}
	fmt.Fprintf(c.stdout, `
==============================================================================
  HERALD DEVELOPMENT MODE — for trying and developing, not for production.
  Everything is embedded: SQLite, an in-process Redis, fake providers; the
  API, worker and scheduler roles run in this one process.
==============================================================================
  API          %s
  Health       %s/healthz   Metrics %s/metrics
  Admin key    %s
  Data         %s (SQLite)
  Redis        %s
  Apps         dev-ios, dev-android, dev-web, sending to fake providers at
               %s (their CA: %s/fakes-ca.pem)
  Outbox       %s/dev/outbox   (what the fakes accepted; DELETE clears it)
  Web Push     curl -X POST %s/dev/webpush/subscribe   (a subscription for dev-web)

  Try it:
    curl -s -X POST %s/users/track -H 'Authorization: Bearer %s' \
      -H 'Content-Type: application/json' \
      -d '{"attributes":[{"external_id":"user-1","first_name":"Ada"}]}'
    curl -s -X POST %s/users/export/ids -H 'Authorization: Bearer %s' \
      -H 'Content-Type: application/json' -d '{"external_ids":["user-1"]}'
==============================================================================
`, base, base, base, key, dataDir, redisLine, fakesURL, dataDir, base, base, base, key, base, key)
}
