// Package web is `housectl ui`: the runs, comparisons, registry and
// monitoring in a browser, and MLflow's tracking API, from one server over
// the same stores as the CLI.
//
// Files:
//
//	server.go   the server: options, routes, its life, the catalog's refresh
//	mlflow.go   MLflow's tracking REST API (/api/2.0/mlflow/...)
//	artifacts.go MLflow's artifact API (/api/2.0/mlflow-artifacts/...)
package web

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/housectl/housectl/pkg/monitor"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/store"
	"github.com/housectl/housectl/pkg/tracking"
)

// Options configure the server.
type Options struct {
	// Store is the run store (a directory, or a bucket with its copy).
	Store *tracking.Store
	// Registry is the model registry over the same store.
	Registry *registry.Registry
	// Log is the prediction log (nil: none), for monitoring.
	Log store.Store
	// Thresholds are the drift thresholds (monitor.*).
	Thresholds monitor.Thresholds
	// APIKeys, when any, are required on every route but /health: as
	// Authorization: Bearer (MLflow's MLFLOW_TRACKING_TOKEN) or X-API-Key,
	// or the cookie a browser gets by signing in.
	APIKeys []string
	// ReadOnly turns every write off: the API's and the pages' actions.
	ReadOnly bool
	// Promote moves an alias from the pages, gated on the metric when
	// ifBetter: the CLI's promote (nil: ungated registry moves).
	Promote func(ctx context.Context, name, alias string, n int, ifBetter bool, reason string) (registry.Event, error)
	// Metric ranks versions on the pages (train.metric; default rmse).
	Metric string
	// RefreshEvery is how often the run catalog rereads what changed on
	// disk (runs written by other processes); writes through this server
	// show at once. Default 2 s.
	RefreshEvery time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// Server serves the UI and the API.
type Server struct {
	o       Options
	store   *tracking.Store
	reg     *registry.Registry
	catalog *tracking.Catalog
	mux     *http.ServeMux

	liveMu sync.Mutex
	lives  map[string]*liveRun

	refreshMu sync.Mutex
	// secret keys the form tokens and the sign-in cookie; new at each
	// start.
	jsonMu    sync.Mutex
	jsonCache map[string]cachedRun

	secret  [32]byte
	keys    [][32]byte
	handler http.Handler
}

// New returns a server over the options' stores. Its catalog is empty
// until the first refresh (Run starts it; Refresh does it at once).
func New(o Options) (*Server, error) {
	if o.Store == nil || o.Registry == nil {
		return nil, errors.New("web: no run store or registry")
	}
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, store: o.Store, reg: o.Registry, catalog: tracking.NewCatalog(o.Store), lives: map[string]*liveRun{}, mux: http.NewServeMux(), secret: newSecret(), jsonCache: map[string]cachedRun{}}
	for _, k := range o.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	s.routes()
	// Cross-site writes are refused (Sec-Fetch-Site, Origin): a page
	// elsewhere cannot post a promotion. Clients that are not browsers
	// send neither header and pass.
	s.handler = http.NewCrossOriginProtection().Handler(s.auth(s.mux))
	return s, nil
}

func (s *Server) now() time.Time { return s.o.Now() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() {
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("OK"))
	})
	s.mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(MLflowVersion))
	})
	s.registryRoutes(s.mux)
	s.mlflowRoutes(s.mux)
	s.artifactRoutes(s.mux)
	s.pageRoutes(s.mux)
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
}

// writable refuses a write in read-only mode.
func (s *Server) writable() error {
	if s.o.ReadOnly {
		return &apiError{http.StatusForbidden, "PERMISSION_DENIED", "housectl ui runs with --read-only: writes are off"}
	}
	return nil
}

// Refresh rereads the store's changes into the catalog now.
func (s *Server) Refresh() error { return s.refresh(true) }

// refresh rereads the store unless a refresh ended less than RefreshEvery
// ago (or force). Concurrent callers share one refresh.
func (s *Server) refresh(force bool) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	if !force && time.Since(s.catalog.Scanned()) < s.o.RefreshEvery {
		return nil
	}
	return s.catalog.Refresh()
}

// Run serves on ln until ctx ends, refreshing the catalog in the
// background, then shuts down gracefully.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go func() {
		if err := s.refresh(true); err != nil {
			s.o.Logger.Error("reading the runs", "err", err)
		}
		t := time.NewTicker(s.o.RefreshEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.refresh(false); err != nil {
					s.o.Logger.Warn("rereading the runs", "err", err)
				}
			}
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}
