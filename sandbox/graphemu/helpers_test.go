package graphemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

// writeRoles are the application permissions of the sandbox client (sandbox.go).
var writeRoles = []string{"User.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All", "User.RevokeSessions.All"}

// testClock is an injectable directory clock.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func newTestClock(start time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(start.UnixNano())
	return c
}

// wfixture is a fixture whose token may write and whose directory clock tests move.
type wfixture struct {
	*fixture
	clock *testClock
}

func newWriteFixture(t *testing.T) *wfixture {
	t.Helper()
	clock := newTestClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	signer := token.NewSigner(nil)
	tenant := demo.Demo()
	srv := New(Options{Signer: signer, Tenant: tenant, Now: clock.now})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	f := &fixture{t: t, srv: srv, signer: signer, tenant: tenant, base: ts.URL}
	f.token = f.mint(writeRoles...)
	return &wfixture{fixture: f, clock: clock}
}

func (f *fixture) mint(roles ...string) string {
	return f.signer.Mint(token.Claims{Audience: token.AudienceGraph, TenantID: f.tenant.ID, AppID: "app", Roles: roles}, time.Hour)
}

// send makes a request with an optional JSON body (a string is sent verbatim) and decodes a
// JSON answer; 204 and text/plain answers leave body nil.
func (f *fixture) send(method, path string, body any, headers ...string) reply {
	f.t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rdr = bytes.NewReader(raw)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = f.base + path
	}
	req, err := http.NewRequest(method, u, rdr)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			f.t.Fatalf("%s %s: body is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return r
}

// person returns the demo person with the given display name.
func person(t *testing.T, tenant *demo.Tenant, displayName string) demo.Person {
	t.Helper()
	for _, p := range tenant.People {
		if p.DisplayName == displayName {
			return p
		}
	}
	t.Fatalf("no demo person %q", displayName)
	return demo.Person{}
}

func groupNamed(t *testing.T, tenant *demo.Tenant, name string) demo.Group {
	t.Helper()
	for _, g := range tenant.Groups {
		if g.DisplayName == name {
			return g
		}
	}
	t.Fatalf("no demo group %q", name)
	return demo.Group{}
}

// sample reads a reference sample, or skips when the shared folder is absent.
func sample(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Skipf("reference samples not available: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// containsShape checks that every key of want (recursively, arrays by first element) is in
// got with the same JSON type: for samples abbreviated in the docs
// (assignlicense-response.json, memberof-response.json), which show a subset of the object.
func containsShape(t *testing.T, path string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want object", path, got)
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s: missing key %q (have %v)", path, k, keysOf(g))
				continue
			}
			if gv != nil && wv != nil {
				containsShape(t, path+"."+k, gv, wv)
			}
		}
	case []any:
		if g, ok := got.([]any); !ok {
			t.Errorf("%s: got %T, want array", path, got)
		} else if len(w) > 0 && len(g) > 0 {
			containsShape(t, path+"[0]", g[0], w[0])
		}
	default:
		if got != nil && want != nil && typeName(got) != typeName(want) {
			t.Errorf("%s: type %s, sample %s", path, typeName(got), typeName(want))
		}
	}
}

// errorShape compares an error reply's envelope keys with a sample's (the OBSERVED samples
// lack innerError, which the service always sends; see NOTES §3.1).
func errorShape(t *testing.T, r reply, sampleName string) {
	t.Helper()
	want := sample(t, sampleName)["error"].(map[string]any)
	got, _ := r.body["error"].(map[string]any)
	if got == nil {
		t.Fatalf("no error: %d %s", r.status, r.raw)
	}
	if got["code"] != want["code"] || got["message"] != want["message"] {
		t.Errorf("error = %v %q, sample %v %q", got["code"], got["message"], want["code"], want["message"])
	}
	wk := keysOf(want)
	if !slices.Contains(wk, "innerError") {
		wk = append(wk, "innerError")
		slices.Sort(wk)
	}
	if gk := keysOf(got); !slices.Equal(gk, wk) {
		t.Errorf("error keys %v, sample %v", gk, wk)
	}
}

// ids lists the "id" of each object in a collection reply.
func ids(r reply) []string {
	var out []string
	for _, v := range r.body["value"].([]any) {
		out = append(out, v.(map[string]any)["id"].(string))
	}
	return out
}

// displayNames lists the displayName of each object in a collection reply.
func displayNames(r reply) []string {
	var out []string
	for _, v := range r.body["value"].([]any) {
		out = append(out, v.(map[string]any)["displayName"].(string))
	}
	slices.Sort(out)
	return out
}

func tokenClaimsScope(tenantID, scope string) token.Claims {
	return token.Claims{Audience: token.AudienceGraph, TenantID: tenantID, Scope: scope, UPN: "admin@contoso.example"}
}
