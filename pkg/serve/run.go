package serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/housectl/housectl/pkg/monitor"
)

// Run serves on ln until ctx ends or the listener fails, keeping the
// models current (a timer of ReloadInterval, and each value received on
// Reload) and the drift gauges fresh (every DriftInterval). Then it shuts
// down: it stops taking connections, waits up to ShutdownTimeout for the
// requests in flight, and flushes every prediction they logged. It returns
// nil after a clean shutdown.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler: s, ReadHeaderTimeout: s.o.ReadHeaderTimeout, ReadTimeout: s.o.ReadTimeout,
		WriteTimeout: s.o.WriteTimeout, IdleTimeout: s.o.IdleTimeout,
		ErrorLog: slog.NewLogLogger(s.o.Logger.Handler(), slog.LevelWarn),
	}
	loops, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.reloadLoop(loops) })
	wg.Go(func() { s.driftLoop(loops) })

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stop()
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	// No request can queue shadow work now: the shadows finish theirs and
	// log it, then the log is flushed, so every row is in it.
	s.stopShadows()
	if s.log != nil {
		err = errors.Join(err, s.log.Close(sctx))
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return errors.Join(serveErr, err)
	}
	return err
}

// reloadLoop checks the sources on the timer and on each reload signal
// until ctx ends; a refused model is logged and the current one serves on.
func (s *Server) reloadLoop(ctx context.Context) {
	var tick <-chan time.Time
	if s.o.ReloadInterval > 0 {
		t := time.NewTicker(s.o.ReloadInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-s.o.Reload:
		}
		if _, err := s.Reload(); err != nil {
			s.o.Logger.Error("model reload refused; the current model keeps serving", "error", err.Error())
		}
	}
}

// driftLoop recomputes the drift gauges, off the request path.
func (s *Server) driftLoop(ctx context.Context) {
	if s.o.DriftInterval <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(s.o.DriftInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if rep, err := s.UpdateDrift(); err != nil {
				s.o.Logger.Error("drift", "error", err.Error())
			} else if rep.Status == monitor.StatusAlert {
				s.o.Logger.Warn("drift alert", "rows", rep.Rows)
			}
		}
	}
}
