package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/channels/webpush"
	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/store"
)

// loadConfig loads and validates the config; problems are listed one per line.
func (c *cli) loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path, c.env.List)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%s", indent(err))
	}
	return &cfg, nil
}

func indent(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

func (c *cli) configCmd(args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return usageErr("usage: herald config check -c FILE")
	}
	fs := c.flags("config check")
	file := fs.String("c", "", "config file")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	path := c.configPath(*file)
	if path == "" {
		return usageErr("give the config file with -c FILE")
	}
	for _, name := range config.UnknownEnv(c.env.List) {
		fmt.Fprintf(c.stderr, "warning: environment variable %s matches no config key and is ignored\n", name)
	}
	cfg, err := config.Load(path, c.env.List)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		n := len(strings.Split(err.Error(), "\n"))
		fmt.Fprintln(c.stdout, err.Error())
		return fmt.Errorf("%s: %d problem(s)", path, n)
	}
	fmt.Fprintf(c.stdout, "%s: ok\n", path)
	return nil
}

// storeOnly opens the configured store for a one-shot command.
func (c *cli) storeOnly(ctx context.Context, file string) (*config.Config, *store.Store, error) {
	cfg, err := c.loadConfig(c.configPath(file))
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

func (c *cli) migrate(ctx context.Context, args []string) error {
	fs := c.flags("migrate")
	file := fs.String("c", "", "config file")
	status := fs.Bool("status", false, "list migrations and whether each is applied")
	if err := parse(fs, args); err != nil {
		return err
	}
	_, st, err := c.storeOnly(ctx, *file)
	if err != nil {
		return err
	}
	defer st.Close()
	if *status {
		lines, err := st.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		for _, l := range lines {
			fmt.Fprintln(c.stdout, l)
		}
		return nil
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, m := range applied {
		fmt.Fprintln(c.stdout, "applied", m)
	}
	fmt.Fprintf(c.stdout, "%s database is up to date (%d migration(s) applied now)\n", st.Driver(), len(applied))
	return nil
}

func (c *cli) keys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("usage: herald keys create|list|revoke -c FILE ...")
	}
	sub, args := args[0], args[1:]
	if sub == "vapid" {
		pub, priv, err := webpush.GenerateVAPIDKeys()
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "vapid_public_key: %s\nvapid_private_key: %s\n", pub, priv)
		fmt.Fprintln(c.stderr, "keep the private key secret (a file for apps[].webpush.vapid_private_key_file); the public key is the browser's applicationServerKey")
		return nil
	}
	fs := c.flags("keys " + sub)
	file := fs.String("c", "", "config file")
	name := fs.String("name", "", "key name (create)")
	scopes := fs.String("scopes", "", "comma-separated scopes, or all (create)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch sub {
	case "create":
		if *name == "" || *scopes == "" {
			return usageErr("usage: herald keys create -c FILE --name NAME --scopes a,b|all")
		}
		sc, err := apikeys.ParseScopes(*scopes)
		if err != nil {
			return usageErr("--scopes: %v", err)
		}
		_, st, err := c.storeOnly(ctx, *file)
		if err != nil {
			return err
		}
		defer st.Close()
		secret, k, err := apikeys.Create(ctx, st, *name, "", sc, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\n", secret)
		fmt.Fprintf(c.stderr, "created key %s (%s) with scopes %s; the secret above is shown only once\n", k.ID, k.Name, strings.Join(k.Scopes, ","))
		return nil
	case "list":
		_, st, err := c.storeOnly(ctx, *file)
		if err != nil {
			return err
		}
		defer st.Close()
		list, err := st.ListAPIKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
		for _, k := range list {
			revoked := "-"
			if !k.RevokedAt.IsZero() {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, ","), k.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return usageErr("usage: herald keys revoke -c FILE ID")
		}
		_, st, err := c.storeOnly(ctx, *file)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.RevokeAPIKey(ctx, fs.Arg(0), time.Now()); err != nil {
			if errors.Is(err, apikeys.ErrNotFound) {
				return fmt.Errorf("no active key with id %q", fs.Arg(0))
			}
			return err
		}
		fmt.Fprintf(c.stdout, "revoked %s\n", fs.Arg(0))
		return nil
	}
	return usageErr("unknown keys subcommand %q (create, list, revoke)", sub)
}

func (c *cli) appsCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("usage: herald apps create|list -c FILE ...")
	}
	sub, args := args[0], args[1:]
	fs := c.flags("apps " + sub)
	file := fs.String("c", "", "config file")
	name := fs.String("name", "", "app name (create)")
	platform := fs.String("platform", "", "ios, android or web (create)")
	id := fs.String("id", "", "app id (create; generated from the name when empty)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if sub != "create" && sub != "list" {
		return usageErr("unknown apps subcommand %q (create, list)", sub)
	}
	if sub == "create" && (*name == "" || *platform == "") {
		return usageErr("usage: herald apps create -c FILE --name NAME --platform ios|android|web [--id ID]")
	}
	cfg, st, err := c.storeOnly(ctx, *file)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := appService(cfg, st)
	if err != nil {
		return err
	}
	if sub == "create" {
		a, err := svc.Create(ctx, *id, *name, *platform)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "id: %s\nname: %s\nplatform: %s\nsdk_key: %s\n", a.ID, a.Name, a.Platform, a.SDKKey)
		return nil
	}
	list, err := svc.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPLATFORM\tSOURCE\tCREDENTIALS")
	for _, a := range list {
		var kinds []string
		if a.Kinds.APNs {
			kinds = append(kinds, "apns")
		}
		if a.Kinds.FCM {
			kinds = append(kinds, "fcm")
		}
		if a.Kinds.WebPush {
			kinds = append(kinds, "webpush")
		}
		if len(kinds) == 0 {
			kinds = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Platform, a.Source, strings.Join(kinds, ","))
	}
	return tw.Flush()
}

// ingestComponent waits, when stopping, for the /users/track writers to finish
// (it stops after the HTTP server, before the store closes).
func (n *node) ingestComponent() component {
	return &funcComponent{name: "ingest", stop: n.profiles.Wait}
}

func (n *node) httpComponent() *httpComponent {
	a := n.cfg.API
	return &httpComponent{
		log: n.log,
		srv: &http.Server{Addr: a.Addr, Handler: withPprof(n.cfg.Ops.Pprof, n.withDashboard(n.api)), ReadHeaderTimeout: a.ReadHeaderTimeout, ReadTimeout: a.ReadTimeout,
			WriteTimeout: a.WriteTimeout, IdleTimeout: a.IdleTimeout, MaxHeaderBytes: 64 << 10,
			ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelWarn), TLSConfig: tlsConfig()},
		certFile: n.cfg.Path(a.TLSCertFile), keyFile: n.cfg.Path(a.TLSKeyFile),
		errc: make(chan error, 1),
	}
}
