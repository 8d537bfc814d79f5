package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
)

// component is one long-running part of a node. Start returns once it runs;
// Stop drains it softly and must return when ctx is done (then it stops hard).
type component interface {
	Name() string
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

func tlsConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

// httpComponent serves a handler on an address.
type httpComponent struct {
	name     string // default "api"
	log      *slog.Logger
	srv      *http.Server
	certFile string
	keyFile  string
	ln       net.Listener
	errc     chan error
}

func (h *httpComponent) Name() string {
	if h.name == "" {
		return "api"
	}
	return h.name
}

func (h *httpComponent) Start(context.Context) error {
	ln, err := net.Listen("tcp", h.srv.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", h.srv.Addr, err)
	}
	h.ln = ln
	h.log.Info("listening", "addr", ln.Addr().String(), "tls", h.certFile != "", "listener", h.Name())
	go func() {
		var err error
		if h.certFile != "" {
			err = h.srv.ServeTLS(ln, h.certFile, h.keyFile)
		} else {
			err = h.srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			h.errc <- err
		}
		close(h.errc)
	}()
	return nil
}

// Addr is the address actually listened on (useful with port 0).
func (h *httpComponent) Addr() string { return h.ln.Addr().String() }

func (h *httpComponent) Stop(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		_ = h.srv.Close()
		return fmt.Errorf("in-flight requests cut off after the drain timeout")
	}
	return err
}

// Failed reports a serve error after start.
func (h *httpComponent) Failed() <-chan error { return h.errc }

// funcComponent adapts start and stop functions.
type funcComponent struct {
	name  string
	start func(context.Context) error
	stop  func(context.Context) error
}

func (f *funcComponent) Name() string { return f.name }
func (f *funcComponent) Start(ctx context.Context) error {
	if f.start == nil {
		return nil
	}
	return f.start(ctx)
}
func (f *funcComponent) Stop(ctx context.Context) error {
	if f.stop == nil {
		return nil
	}
	return f.stop(ctx)
}

// runComponents starts components in order, signals READY, waits for SIGTERM or
// SIGINT (or ctx, or a component failure), then stops them in reverse order within
// drain. A second signal during the drain stops at once.
func runComponents(ctx context.Context, log *slog.Logger, drain time.Duration, comps []component, failed <-chan error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var started []component
	stopAll := func(stopCtx context.Context) error {
		var errs []error
		for i := len(started) - 1; i >= 0; i-- {
			c := started[i]
			if err := c.Stop(stopCtx); err != nil {
				log.Warn("stop", "component", c.Name(), "err", err)
				errs = append(errs, fmt.Errorf("%s: %w", c.Name(), err))
			}
		}
		return errors.Join(errs...)
	}
	for _, c := range comps {
		if err := c.Start(ctx); err != nil {
			sctx, scancel := context.WithTimeout(context.Background(), drain)
			_ = stopAll(sctx)
			scancel()
			return fmt.Errorf("start %s: %w", c.Name(), err)
		}
		started = append(started, c)
	}
	_, _ = sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
	stopWatchdog := watchdog(ctx)
	defer stopWatchdog()

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	var runErr error
	select {
	case sig := <-sigs:
		log.Info("draining", "signal", sig.String(), "timeout", drain.String())
	case <-ctx.Done():
		log.Info("draining", "reason", "context done")
	case err := <-failed:
		runErr = err
		log.Error("component failed, stopping", "err", err)
	}
	_, _ = sddaemon.SdNotify(false, sddaemon.SdNotifyStopping)
	stopCtx, stopCancel := context.WithTimeout(context.Background(), drain)
	defer stopCancel()
	go func() {
		select {
		case sig := <-sigs:
			log.Warn("second signal: stopping now", "signal", sig.String())
			stopCancel()
		case <-stopCtx.Done():
		}
	}()
	err := stopAll(stopCtx)
	if err == nil {
		log.Info("stopped")
	}
	return errors.Join(runErr, err)
}

// watchdog pings systemd's watchdog at half its interval when enabled.
func watchdog(ctx context.Context) func() {
	interval, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_, _ = sddaemon.SdNotify(false, sddaemon.SdNotifyWatchdog)
			}
		}
	}()
	return cancel
}

// defaultDrain is the drain timeout of commands that run without a config.
const defaultDrain = 10 * time.Second
