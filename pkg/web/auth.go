package web

// API keys. Without any, the server is open (it listens on loopback,
// which the command insists on). With keys, every route but /health,
// /version, the stylesheet and script and the sign-in needs one: an API
// client sends it as Authorization: Bearer (MLflow's
// MLFLOW_TRACKING_TOKEN) or X-API-Key; a browser signs in once and keeps
// an HttpOnly, SameSite=Strict cookie holding an HMAC of the key's
// digest under the server's secret (not the key).

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
)

const cookieName = "housectl_ui"

func (s *Server) open(p string) bool {
	return p == "/health" || p == "/version" || p == "/login" || strings.HasPrefix(p, "/static/")
}

func (s *Server) keyOK(sum [32]byte) bool {
	ok := 0
	for i := range s.keys {
		ok |= subtle.ConstantTimeCompare(sum[:], s.keys[i][:])
	}
	return ok == 1
}

// cookieFor is the sign-in cookie's value for a key's digest.
func (s *Server) cookieFor(sum [32]byte) string {
	m := hmac.New(sha256.New, s.secret[:])
	m.Write(sum[:])
	return hex.EncodeToString(sum[:8]) + "." + hex.EncodeToString(m.Sum(nil))
}

func (s *Server) signedIn(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return false
	}
	for _, k := range s.keys {
		if hmac.Equal([]byte(c.Value), []byte(s.cookieFor(k))) {
			return true
		}
	}
	return false
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.keys) == 0 || s.open(r.URL.Path) || s.signedIn(r) {
			next.ServeHTTP(w, r)
			return
		}
		given := r.Header.Get("X-API-Key")
		if a := r.Header.Get("Authorization"); given == "" && len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			given = strings.TrimSpace(a[7:])
		}
		if given != "" && s.keyOK(sha256.Sum256([]byte(given))) {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/ajax-api/") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="housectl"`)
			writeAPI(w, nil, &apiError{http.StatusUnauthorized, "UNAUTHENTICATED", "an API key is required: set MLFLOW_TRACKING_TOKEN (sent as Authorization: Bearer) to one of serve's API keys"})
			return
		}
		if r.Method != http.MethodGet {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	})
}

type loginData struct {
	base
	Next   string
	Failed bool
}

func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.Contains(n, `\`) {
		return "/runs"
	}
	return n
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, "login", http.StatusOK, loginData{base: s.base("Sign in", ""), Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("key")))
	next := safeNext(r.PostForm.Get("next"))
	if len(s.keys) == 0 || !s.keyOK(sum) {
		s.render(w, "login", http.StatusUnauthorized, loginData{base: s.base("Sign in", ""), Next: next, Failed: len(s.keys) > 0})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.cookieFor(sum), Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, next, http.StatusSeeOther)
}
