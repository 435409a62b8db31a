package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/adsemu"
	"github.com/msidm/msidm/sandbox/chaos"
)

func start(t *testing.T, opts Options) *Sandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(body)}
}

// fetchToken redeems form at the sandbox's token endpoint and returns the access token.
func fetchToken(t *testing.T, sb *Sandbox, form url.Values) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, sb.AuthorityURL+"/"+sb.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := do(t, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.status != http.StatusOK || json.Unmarshal([]byte(resp.body), &tok) != nil {
		t.Fatalf("token: %d %s", resp.status, resp.body)
	}
	return tok.AccessToken
}

func graphToken(t *testing.T, sb *Sandbox) string {
	return fetchToken(t, sb, url.Values{"grant_type": {"client_credentials"}, "client_id": {sb.ClientID},
		"client_secret": {sb.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}})
}

func adsToken(t *testing.T, sb *Sandbox) string {
	return fetchToken(t, sb, url.Values{"grant_type": {"refresh_token"}, "client_id": {sb.ClientID}, "client_secret": {sb.ClientSecret},
		"refresh_token": {sb.AdsRefreshToken}, "scope": {"https://ads.microsoft.com/msads.manage offline_access"}})
}

func graphGet(t *testing.T, sb *Sandbox, path, tok, clientRequestID string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, sb.GraphURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if clientRequestID != "" {
		req.Header.Set("client-request-id", clientRequestID)
	}
	return do(t, req)
}

