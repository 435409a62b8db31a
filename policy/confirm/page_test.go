package confirm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/policy"
)

// pageFixture is a Confirmer on HTTP with its approval page, and one pending approval.
type pageFixture struct {
	clock *fakeClock
	conf  *Confirmer
	ts    *httptest.Server
	id    string
	link  string
	plan  policy.Plan
	ctx   context.Context
}

func newPageFixture(t *testing.T, plan policy.Plan) *pageFixture {
	t.Helper()
	f := &pageFixture{clock: newClock(), plan: plan, ctx: WithCaller(context.Background(), HTTPCaller(agentToken))}
	var h http.Handler = http.NotFoundHandler()
	f.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(f.ts.Close)
	conf, err := New(Options{
		Modes: []string{ModeApproval}, Transport: TransportHTTP, Key: make([]byte, 32),
		ApprovalBaseURL: f.ts.URL, ApproverToken: approverToken, AgentToken: agentToken, Now: f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.conf, h = conf, conf.Handler()
	res, err := conf.Confirm(f.ctx, &mcp.CallToolRequest{}, plan)
	if err != nil || res.Proceed {
		t.Fatalf("Confirm: %v %+v", err, res)
	}
	meta := confirmationMeta(res.Result)
	f.id, _ = meta["approval_id"].(string)
	f.link, _ = meta["approval_url"].(string)
	if f.id == "" || f.link != f.ts.URL+"/approvals/"+f.id {
		t.Fatalf("approval meta %v", meta)
	}
	return f
}

type pageReq struct {
	method  string
	path    string // appended to the approval link
	headers map[string]string
	form    url.Values
}

func (f *pageFixture) do(t *testing.T, r pageReq) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequest(r.method, f.link+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestApprovalPageAccess(t *testing.T) {
	f := newPageFixture(t, testPlan(testUPN, map[string]any{"upn": testUPN}))
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	approverAuth := bearer(approverToken)
	csrf := f.conf.csrfToken(f.id)
	goodForm := url.Values{"csrf": {csrf}, FieldConfirmTarget: {testUPN}}
	tests := []struct {
		name     string
		req      pageReq
		status   int
		contains string
	}{
		{"page without credentials asks to sign in", pageReq{method: "GET"}, 401, `name="approver_token"`},
		{"page with the agent's token", pageReq{method: "GET", headers: bearer(agentToken)}, 403, "An agent cannot approve its own calls"},
		{"page with a wrong token", pageReq{method: "GET", headers: bearer("guess-guess-guess-guess")}, 403, "not the approver token"},
		{"page with a non-bearer scheme", pageReq{method: "GET", headers: map[string]string{"Authorization": "Basic " + approverToken}}, 403, "not the approver token"},
		{"page with the approver token", pageReq{method: "GET", headers: approverAuth}, 200, "Disable sign-in for " + testUPN},
		{"unknown approval", pageReq{method: "GET", path: "x", headers: approverAuth}, 404, "No such approval"},
		{"approve without credentials", pageReq{method: "POST", path: "/approve", form: goodForm}, 401, "Sign in"},
		{"approve with the agent's token", pageReq{method: "POST", path: "/approve", headers: bearer(agentToken), form: goodForm}, 403, "An agent cannot approve"},
		{"sign in with the agent's token", pageReq{method: "POST", path: "/login", form: url.Values{"approver_token": {agentToken}}}, 403, "An agent cannot approve"},
		{"sign in with a wrong token", pageReq{method: "POST", path: "/login", form: url.Values{"approver_token": {"nope"}}}, 403, "not the approver token"},
		{"approve without a CSRF token", pageReq{method: "POST", path: "/approve", headers: approverAuth, form: url.Values{FieldConfirmTarget: {testUPN}}}, 403, "did not come from this approval page"},
		{"approve with another approval's CSRF token", pageReq{method: "POST", path: "/approve", headers: approverAuth, form: url.Values{"csrf": {f.conf.csrfToken("other")}, FieldConfirmTarget: {testUPN}}}, 403, "did not come from this approval page"},
		{"approve from another site (Sec-Fetch-Site)", pageReq{method: "POST", path: "/approve", headers: map[string]string{"Authorization": "Bearer " + approverToken, "Sec-Fetch-Site": "cross-site"}, form: goodForm}, 403, "Cross-site request refused"},
		{"approve from another site (Origin)", pageReq{method: "POST", path: "/approve", headers: map[string]string{"Authorization": "Bearer " + approverToken, "Origin": "https://evil.example"}, form: goodForm}, 403, "Cross-site request refused"},
		{"approve with the wrong identifier", pageReq{method: "POST", path: "/approve", headers: approverAuth, form: url.Values{"csrf": {csrf}, FieldConfirmTarget: {"yes"}}}, 422, "does not match"},
		{"GET on a decision URL", pageReq{method: "GET", path: "/approve", headers: approverAuth}, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, tt.req)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("status %d, want %d; body contains %q: %v\n%s", resp.StatusCode, tt.status, tt.contains, strings.Contains(body, tt.contains), body)
			}
			if st, _ := f.conf.CheckApproval(f.ctx, f.id); st != StatusPending {
				t.Fatalf("approval is %q after a refused request", st)
			}
		})
	}
	t.Run("security headers", func(t *testing.T) {
		resp, _ := f.do(t, pageReq{method: "GET", headers: approverAuth})
		for k, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
	})
	t.Run("sign in with the approver token, then approve with the cookie", func(t *testing.T) {
		resp, _ := f.do(t, pageReq{method: "POST", path: "/login", form: url.Values{"approver_token": {approverToken}}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "../"+f.id {
			t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookie {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
			t.Fatalf("session cookie %+v", cookie)
		}
		withCookie := map[string]string{"Cookie": cookie.Name + "=" + cookie.Value}
		if resp, _ := f.do(t, pageReq{method: "GET", headers: withCookie}); resp.StatusCode != 200 {
			t.Fatalf("page with the session cookie: %d", resp.StatusCode)
		}
		if resp, _ := f.do(t, pageReq{method: "GET", headers: map[string]string{"Cookie": cookie.Name + "=" + cookie.Value + "x"}}); resp.StatusCode != 401 {
			t.Fatalf("page with a forged cookie: %d", resp.StatusCode)
		}
		resp, _ = f.do(t, pageReq{method: "POST", path: "/approve", headers: withCookie, form: goodForm})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve: %d", resp.StatusCode)
		}
		if st, _ := f.conf.CheckApproval(f.ctx, f.id); st != StatusApproved {
			t.Fatalf("status %q, want approved", st)
		}
		resp, body := f.do(t, pageReq{method: "POST", path: "/reject", headers: withCookie, form: goodForm})
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "can no longer be decided") {
			t.Fatalf("second decision: %d\n%s", resp.StatusCode, body)
		}
		f.clock.Advance(DefaultTTL + time.Second)
		if resp, _ := f.do(t, pageReq{method: "GET", headers: withCookie}); resp.StatusCode != 401 {
			t.Fatalf("page with an expired session cookie: %d", resp.StatusCode)
		}
	})
}

// TestApprovalPageEscapes: everything on the page comes from the directory or the agent
// and is escaped.
func TestApprovalPageEscapes(t *testing.T) {
	evil := `x"><script>alert(1)</script>@contoso.example`
	plan := testPlan(evil, map[string]any{"upn": evil})
	plan.Summary = "<b>Disable</b> " + evil
	plan.Steps[0].Action = `<img src=x onerror=alert(2)>`
	f := newPageFixture(t, plan)
	resp, body := f.do(t, pageReq{method: "GET", headers: map[string]string{"Authorization": "Bearer " + approverToken}})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, raw := range []string{"<script>", "<img", "<b>Disable"} {
		if strings.Contains(body, raw) {
			t.Errorf("page contains unescaped %q", raw)
		}
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("escaped target missing:\n%s", body)
	}
}

func TestCheckApproval(t *testing.T) {
	f := newPageFixture(t, testPlan(testUPN, map[string]any{"upn": testUPN}))
	status := func() string {
		t.Helper()
		st, err := f.conf.CheckApproval(f.ctx, f.id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st != StatusPending {
		t.Fatalf("%q", st)
	}
	if _, err := f.conf.CheckApproval(f.ctx, "nope"); err == nil {
		t.Error("unknown id: no error")
	}
	if _, err := f.conf.CheckApproval(WithCaller(context.Background(), "http:someoneelse"), f.id); err == nil {
		t.Error("another caller: no error")
	}
	// Asking again for the same plan returns the same pending approval, not a new one.
	res, _ := f.conf.Confirm(f.ctx, &mcp.CallToolRequest{}, f.plan)
	if id := confirmationMeta(res.Result)["approval_id"]; id != f.id {
		t.Errorf("repeated request made approval %v, want %s", id, f.id)
	}
	if err := f.conf.decide(f.id, StatusApproved, "test"); err != nil {
		t.Fatal(err)
	}
	if st := status(); st != StatusApproved {
		t.Fatalf("%q", st)
	}
	req := &mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{"upn": testUPN, ArgApprovalID: f.id}
	if c, err := f.conf.Confirm(f.ctx, req, f.plan); err != nil || !c.Proceed || c.Mode != ModeApproval {
		t.Fatalf("Confirm with the approval: %v %+v", err, c)
	}
	if st := status(); st != StatusUsed {
		t.Fatalf("%q", st)
	}
	// The page says so.
	_, body := f.do(t, pageReq{method: "GET", headers: map[string]string{"Authorization": "Bearer " + approverToken}})
	if !strings.Contains(body, "the call has been made") || strings.Contains(body, `id="approve"`) {
		t.Errorf("used approval page:\n%s", body)
	}
}

// TestApprovalUnavailable: the approval mode fails closed with what to configure.
func TestApprovalUnavailable(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"HTTP without an approver token", Options{Transport: TransportHTTP, Key: make([]byte, 32), ApprovalBaseURL: "https://msidm.example"}, EnvApproverToken},
		{"no page served", Options{Modes: []string{ModeApproval}}, "the approval page is not being served"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Modes = []string{ModeElicitation, ModeApproval}
			conf, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			c, err := conf.Confirm(context.Background(), &mcp.CallToolRequest{}, testPlan(testUPN, nil))
			if err != nil || c.Proceed {
				t.Fatalf("%v %+v", err, c)
			}
			wantRefused(t, c.Result, tt.want)
		})
	}
	t.Run("page on HTTP without an approver token", func(t *testing.T) {
		conf, _ := New(Options{Transport: TransportHTTP, Key: make([]byte, 32), ApprovalBaseURL: "https://msidm.example"})
		rec := httptest.NewRecorder()
		conf.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/approvals/abc", nil))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), EnvApproverToken) {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	})
}
