package confirm

import (
	"crypto/hmac"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/msidm/msidm/policy"
)

// Handler serves the approval page:
//
//	GET  /approvals/{id}          the plan, its status, and the Approve and Reject forms
//	POST /approvals/{id}/approve  approve (the approver types the target's identifier)
//	POST /approvals/{id}/reject   reject
//	POST /approvals/{id}/login    sign in with the approver token (sets a session cookie)
//
// Mount it so that these paths (or, behind http.StripPrefix, their tails) reach it; links
// and form actions are relative, so a prefix works. On HTTP, and whenever ApproverToken is
// set, every route needs the approver: "Authorization: Bearer <MSIDM_APPROVER_TOKEN>" or the
// sign-in cookie; the MCP client's token is refused (403). On stdio without a token, the
// page listens on loopback and the approval id (128 random bits) is the capability. POSTs
// carry a CSRF token bound to the approval and pass net/http's cross-origin protection.
func (c *Confirmer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /approvals/{id}", c.servePage)
	post := http.NewServeMux()
	post.HandleFunc("POST /approvals/{id}/approve", func(w http.ResponseWriter, r *http.Request) { c.serveDecision(w, r, StatusApproved) })
	post.HandleFunc("POST /approvals/{id}/reject", func(w http.ResponseWriter, r *http.Request) { c.serveDecision(w, r, StatusRejected) })
	post.HandleFunc("POST /approvals/{id}/login", c.serveLogin)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.renderMessage(w, http.StatusForbidden, "Cross-site request refused", "This form was submitted from another site. Open the approval link directly and decide there.")
	}))
	mux.Handle("POST /approvals/{id}/", cop.Handler(post))
	return securityHeaders(mux)
}

// securityHeaders keeps the page out of frames, caches and Referer headers (the URL holds
// the approval id) and forbids scripts outright: the page needs none.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

const (
	sessionCookie = "msidm_approver"
	maxFormBytes  = 8 << 10
)

// approverRequired reports whether the page needs the approver token.
func (c *Confirmer) approverRequired() bool {
	return c.transport == TransportHTTP || c.approverToken != ""
}

