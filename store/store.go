package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

// Options select and configure a database.
type Options struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// SQLitePath is the database file; its directory is created if missing.
	SQLitePath        string
	SQLiteBusyTimeout time.Duration
	SQLiteReadConns   int
	// PostgresDSN is a libpq URL or key=value string.
	PostgresDSN      string
	PostgresMaxConns int
	Logger           *slog.Logger
}

// Store is the database. It implements profiles.Store and apikeys.Store.
type Store struct {
	read    *sql.DB // reads outside transactions
	write   *sql.DB // transactions (SQLite: one connection)
	dialect dialect
	unlock  func()
	log     *slog.Logger
	// regexps backs SQLite's REGEXP function (nil on PostgreSQL).
	regexps *regexpCache
}

// Open connects to the database (creating the SQLite file if needed). It does not
// migrate: call Migrate, or check MigrationsPending.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch o.Driver {
	case "sqlite":
		return openSQLite(ctx, o)
	case "postgres":
		return openPostgres(ctx, o)
	}
	return nil, fmt.Errorf("store: unknown driver %q", o.Driver)
}

func openSQLite(ctx context.Context, o Options) (*Store, error) {
	if o.SQLitePath == "" {
		return nil, errors.New("store: sqlite path is empty")
	}
	if dir := filepath.Dir(o.SQLitePath); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
	}
	unlock, err := lockFile(o.SQLitePath + ".lock")
	if err != nil {
		return nil, err
	}
	busy := o.SQLiteBusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()),
		"foreign_keys(1)", "cache_size(-65536)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	base := "file:" + o.SQLitePath + "?"
	wq := url.Values{"_txlock": {"immediate"}}
	for k, v := range q {
		wq[k] = v
	}
	regexps := &regexpCache{}
	drv, err := newSQLiteDriver(regexps)
	if err != nil {
		unlock()
		return nil, err
	}
	write := sql.OpenDB(sqliteConnector{d: drv, dsn: base + wq.Encode()})
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	// Open the writer first so WAL mode is set before readers connect.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		unlock()
		return nil, fmt.Errorf("store: open sqlite %s: %w", o.SQLitePath, err)
	}
	rq := url.Values{}
	for k, v := range q {
		rq[k] = v
	}
	rq.Add("_pragma", "query_only(1)")
	read := sql.OpenDB(sqliteConnector{d: drv, dsn: base + rq.Encode()})
	n := o.SQLiteReadConns
	if n < 1 {
		n = 4
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	return &Store{read: read, write: write, dialect: sqliteDialect{}, unlock: unlock, log: o.Logger, regexps: regexps}, nil
}

func openPostgres(ctx context.Context, o Options) (*Store, error) {
	if o.PostgresDSN == "" {
		return nil, errors.New("store: postgres dsn is empty")
	}
	db, err := sql.Open("pgx", o.PostgresDSN)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	n := o.PostgresMaxConns
	if n < 1 {
		n = 16
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to postgres: %w", redactDSNErr(err, o.PostgresDSN))
	}
	return &Store{read: db, write: db, dialect: postgresDialect{}, unlock: func() {}, log: o.Logger}, nil
}

var _ = stdlib.GetDefaultDriver // the pgx driver registers itself as "pgx"

// redactDSNErr keeps a password that a driver error might quote out of logs.
func redactDSNErr(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}

// Close closes the database and releases the SQLite lock.
func (s *Store) Close() error {
	err := s.read.Close()
	if s.write != s.read {
		err = errors.Join(err, s.write.Close())
	}
	s.unlock()
	if s.regexps != nil {
		s.regexps.clear()
	}
	return err
}

// Driver names the database: "sqlite" or "postgres".
func (s *Store) Driver() string { return s.dialect.name() }

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	return s.read.PingContext(ctx)
}

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.dialect.name())
	if err != nil {
		return nil, err
	}
	d := goose.DialectSQLite3
	if s.dialect.name() == "postgres" {
		d = goose.DialectPostgres
	}
	return goose.NewProvider(d, s.write, sub, goose.WithDisableGlobalRegistry(true))
}

// Migrate applies pending migrations and returns the names of those applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	p, err := s.provider()
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	var names []string
	for _, r := range res {
		names = append(names, r.Source.Path)
	}
	return names, nil
}

// MigrationsPending reports whether migrations are waiting to be applied.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) {
	p, err := s.provider()
	if err != nil {
		return false, fmt.Errorf("store: migrations: %w", err)
	}
	return p.HasPending(ctx)
}

// MigrationStatus lists every migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]string, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range st {
		state := "pending"
		if m.State == goose.StateApplied {
			state = "applied " + m.AppliedAt.UTC().Format(time.RFC3339)
		}
		out = append(out, fmt.Sprintf("%s\t%s", m.Source.Path, state))
	}
	return out, nil
}