// getCurrentUser is a SOAP GetCurrentUser call (NOTES §4.2) with both credential headers.
func getCurrentUser(t *testing.T, sb *Sandbox, tok string) response {
	t.Helper()
	env := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header xmlns="https://bingads.microsoft.com/Customer/v13">` +
		`<AuthenticationToken>` + tok + `</AuthenticationToken><DeveloperToken>` + sb.AdsDeveloperToken + `</DeveloperToken></s:Header>` +
		`<s:Body><GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/></s:Body></s:Envelope>`
	req, _ := http.NewRequest(http.MethodPost, sb.AdsURL+adsemu.ServicePath, strings.NewReader(env))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "GetCurrentUser")
	return do(t, req)
}

func control(t *testing.T, sb *Sandbox, method, path, body string) response {
	t.Helper()
	req, _ := http.NewRequest(method, sb.ControlURL+path, strings.NewReader(body))
	return do(t, req)
}

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// graphErrorBody is the Graph error envelope (NOTES §3.1, samples/error-429.json).
type graphErrorBody struct {
	Error struct {
		Code       string            `json:"code"`
		Message    string            `json:"message"`
		InnerError map[string]string `json:"innerError"`
	} `json:"error"`
}

// TestGraphInjectedFaults sends Graph GETs through 30% injected faults and checks every
// injected answer against the real envelope and headers.
func TestGraphInjectedFaults(t *testing.T) {
	sb := start(t, Options{Chaos: chaos.Config{FaultRate: 0.3, FaultStatuses: []int{429, 503, 504}, Seed: 7,
		RetryAfter: 3 * time.Second, Services: []string{chaos.ServiceGraph}}})
	tok := graphToken(t, sb)
	want := map[int]struct {
		code, retryAfter, throttleInfo string
		inner                          map[string]string
	}{
		429: {"TooManyRequests", "3", "CPULimitExceeded", map[string]string{"code": "429", "status": "429", "message": "Please retry after"}},
		503: {"serviceNotAvailable", "3", "", nil},
		504: {"generalException", "", "", nil},
	}
	const n = 300
	seen := map[int]int{}
	for i := range n {
		crid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		resp := graphGet(t, sb, "/v1.0/users?$top=1&$select=id", tok, crid)
		seen[resp.status]++
		if resp.status == http.StatusOK {
			continue
		}
		w, ok := want[resp.status]
		if !ok {
			t.Fatalf("request %d: status %d %s", i, resp.status, resp.body)
		}
		h := resp.header
		if ct := h.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%d: Content-Type %q", resp.status, ct)
		}
		if !guid.MatchString(h.Get("request-id")) || h.Get("client-request-id") != crid {
			t.Errorf("%d: request-id %q client-request-id %q, want a GUID and %q", resp.status, h.Get("request-id"), h.Get("client-request-id"), crid)
		}
		if got := h.Get("Retry-After"); got != w.retryAfter {
			t.Errorf("%d: Retry-After %q, want %q", resp.status, got, w.retryAfter)
		}
		if got := h.Get("x-ms-throttle-information"); got != w.throttleInfo {
			t.Errorf("%d: x-ms-throttle-information %q, want %q", resp.status, got, w.throttleInfo)
		}
		wantScope := ""
		if resp.status == 429 {
			wantScope = "Tenant_Application/ReadWrite/" + sb.ClientID + "/" + sb.TenantID
		}
		if got := h.Get("x-ms-throttle-scope"); got != wantScope {
			t.Errorf("%d: x-ms-throttle-scope %q, want %q", resp.status, got, wantScope)
		}
		var body graphErrorBody
		if err := json.Unmarshal([]byte(resp.body), &body); err != nil {
			t.Fatalf("%d: body %s: %v", resp.status, resp.body, err)
		}
		if body.Error.Code != w.code || body.Error.Message == "" || body.Error.InnerError["request-id"] != h.Get("request-id") ||
			body.Error.InnerError["date"] == "" {
			t.Errorf("%d: body %s", resp.status, resp.body)
		}
		for k, v := range w.inner {
			if body.Error.InnerError[k] != v {
				t.Errorf("%d: innerError.%s = %q, want %q", resp.status, k, body.Error.InnerError[k], v)
			}
		}
	}
	faults := n - seen[200]
	if share := float64(faults) / n; math.Abs(share-0.3) > 0.08 {
		t.Errorf("fault share %.2f, want about 0.3 (%v)", share, seen)
	}
	for status := range want {
		if seen[status] == 0 {
			t.Errorf("no %d among %v", status, seen)
		}
	}
	st := sb.Chaos.Stats()[chaos.ServiceGraph]
	if st.Requests != n || st.Passed != uint64(seen[200]) || st.Injected[429] != uint64(seen[429]) || st.Injected[503] != uint64(seen[503]) {
		t.Errorf("stats %+v, seen %v", st, seen)
	}
	if st := sb.Chaos.Stats()[chaos.ServiceIdentity]; st.Requests != 1 || st.Passed != 1 {
		t.Errorf("identity stats %+v: the Services filter should have kept it clean", st)
	}
}

// TestThrottleBudget spends a small budget on Graph and on Customer Management, expects 429 /
// fault 117 with Retry-After, and recovers when the window has passed on the sandbox clock.
func TestThrottleBudget(t *testing.T) {
	sb := start(t, Options{Chaos: chaos.Config{ThrottleBudget: 4, ThrottleWindow: 4 * time.Second}, Control: true})
	graphTok, adsTok := graphToken(t, sb), adsToken(t, sb)
	for _, tc := range []struct {
		name    string
		call    func() response
		perCall int // units per call
		check   func(t *testing.T, r response)
	}{
		{"graph", func() response { return graphGet(t, sb, "/v1.0/users?$top=5", graphTok, "") }, 1, // users 2, $top<20 −1
			func(t *testing.T, r response) {
				if r.status != 429 || r.header.Get("Retry-After") != "1" || r.header.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" ||
					r.header.Get("x-ms-throttle-scope") != "Tenant_Application/ReadWrite/"+sb.ClientID+"/"+sb.TenantID ||
					!strings.Contains(r.body, `"code":"TooManyRequests"`) {
					t.Fatalf("throttled answer: %d %v %s", r.status, r.header, r.body)
				}
			}},
		{"graph single user costs 2", func() response { return graphGet(t, sb, "/v1.0/users/"+sb.Tenant.People[0].ID, graphTok, "") }, 2,
			func(t *testing.T, r response) {
				if r.status != 429 || r.header.Get("Retry-After") != "2" {
					t.Fatalf("throttled answer: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
				}
			}},
		{"ads soap", func() response { return getCurrentUser(t, sb, adsTok) }, 1,
			func(t *testing.T, r response) {
				if r.status != 500 || !strings.Contains(r.body, "<Code>117</Code>") || !strings.Contains(r.body, "<ErrorCode>CallRateExceeded</ErrorCode>") {
					t.Fatalf("throttled answer: %d %s", r.status, r.body)
				}
			}},
		{"ads rest", func() response {
			req, _ := http.NewRequest(http.MethodPost, sb.AdsURL+adsemu.RESTPrefix+"CurrentUser/Query", strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+adsTok)
			req.Header.Set("DeveloperToken", sb.AdsDeveloperToken)
			return do(t, req)
		}, 1, func(t *testing.T, r response) {
			if r.status != 429 || r.header.Get("Retry-After") != "1" || !strings.Contains(r.body, `"Code":117`) {
				t.Fatalf("throttled answer: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := control(t, sb, http.MethodPost, "/reset", ""); r.status != http.StatusNoContent {
				t.Fatalf("reset: %d %s", r.status, r.body)
			}
			for i := range 4 / tc.perCall {
				if r := tc.call(); r.status != http.StatusOK {
					t.Fatalf("call %d within the budget: %d %s", i, r.status, r.body)
				}
			}
			tc.check(t, tc.call())
			if r := control(t, sb, http.MethodPost, "/clock/advance?d=4s", ""); r.status != http.StatusOK {
				t.Fatalf("advance: %d %s", r.status, r.body)
			}
			if r := tc.call(); r.status != http.StatusOK {
				t.Fatalf("after the window: %d %s", r.status, r.body)
			}
		})
	}
	if st := sb.Chaos.Stats(); st[chaos.ServiceAds].Throttled != 1 { // counters start over with each /reset
		t.Errorf("ads stats %+v", st[chaos.ServiceAds])
	}
}

// TestControlAPI changes the configuration at run time and uses the emulator endpoints.
func TestControlAPI(t *testing.T) {
	sb := start(t, Options{Control: true})
	if !strings.HasPrefix(sb.ControlURL, "http://127.0.0.1:") {
		t.Fatalf("ControlURL %q", sb.ControlURL)
	}
	tok := graphToken(t, sb)
	for _, step := range []struct {
		name               string
		method, path, body string
		wantStatus         int
		wantBody           string
		graphStatus        int // a Graph GET after the step; 0: none
	}{
		{"zero config passes", "GET", "/config", "", 200, `"fault_rate": 0`, 200},
		{"all Graph requests fail", "PUT", "/config", `{"fault_rate":1,"fault_statuses":[503],"services":["graph"]}`, 200, `"fault_rate": 1`, 503},
		{"stats count it", "GET", "/stats", "", 200, `"503": 1`, 0},
		{"invalid config is refused", "PUT", "/config", `{"fault_rate":-1}`, 400, "fault_rate", 503},
		{"latency only", "PUT", "/config", `{"fault_rate":0,"latency":"30ms"}`, 200, `"latency": "30ms"`, 200},
		{"unknown invitation", "POST", "/ads/invitations/999/accept", "", 404, "no pending invitation", 0},
		{"bad invitation id", "POST", "/ads/invitations/x/accept", "", 400, "number", 0},
		{"tokens expire on the sandbox clock", "POST", "/clock/advance?d=2h", "", 200, `"now"`, 401},
	} {
		r := control(t, sb, step.method, step.path, step.body)
		if r.status != step.wantStatus || !strings.Contains(r.body, step.wantBody) {
			t.Fatalf("%s: %s %s = %d %s, want %d with %q", step.name, step.method, step.path, r.status, r.body, step.wantStatus, step.wantBody)
		}
		if step.graphStatus != 0 {
			start := time.Now()
			g := graphGet(t, sb, "/v1.0/users?$top=1", tok, "")
			if g.status != step.graphStatus {
				t.Fatalf("%s: Graph answered %d %s, want %d", step.name, g.status, g.body, step.graphStatus)
			}
			if lat := sb.Chaos.Config().Latency; time.Since(start) < lat {
				t.Fatalf("%s: Graph answered in %v, before the %v latency", step.name, time.Since(start), lat)
			}
		}
	}
	// Invitation 7001 of the demo tenant, accepted through the control API; depending on the
	// date it may have expired (409) — both are the emulator's documented answers.
	r := control(t, sb, "POST", "/ads/invitations/7001/accept", "")
	if !(r.status == 200 && strings.Contains(r.body, `"user_id"`)) && r.status != http.StatusConflict {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
}

func TestControlAddrMustBeLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", "example.com:80", "nonsense"} {
		if _, err := Start(context.Background(), Options{Control: true, ControlAddr: addr}); err == nil {
			t.Errorf("Start accepted control address %q", addr)
		}
	}
}

// TestSeedDeterminism replays the same requests against two sandboxes with the same seed.
func TestSeedDeterminism(t *testing.T) {
	run := func(seed uint64) []int {
		sb := start(t, Options{Chaos: chaos.Config{FaultRate: 0.4, FaultStatuses: []int{429, 500, 503}, Seed: seed,
			Services: []string{chaos.ServiceGraph}}})
		tok := graphToken(t, sb)
		var statuses []int
		for range 60 {
			statuses = append(statuses, graphGet(t, sb, "/v1.0/users?$top=1", tok, "").status)
		}
		return statuses
	}
	a, b, c := run(11), run(11), run(12)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different answers:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatalf("different seeds, same answers: %v", a)
	}
}

// TestIdentityFaults checks that injected token-endpoint failures use the AADSTS shape with
// Retry-After.
func TestIdentityFaults(t *testing.T) {
	sb := start(t, Options{Chaos: chaos.Config{FaultRate: 1, FaultStatuses: []int{429}, RetryAfter: 5 * time.Second,
		Services: []string{chaos.ServiceIdentity}}})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {sb.ClientID}, "client_secret": {sb.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"}}
	req, _ := http.NewRequest(http.MethodPost, sb.AuthorityURL+"/"+sb.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := do(t, req)
	if r.status != 429 || r.header.Get("Retry-After") != "5" || !strings.Contains(r.body, `"error":"temporarily_unavailable"`) {
		t.Fatalf("token endpoint: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
}

// TestAdsFaultStatusSelectable: faults answered with HTTP 200, as the live service has been
// seen doing, when the sandbox is started that way.
func TestAdsFaultStatusSelectable(t *testing.T) {
	sb, err := Start(t.Context(), Options{AdsFaultStatus: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	body := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/></s:Body></s:Envelope>`
	resp, err := http.Post(sb.AdsURL+"/Api/CustomerManagement/v13/CustomerManagementService.svc", "text/xml; charset=utf-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), "RequestMissingHeaders") {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
}