// authenticate identifies the approver, or writes the refusal and returns false.
func (c *Confirmer) authenticate(w http.ResponseWriter, r *http.Request, id string) (string, bool) {
	if !c.approverRequired() {
		return "human at the loopback approval page", true
	}
	if c.approverToken == "" {
		c.renderMessage(w, http.StatusServiceUnavailable, "Approval page disabled", "msidm serves HTTP without "+EnvApproverToken+", so nobody can approve here. Set it (a secret the agent does not hold) and restart msidm.")
		return "", false
	}
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		switch {
		case ok && tokenEqual(tok, c.approverToken):
			return "approver (" + EnvApproverToken + ")", true
		case ok && c.agentToken != "" && tokenEqual(tok, c.agentToken):
			c.renderMessage(w, http.StatusForbidden, "Not an approver credential", "That is the MCP client's token. An agent cannot approve its own calls; a human approver signs in with "+EnvApproverToken+".")
		default:
			c.renderMessage(w, http.StatusForbidden, "Not an approver credential", "That credential is not the approver token ("+EnvApproverToken+").")
		}
		return "", false
	}
	if ck, err := r.Cookie(sessionCookie); err == nil && c.validSession(ck.Value) {
		return "approver (" + EnvApproverToken + ", signed in)", true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="msidm approvals"`)
	base := ""
	if r.Method == http.MethodGet {
		base = url.PathEscape(id) + "/"
	}
	c.render(w, http.StatusUnauthorized, pageData{Title: "Sign in to decide", Login: true, ID: id, Base: base})
	return "", false
}

func tokenEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (c *Confirmer) sessionValue(exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 36)
	return e + "." + base64.RawURLEncoding.EncodeToString(mac(c.keys.session, "approver", e))
}

func (c *Confirmer) validSession(v string) bool {
	e, sig, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	exp, err := strconv.ParseInt(e, 36, 64)
	if err != nil || c.now().After(time.Unix(exp, 0)) {
		return false
	}
	want := base64.RawURLEncoding.EncodeToString(mac(c.keys.session, "approver", e))
	return hmac.Equal([]byte(sig), []byte(want))
}

func (c *Confirmer) csrfToken(id string) string {
	return base64.RawURLEncoding.EncodeToString(mac(c.keys.csrf, "csrf", id))
}

// redirectToPage answers a POST with 303 to the approval page, by a relative URL so that a
// mount prefix survives (POST /approvals/x/approve -> ../x).
func redirectToPage(w http.ResponseWriter, id string) {
	w.Header().Set("Location", "../"+url.PathEscape(id))
	w.WriteHeader(http.StatusSeeOther)
}

func (c *Confirmer) servePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := c.authenticate(w, r, id); !ok {
		return
	}
	a, ok := c.snapshot(id)
	if !ok {
		c.renderMessage(w, http.StatusNotFound, "No such approval", errUnknownApproval.Error()+".")
		return
	}
	d := c.pageFor(a, "")
	d.Base = url.PathEscape(id) + "/"
	c.render(w, http.StatusOK, d)
}

func (c *Confirmer) serveLogin(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !c.approverRequired() {
		redirectToPage(w, id)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.renderMessage(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	tok := r.PostForm.Get("approver_token")
	switch {
	case c.approverToken != "" && tokenEqual(tok, c.approverToken):
		exp := c.now().Add(c.ttl)
		// MaxAge, not Expires: the browser's clock need not agree with ours; the signed
		// expiry inside the value is what counts.
		http.SetCookie(w, &http.Cookie{
			Name: sessionCookie, Value: c.sessionValue(exp), Path: "/", MaxAge: int(c.ttl / time.Second),
			HttpOnly: true, Secure: c.secureCookie, SameSite: http.SameSiteStrictMode,
		})
		redirectToPage(w, id)
	case c.agentToken != "" && tokenEqual(tok, c.agentToken):
		c.render(w, http.StatusForbidden, pageData{Title: "Sign in to decide", Login: true, ID: id,
			Error: "That is the MCP client's token. An agent cannot approve its own calls; sign in with the approver token."})
	default:
		c.render(w, http.StatusForbidden, pageData{Title: "Sign in to decide", Login: true, ID: id,
			Error: "That is not the approver token."})
	}
}

func (c *Confirmer) serveDecision(w http.ResponseWriter, r *http.Request, decision string) {
	id := r.PathValue("id")
	approver, ok := c.authenticate(w, r, id)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.renderMessage(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	if !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(c.csrfToken(id))) {
		c.renderMessage(w, http.StatusForbidden, "Form refused", "The form did not come from this approval page. Open the approval link and decide there.")
		return
	}
	a, ok := c.snapshot(id)
	if !ok {
		c.renderMessage(w, http.StatusNotFound, "No such approval", errUnknownApproval.Error()+".")
		return
	}
	if decision == StatusApproved && !matchTarget(r.PostForm.Get(FieldConfirmTarget), a.Target) {
		c.render(w, http.StatusUnprocessableEntity, c.pageFor(a, "What you typed does not match "+a.Target+". Nothing was approved; type it exactly to approve."))
		return
	}
	if err := c.decide(id, decision, approver); err != nil {
		a, _ = c.snapshot(id)
		c.render(w, http.StatusConflict, c.pageFor(a, err.Error()))
		return
	}
	redirectToPage(w, id)
}

type stepView struct {
	System, Action, Target, Reversibility string
	Irreversible                          bool
}

type pageData struct {
	Title string
	ID    string
	// Base makes form actions relative to the URL the page is rendered at: "{id}/" on
	// GET /approvals/{id}, "" on POST /approvals/{id}/approve.
	Base    string
	Login   bool
	Message string
	Error   string

	Status, StatusText string
	Pending            bool
	Tool, Effect       string
	Caller, Summary    string
	Target             string
	Systems            []string
	Targets            []policy.Principal
	Steps              []stepView
	Expires            string
	CSRF               string
}

func (c *Confirmer) pageFor(a approval, errMsg string) pageData {
	now := c.now()
	st := a.status(now)
	d := pageData{
		Title: "Approve a change?", ID: a.ID, Error: errMsg, Status: st, Pending: st == StatusPending,
		Tool: a.Tool, Effect: a.Plan.Effect.String(), Caller: a.Caller, Summary: a.Plan.Summary,
		Target: a.Target, Systems: planSystems(a.Plan), Targets: a.Plan.Targets,
		Expires: formatTime(a.Expires), CSRF: c.csrfToken(a.ID),
	}
	for _, s := range a.Plan.Steps {
		d.Steps = append(d.Steps, stepView{System: s.System, Action: s.Action, Target: s.Target, Reversibility: reversibility(s), Irreversible: !s.Reversible})
	}
	switch st {
	case StatusPending:
		d.StatusText = "Waiting for your decision. Nothing has been changed."
	case StatusApproved:
		d.StatusText = "Approved by " + a.DecidedBy + " at " + formatTime(a.DecidedAt) + ". The agent may now repeat the call, once."
	case StatusRejected:
		d.Title = "Change rejected"
		d.StatusText = "Rejected by " + a.DecidedBy + " at " + formatTime(a.DecidedAt) + ". The call will not run."
	case StatusUsed:
		d.Title = "Change approved"
		d.StatusText = "Approved by " + a.DecidedBy + " at " + formatTime(a.DecidedAt) + ", and the call has been made. This approval cannot be used again."
	case StatusExpired:
		d.Title = "Approval expired"
		d.StatusText = "Expired at " + formatTime(a.Expires) + ". Nothing will run; the agent must request a new approval."
	}
	return d
}

func (c *Confirmer) renderMessage(w http.ResponseWriter, code int, title, msg string) {
	c.render(w, code, pageData{Title: title, Message: msg})
}

func (c *Confirmer) render(w http.ResponseWriter, code int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = pageTemplate.Execute(w, d) // the client went away; nothing to do
}

// pageTemplate is the whole page: plain, semantic HTML that html/template escapes, no
// scripts, usable with a keyboard and a screen reader.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · msidm</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#111;background:#fff}
main{max-width:46rem;margin:2rem auto;padding:0 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}
.irreversible{color:#a00000;font-weight:600}
.error{border:2px solid #a00000;padding:.5rem 1rem;color:#a00000}
.status{border-left:4px solid #1a4fa0;padding:.25rem 1rem;background:#eef3fb}
form{margin:1rem 0}label{display:block;font-weight:600;margin-bottom:.25rem}
input{font:inherit;padding:.4rem;border:1px solid #555;min-width:20rem;max-width:100%}
button{font:inherit;padding:.5rem 1.25rem;margin-top:.5rem;border:2px solid #111;background:#fff;cursor:pointer}
button.approve{background:#0b5e2a;border-color:#0b5e2a;color:#fff}
button.reject{background:#a00000;border-color:#a00000;color:#fff}
:focus-visible{outline:3px solid #f0a000;outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{- if .Error}}
<p class="error" role="alert" id="error">{{.Error}}</p>
{{- end}}
{{- if .Message}}
<p id="message">{{.Message}}</p>
{{- else if .Login}}
<p>Only a human approver may decide. Sign in with the approver token (MSIDM_APPROVER_TOKEN); the agent does not have it.</p>
<form method="post" action="{{.Base}}login">
<label for="approver_token">Approver token</label>
<input id="approver_token" name="approver_token" type="password" autocomplete="current-password" required>
<div><button type="submit" id="login">Sign in</button></div>
</form>
{{- else}}
<p class="status" role="status" id="status" data-status="{{.Status}}">{{.StatusText}}</p>
<section aria-labelledby="plan-heading">
<h2 id="plan-heading">The plan</h2>
<p id="summary">{{.Summary}}</p>
<dl>
<dt>Tool</dt><dd>{{.Tool}} ({{.Effect}})</dd>
<dt>Requested by</dt><dd>{{.Caller}}</dd>
{{- if .Systems}}
<dt>Systems</dt><dd>{{range $i, $s := .Systems}}{{if $i}}, {{end}}{{$s}}{{end}}</dd>
{{- end}}
<dt>Expires</dt><dd><time datetime="{{.Expires}}">{{.Expires}}</time></dd>
</dl>
{{- if .Targets}}
<h3>Who</h3>
<ul id="targets">
{{- range .Targets}}
<li>{{.Name}} ({{.System}}, id {{.ID}})</li>
{{- end}}
</ul>
{{- end}}
<h3>Steps, in order</h3>
<ol id="steps">
{{- range .Steps}}
<li>[{{.System}}] {{.Action}} — {{.Target}} <span{{if .Irreversible}} class="irreversible"{{end}}>({{.Reversibility}})</span></li>
{{- end}}
</ol>
</section>
{{- if .Pending}}
<section aria-labelledby="decide-heading">
<h2 id="decide-heading">Decide</h2>
<form method="post" action="{{.Base}}approve">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="confirm_target">To approve, type <strong>{{.Target}}</strong></label>
<input id="confirm_target" name="confirm_target" type="text" autocomplete="off" spellcheck="false" required>
<div><button type="submit" class="approve" id="approve">Approve</button></div>
</form>
<form method="post" action="{{.Base}}reject">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit" class="reject" id="reject">Reject</button>
</form>
</section>
{{- end}}
{{- end}}
</main>
</body>
</html>
`))
