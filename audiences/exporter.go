package audiences

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/segments"
)

// UserExporter builds Braze-shaped user objects (profiles.Service).
type UserExporter interface {
	ExportUsers(ctx context.Context, ids []int64, fields map[string]bool) ([]map[string]any, error)
}

// ExporterOptions configure an Exporter.
type ExporterOptions struct {
	// Dir holds one directory of files per export. Required.
	Dir string
	// RowsPerFile caps the users in one file. Default: 100000.
	RowsPerFile int
	// PageSize is the number of users read per query. Default: 1000.
	PageSize int
	// Poll is how often queued exports are looked for besides those submitted
	// here (a node that stopped before running its own). Default: 1m.
	Poll time.Duration
	// StaleAfter fails a running export that made no progress for this long:
	// the process running it died. Default: 15m.
	StaleAfter time.Duration
	Logger     *slog.Logger
}

// Exporter runs segment exports in the background, one at a time per process:
// it streams the audience in keyset pages and writes gzipped NDJSON files.
// Start and Stop make it a component of the daemon's lifecycle.
type Exporter struct {
	svc   *Service
	store Store
	users UserExporter
	opts  ExporterOptions
	log   *slog.Logger
	wake  chan struct{}

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewExporter returns an Exporter writing under opts.Dir.
func NewExporter(svc *Service, users UserExporter, opts ExporterOptions) (*Exporter, error) {
	if opts.Dir == "" {
		return nil, errors.New("audiences: the export directory is not set")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("audiences: export directory: %w", err)
	}
	opts.Dir = dir
	if opts.RowsPerFile <= 0 {
		opts.RowsPerFile = 100000
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 1000
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Minute
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 15 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Exporter{svc: svc, store: svc.store, users: users, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}, nil
}

// Name names the component.
func (e *Exporter) Name() string { return "exports" }

// Start creates the export directory and runs the export loop until Stop.
func (e *Exporter) Start(ctx context.Context) error {
	if err := os.MkdirAll(e.opts.Dir, 0o750); err != nil {
		return fmt.Errorf("audiences: create export directory: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil {
		return errors.New("audiences: exporter already started")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel, e.done = cancel, make(chan struct{})
	go e.loop(runCtx, e.done)
	return nil
}

// Stop ends the loop. An export still running is cut off at once and marked
// failed (an export can take longer than any drain, which is left to the
// work that cannot be asked for again); Stop returns when it is recorded or
// ctx is done.
func (e *Exporter) Stop(ctx context.Context) error {
	e.mu.Lock()
	cancel, done := e.cancel, e.done
	e.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("the running export did not stop in time")
	}
}

// Submit queues an export of a segment's users; fields nil means every field.
// An unknown segment is ErrNotFound; an unknown field a *profiles.RequestError.
func (e *Exporter) Submit(ctx context.Context, segmentID string, fields []string) (*Export, error) {
	if _, err := profiles.ExportFieldSet(fields); err != nil {
		return nil, err
	}
	if _, err := e.store.Segment(ctx, segmentID); err != nil {
		return nil, err
	}
	now := e.svc.now().UTC()
	id := NewID()
	x := &Export{ID: id, SegmentID: segmentID, Fields: fields, Status: ExportQueued, Dir: filepath.Join(e.opts.Dir, id),
		Files: []string{}, CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateExport(ctx, x); err != nil {
		return nil, err
	}
	select {
	case e.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return x, nil
}

// Get returns an export's state.
func (e *Exporter) Get(ctx context.Context, id string) (*Export, error) {
	return e.store.Export(ctx, id)
}

func (e *Exporter) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(e.opts.Poll)
	defer t.Stop()
	for {
		e.failStale(ctx)
		e.runQueued(ctx)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-t.C:
		}
	}
}

// runQueued runs the queued exports, oldest first, claiming each so that one
// node runs it.
func (e *Exporter) runQueued(ctx context.Context) {
	queued, err := e.store.ExportsByStatus(ctx, ExportQueued)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("list queued exports", "err", err)
		}
		return
	}
	for _, x := range queued {
		if ctx.Err() != nil {
			return
		}
		ok, err := e.store.ClaimExport(ctx, x.ID, e.svc.now())
		if err != nil {
			e.log.Error("claim export", "export_id", x.ID, "err", err)
			continue
		}
		if ok {
			x.Status = ExportRunning
			e.run(ctx, x)
		}
	}
}

// failStale fails running exports whose process stopped updating them.
func (e *Exporter) failStale(ctx context.Context) {
	running, err := e.store.ExportsByStatus(ctx, ExportRunning)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("list running exports", "err", err)
		}
		return
	}
	now := e.svc.now()
	for _, x := range running {
		if now.Sub(x.UpdatedAt) < e.opts.StaleAfter {
			continue
		}
		e.finish(ctx, x, fmt.Errorf("abandoned: no progress since %s (the process running it stopped)", x.UpdatedAt.UTC().Format(time.RFC3339)))
	}
}

// run writes one export and records its outcome.
func (e *Exporter) run(ctx context.Context, x *Export) {
	start := time.Now()
	e.log.Info("export started", "export_id", x.ID, "segment_id", x.SegmentID)
	err := e.write(ctx, x)
	if err != nil && ctx.Err() != nil {
		err = errors.New("interrupted: Herald was shutting down; request the export again")
	}
	e.finish(context.WithoutCancel(ctx), x, err)
	if err != nil {
		e.log.Warn("export failed", "export_id", x.ID, "rows", x.Rows, "err", err)
		return
	}
	e.log.Info("export done", "export_id", x.ID, "rows", x.Rows, "files", len(x.Files), "duration", time.Since(start).String())
}

// finish records an export's end: done when err is nil, failed otherwise.
func (e *Exporter) finish(ctx context.Context, x *Export, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	x.Status, x.Error = ExportDone, ""
	if err != nil {
		x.Status, x.Error = ExportFailed, err.Error()
	}
	x.UpdatedAt = e.svc.now().UTC()
	x.FinishedAt = x.UpdatedAt
	if uerr := e.store.UpdateExport(ctx, x); uerr != nil {
		e.log.Error("record export outcome", "export_id", x.ID, "status", x.Status, "err", uerr)
	}
}

// write streams the audience into the export's files, recording progress
// after every page.
func (e *Exporter) write(ctx context.Context, x *Export) error {
	fields, err := profiles.ExportFieldSet(x.Fields)
	if err != nil {
		return err
	}
	sg, err := e.store.Segment(ctx, x.SegmentID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("segment %q was deleted", x.SegmentID)
	}
	if err != nil {
		return err
	}
	f, err := segments.Parse(sg.Filter)
	if err != nil {
		return fmt.Errorf("stored segment %q: %w", sg.ID, err)
	}
	where, args, err := e.svc.Compile(ctx, f, e.svc.now())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(x.Dir, 0o750); err != nil {
		return fmt.Errorf("create export directory: %w", err)
	}
	w := &ndjsonFiles{dir: x.Dir, perFile: e.opts.RowsPerFile}
	defer w.abort()
	var after int64
	for {
		ids, err := e.store.AudiencePage(ctx, where, args, after, e.opts.PageSize)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1]
		users, err := e.users.ExportUsers(ctx, ids, fields)
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := w.write(u); err != nil {
				return err
			}
		}
		x.Rows += int64(len(users))
		x.Files = w.files()
		x.UpdatedAt = e.svc.now().UTC()
		if err := e.store.UpdateExport(ctx, x); err != nil {
			return err
		}
	}
	if err := w.close(); err != nil {
		return err
	}
	x.Files = w.files()
	return nil
}
