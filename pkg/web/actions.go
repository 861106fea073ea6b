package web

// Promotions and rollbacks from the pages: a confirmation page first (GET
// shows what will happen, POST does it), through the same gate and
// history as the CLI. A POST must come from this site: Go's
// CrossOriginProtection refuses a cross-site one (Sec-Fetch-Site,
// Origin), and a form token tied to this server refuses one made
// elsewhere. --read-only turns them off.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/housectl/housectl/pkg/registry"
)

type confirmData struct {
	base
	Heading, Question, Detail, Action, Button, Back, CSRF, Alias, Metric string
	Gate                                                                 bool
	Hidden                                                               []kv
}

// csrfToken is the form token: an HMAC of the server's secret.
func (s *Server) csrfToken() string {
	m := hmac.New(sha256.New, s.secret[:])
	m.Write([]byte("form"))
	return hex.EncodeToString(m.Sum(nil))
}

func newSecret() [32]byte {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return b
}

// checkForm refuses a POST without this server's token.
func (s *Server) checkForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	if !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(s.csrfToken())) {
		return errors.New("the form's token is missing or stale: reload the page and confirm again")
	}
	if r.PostForm.Get("confirm") != "yes" {
		return errors.New("not confirmed")
	}
	return nil
}

func (s *Server) readOnlyPage(w http.ResponseWriter) {
	s.render(w, "confirm", http.StatusForbidden, confirmData{base: s.base("Read-only", "models"), Heading: "Read-only",
		Question: "housectl ui runs with --read-only: promotions and rollbacks are off.", Back: "/models"})
}

// confirmModel is the model of a confirmation page, or false when the
// page answered already (read-only, no such model).
func (s *Server) confirmModel(w http.ResponseWriter, r *http.Request) (string, *regModel, bool) {
	if s.o.ReadOnly {
		s.readOnlyPage(w)
		return "", nil, false
	}
	name := r.PathValue("name")
	rm, err := s.readModel(r.Context(), name)
	if err != nil {
		s.notFoundPage(w, err.Error())
		return "", nil, false
	}
	return name, rm, true
}

func (s *Server) confirmPromote(w http.ResponseWriter, r *http.Request) {
	name, rm, ok := s.confirmModel(w, r)
	if !ok {
		return
	}
	n := atoi(r.URL.Query().Get("version"), 0)
	v, err := rm.version(n)
	if err != nil {
		s.notFoundPage(w, err.Error())
		return
	}
	alias := r.URL.Query().Get("alias")
	if alias == "" {
		alias = "production"
	}
	d := confirmData{base: s.base("Promote "+name, "models"), Heading: fmt.Sprintf("Promote %s version %d", name, n),
		Question: fmt.Sprintf("Move an alias of %s to version %d (run %s, %s)?", name, n, v.RunID, v.Model),
		Detail:   "The move is recorded in the alias history; a server following the alias picks it up at its next check.",
		Action:   "/models/" + url.PathEscape(name) + "/promote", Button: "Promote", Back: "/models/" + url.PathEscape(name),
		CSRF: s.csrfToken(), Alias: alias, Gate: true, Metric: s.metric(), Hidden: []kv{{"version", strconv.Itoa(n)}}}
	s.render(w, "confirm", http.StatusOK, d)
}

// formAction checks a confirmed action's POST: not read-only, this
// server's token, confirmed. It answers the refusal itself.
func (s *Server) formAction(w http.ResponseWriter, r *http.Request) bool {
	if s.o.ReadOnly {
		s.readOnlyPage(w)
		return false
	}
	if err := s.checkForm(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return false
	}
	return true
}

func (s *Server) doPromote(w http.ResponseWriter, r *http.Request) {
	if !s.formAction(w, r) {
		return
	}
	name := r.PathValue("name")
	n := atoi(r.PostForm.Get("version"), 0)
	alias, reason := r.PostForm.Get("alias"), r.PostForm.Get("reason")
	gated := r.PostForm.Get("if_better") == "1"
	back := "/models/" + url.PathEscape(name)
	var e registry.Event
	var err error
	if s.o.Promote != nil {
		e, err = s.o.Promote(r.Context(), name, alias, n, gated, reason)
	} else {
		e, err = s.reg.Promote(r.Context(), name, alias, n, registry.PromoteOptions{Reason: reason})
	}
	if err != nil {
		http.Redirect(w, r, back+"?refused="+url.QueryEscape(err.Error()), http.StatusSeeOther)
		return
	}
	msg := fmt.Sprintf("@%s → version %d (was %s)", alias, e.To, vname(e.From))
	if e.From == e.To {
		msg = fmt.Sprintf("@%s already held version %d: nothing moved", alias, e.To)
	}
	http.Redirect(w, r, back+"?done="+url.QueryEscape(msg), http.StatusSeeOther)
}

func vname(n int) string {
	if n == 0 {
		return "unset"
	}
	return "version " + strconv.Itoa(n)
}

func (s *Server) confirmRollback(w http.ResponseWriter, r *http.Request) {
	name, rm, ok := s.confirmModel(w, r)
	if !ok {
		return
	}
	alias := r.URL.Query().Get("alias")
	cur := 0
	if rm.model != nil {
		cur = rm.model.Aliases[alias]
	}
	if cur == 0 {
		s.notFoundPage(w, fmt.Sprintf("%s has no alias %q.", name, alias))
		return
	}
	d := confirmData{base: s.base("Roll back "+name, "models"), Heading: fmt.Sprintf("Roll back @%s of %s", alias, name),
		Question: fmt.Sprintf("Give @%s back to the version that held it before version %d?", alias, cur),
		Action:   "/models/" + url.PathEscape(name) + "/rollback", Button: "Roll back", Back: "/models/" + url.PathEscape(name),
		CSRF: s.csrfToken(), Hidden: []kv{{"alias", alias}}}
	s.render(w, "confirm", http.StatusOK, d)
}

func (s *Server) doRollback(w http.ResponseWriter, r *http.Request) {
	if !s.formAction(w, r) {
		return
	}
	name := r.PathValue("name")
	alias := r.PostForm.Get("alias")
	back := "/models/" + url.PathEscape(name)
	e, err := s.reg.Rollback(r.Context(), name, alias, r.PostForm.Get("reason"))
	if err != nil {
		http.Redirect(w, r, back+"?refused="+url.QueryEscape(err.Error()), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, back+"?done="+url.QueryEscape(fmt.Sprintf("@%s rolled back: version %d → %d", alias, e.From, e.To)), http.StatusSeeOther)
}
