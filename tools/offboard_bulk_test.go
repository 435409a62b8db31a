package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/oauth2"

	"github.com/msidm/msidm/clients/auth"
	"github.com/msidm/msidm/clients/connect"
	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/clients/redact"
	"github.com/msidm/msidm/clients/transport"
	"github.com/msidm/msidm/offboard"
	"github.com/msidm/msidm/policy"
	"github.com/msidm/msidm/policy/audit"
	"github.com/msidm/msidm/policy/examples"
	"github.com/msidm/msidm/policy/rules"
	"github.com/msidm/msidm/sandbox"
	"github.com/msidm/msidm/sandbox/chaos"
	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/graphemu"
)

// TestOffboardBulkProtectedRefusesWholeCall: one protected person among three refuses the
// whole call before any change is sent; the two others, offboarded in one call afterwards,
// finish with every verification PASS and offboard_status shows both runs done.
func TestOffboardBulkProtectedRefusesWholeCall(t *testing.T) {
	e, j := offboardEnv(t)
	const pradeep = "pradeep.gupta@contoso.example"
	before := e.mutations()
	e.fails("offboard_everywhere", map[string]any{"people": []any{diego, "breakglass1@contoso.example", pradeep},
		"reason": "HR-2001"}, "protected", "breakglass1@contoso.example")
	if d := e.mutations().minus(before); len(d) != 0 {
		t.Fatalf("a refused call sent %v", d)
	}
	// The plan is journaled before confirmation: the refused call leaves unconfirmed runs, with
	// no step attempted.
	for _, upn := range []string{diego, "breakglass1@contoso.example", pradeep} {
		r, err := j.Get(context.Background(), offboard.RunID(upn, "HR-2001"))
		if err != nil {
			t.Logf("%s: no run after the refusal (%v)", upn, err)
			continue
		}
		for _, s := range r.Steps {
			if s.Attempts != 0 || s.Status == offboard.StatusDone || s.Status == offboard.StatusFailed {
				t.Errorf("refused call ran %s of %s: %s after %d attempt(s)", s.Key, upn, s.Status, s.Attempts)
			}
		}
		t.Logf("%s: run %s left %s with %d steps after the refusal", upn, r.ID, r.Status, len(r.Steps))
	}

	before = e.mutations()
	out := e.ok("offboard_everywhere", map[string]any{"people": []any{diego, pradeep}, "reason": "HR-2001"})
	if out["status"] != "done" {
		t.Fatalf("status %v: %v", out["status"], out)
	}
	people := list(out, "people")
	if len(people) != 2 {
		t.Fatalf("want 2 people, got %d", len(people))
	}
	want := mutations{}
	for _, p := range people {
		if p["status"] != "done" {
			t.Errorf("%s: %s", p["person"], p["status"])
		}
		assertAllPass(t, p)
		for k, v := range expected(p) {
			want[k] += v
		}
		st := e.ok("offboard_status", map[string]any{"run_id": p["run_id"]})
		sp := person(t, st)
		if st["status"] != "done" || sp["run_id"] != p["run_id"] || sp["person"] != p["person"] || len(list(sp, "steps")) == 0 {
			t.Errorf("offboard_status %v: %v", p["run_id"], st)
		}
	}
	if got := e.mutations().minus(before); got.String() != want.String() {
		t.Errorf("mutating requests %v, want one per step %v", got, want)
	}
	if people[0]["person"] != diego || people[1]["person"] != pradeep {
		t.Errorf("people %v, %v", people[0]["person"], people[1]["person"])
	}
}

// unitMeter is the base RoundTripper of the bulk benchmark's Graph client: below the retrying
// transport it sees every attempt, and charges each one that was not throttled the resource
// units the Graph emulator's throttle charges it (graphemu.ResourceUnits).
type unitMeter struct {
	base http.RoundTripper
	host string

	mu                          sync.Mutex
	attempts, throttled, passed int
	units                       int
	byRoute                     map[string]int
}

func (m *unitMeter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.base.RoundTrip(r)
	if r.URL.Host != m.host {
		return resp, err
	}
	units := graphemu.ResourceUnits(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts++
	switch {
	case err == nil && resp.StatusCode == http.StatusTooManyRequests:
		m.throttled++
	case err == nil:
		m.passed++
		m.units += units
		m.byRoute[r.Method+" "+routeOf(r.URL.Path)] += units
	}
	return resp, err
}

// routeOf names a Graph path by its shape: ids become {id}.
func routeOf(p string) string {
	segs := strings.Split(strings.TrimPrefix(p, "/v1.0/"), "/")
	for i := range segs {
		if i%2 == 1 && segs[i] != "$ref" {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// bulkTenant is demo.Large with leavers people[first:first+n]: every one is in two extra
// security groups of ten ("Team k", "Guild k"), keeps Large's licences (E3, EMS every fourth,
// Power BI every tenth) and its groups, and the first adsUsers people hold an Ads role. The
// first two people are Global Administrators (and the first the signed-in Ads Super Admin),
// people 2, 10 and 18 are in the role-assignable "IT Admins", whose members the sandbox app
// cannot remove (no RoleManagement.ReadWrite.Directory): first must be at least 20.
func bulkTenant(first, n, adsUsers int) (*demo.Tenant, []string) {
	t := demo.Large(first+n+10, adsUsers, 7)
	var upns []string
	for i := first; i < first+n; i++ {
		upns = append(upns, t.People[i].UserPrincipalName)
	}
	for k := 0; k*10 < n; k++ {
		var team, guild []string
		for i := k * 10; i < min((k+1)*10, n); i++ {
			team = append(team, t.People[first+i].ID)
		}
		for i := k*10 + 5; i < min((k+1)*10+5, n+5); i++ {
			guild = append(guild, t.People[first+i%n].ID)
		}
		for _, g := range []struct {
			name    string
			members []string
		}{{fmt.Sprintf("Team %03d", k), team}, {fmt.Sprintf("Guild %03d", k), guild}} {
			t.Groups = append(t.Groups, demo.Group{ID: fmt.Sprintf("0b0e5e00-%04d-4000-8000-%012d", len(t.Groups), k),
				DisplayName: g.name, MailNickname: strings.ReplaceAll(strings.ToLower(g.name), " ", "-"),
				SecurityEnabled: true, MemberIDs: g.members, CreatedDateTime: t.Created})
		}
	}
	return t, upns
}

// bulkEnv is the tools harness over a given tenant and chaos configuration, with a Graph
// client metered by unitMeter, the example policy with max_targets_per_call raised to
// maxTargets, an approving human and a journal on disk.
type bulkEnv struct {
	sb     *sandbox.Sandbox
	client *client.Client
	meter  *unitMeter
}

func newBulkEnv(tb testing.TB, tenant *demo.Tenant, cfg chaos.Config, maxTargets int) *bulkEnv {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{Tenant: tenant, Chaos: cfg})
	if err != nil {
		tb.Fatal(err)
	}
	red := &redact.Redactor{}
	cl, err := connect.Build(connect.Settings{AuthorityURL: sb.AuthorityURL, AdsURL: sb.AdsURL, TenantID: sb.TenantID,
		AdsClientID: sb.ClientID, AdsClientSecret: sb.ClientSecret, AdsDeveloperToken: sb.AdsDeveloperToken,
		AdsRefreshToken: sb.AdsRefreshToken}, false, true, red, nil)
	if err != nil {
		tb.Fatal(err)
	}
	pool := http.DefaultTransport.(*http.Transport).Clone()
	pool.MaxIdleConns, pool.MaxIdleConnsPerHost = 256, 64
	meter := &unitMeter{base: pool, host: strings.TrimPrefix(sb.GraphURL, "http://"), byRoute: map[string]int{}}
	base := transport.New(meter, transport.Options{}) // the defaults connect.Build uses
	plain := &http.Client{Transport: base, Timeout: 60 * time.Second}
	src := auth.GraphTokenSource(plain, auth.AppCredentials{AuthorityURL: sb.AuthorityURL, TenantID: sb.TenantID,
		ClientID: sb.ClientID, ClientSecret: sb.ClientSecret, GraphURL: sb.GraphURL})
	gc, err := graph.New(sb.GraphURL, &http.Client{Transport: &oauth2.Transport{Source: src, Base: base}, Timeout: 60 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	pol, err := rules.Parse(examples.Policy, examples.PolicyName)
	if err != nil {
		tb.Fatal(err)
	}
	pol.MaxTargets = maxTargets
	log, err := audit.Open(ctx, tb.TempDir(), audit.Options{Redact: red.String})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = log.Close() })
	gate := policy.NewGate(policy.Config{Rules: pol, Audit: log, Directory: GraphDirectory{Graph: gc},
		Caller: func(context.Context) string { return "bench" }})
	gate.SetConfirmer(approveAll{})
	j, err := offboard.Open(ctx, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = j.Close() })
	deps := &Deps{Graph: gc, Ads: cl.Ads, AdsCustomerID: sb.AdsCustomerID, Redactor: red, Gate: gate,
		Logger: slog.New(slog.DiscardHandler), Audit: log, Journal: j}
	srv := NewServer(ServerInfo{Name: "msidm", Version: "bench"}, deps, All(deps), gate, deps.Logger)
	c, err := client.NewInProcessClientWithOptions(srv)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "tools-bench", Version: "1"}}}); err != nil {
		tb.Fatal(err)
	}
	return &bulkEnv{sb: sb, client: c, meter: meter}
}

func (e *bulkEnv) call(tb testing.TB, name string, args map[string]any, timeout time.Duration) (*mcp.CallToolResult, map[string]any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := e.client.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		tb.Fatalf("%s: protocol error %v", name, err)
	}
	var out map[string]any
	raw, _ := json.Marshal(res.StructuredContent)
	if len(res.RawStructuredContent) > 0 {
		raw = res.RawStructuredContent
	}
	_ = json.Unmarshal(raw, &out)
	return res, out
}

// BenchmarkOffboardBulkThrottled measures issue 7's second target: 200 people in one
// offboard_everywhere call under emulated Graph throttling (a token bucket of 200 resource
// units per second for the app+tenant, Retry-After 1 s) finish with zero failures, within
// 1.2x of the bound the budget sets.
//
//	go test ./tools -run '^$' -bench '^BenchmarkOffboardBulkThrottled$' -benchtime=1x
//
// The bound is the Graph resource units the call spent (every request that was not throttled,
// charged as the emulator's throttle charges it, graphemu.ResourceUnits) / budget x window.
// $batch items are metered by the sandbox against a bucket of their own (same budget; chaos
// Stats "graph/batch"), so the bound is the larger of the two. The buckets start full, so
// the strict floor is (units - budget) / budget x window: also reported.
// BULK_PEOPLE (default 200) scales the run down on a slow machine.
func BenchmarkOffboardBulkThrottled(b *testing.B) {
	n := 200
	if v := envInt("BULK_PEOPLE"); v > 0 {
		n = v
	}
	const (
		first    = 20 // see bulkTenant
		adsUsers = 40 // people 20..39 of the leavers hold an Ads role
		budget   = 200
		window   = time.Second
	)
	cfg := chaos.Config{ThrottleBudget: budget, ThrottleWindow: window, RetryAfter: time.Second,
		Services: []string{chaos.ServiceGraph}}
	var elapsed time.Duration
	var units, items, failures, fails int
	var bound, floor float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tenant, upns := bulkTenant(first, n, adsUsers)
		e := newBulkEnv(b, tenant, cfg, 1000)
		people := make([]any, len(upns))
		for k, u := range upns {
			people[k] = u
		}
		b.StartTimer()
		start := time.Now()
		res, out := e.call(b, "offboard_everywhere", map[string]any{"people": people, "reason": fmt.Sprint("BULK-", i)}, 20*time.Minute)
		d := time.Since(start)
		b.StopTimer()
		elapsed += d
		st := e.sb.Chaos.Stats()
		e.meter.mu.Lock()
		u, attempts, throttled, routes := e.meter.units, e.meter.attempts, e.meter.throttled, e.meter.byRoute
		e.meter.mu.Unlock()
		it := int(st[chaos.ServiceGraph+"/batch"].Passed)
		units += u
		items += it
		runBound := float64(max(u, it)) / budget * window.Seconds()
		bound += runBound
		floor += float64(max(u, it)-budget) / budget * window.Seconds()
		steps, adsSteps := 0, 0
		for _, p := range list(out, "people") {
			if p["status"] != "done" {
				failures++
			}
			for _, s := range list(p, "steps") {
				steps++
				if strings.HasPrefix(fmt.Sprint(s["key"]), "ads/") {
					adsSteps++
				}
				if s["status"] == "failed" {
					fails++
					if fails <= 5 {
						b.Errorf("%s %s: %s", p["person"], s["key"], s["detail"])
					}
				}
			}
			for _, c := range list(p, "verification") {
				if c["result"] != "PASS" {
					fails++
				}
			}
		}
		if res.IsError || out["status"] != "done" || len(list(out, "people")) != n {
			b.Errorf("status %v, %d people: %.600s", out["status"], len(list(out, "people")), text(res))
		}
		b.Logf("%d people, %d steps (%d Ads): %v; Graph %d attempts, %d throttled, %d passed = %d units; batch items %d passed, %d throttled; bound %.1fs; ratio %.2f; units by route %v",
			n, steps, adsSteps, d.Round(time.Millisecond), attempts, throttled, attempts-throttled, u, it, st[chaos.ServiceGraph+"/batch"].Throttled,
			runBound, d.Seconds()/runBound, routes)
	}
	per := float64(b.N)
	b.ReportMetric(float64(n), "people")
	b.ReportMetric(elapsed.Seconds()/per, "s/call")
	b.ReportMetric(float64(units)/per, "graph_units")
	b.ReportMetric(float64(items)/per, "batch_items")
	b.ReportMetric(bound/per, "bound_s")
	b.ReportMetric(floor/per, "floor_s")
	b.ReportMetric(elapsed.Seconds()/bound, "ratio")
	b.ReportMetric(float64(failures)/per, "failed_people")
	b.ReportMetric(float64(fails)/per, "failures")
}

func envInt(name string) int {
	var v int
	_, _ = fmt.Sscan(os.Getenv(name), &v)
	return v
}

// BenchmarkOffboardEverywhereOnePerson is issue 7's first target through the whole tool: the
// person of offboard/bench_test.go (25 removable groups, 3 licences, 2 Ads users, one found
// by contact e-mail) offboarded by one offboard_everywhere call at 50 ms latency on every
// service. It adds to the engine's 7 round trips what the tool does around it: resolution in
// both systems, the guard rails' directory reads and the verification pass.
//
//	go test ./tools -run '^$' -bench '^BenchmarkOffboardEverywhereOnePerson$' -benchtime=3x
func BenchmarkOffboardEverywhereOnePerson(b *testing.B) {
	const latency = 50 * time.Millisecond
	var elapsed time.Duration
	var graphReqs, adsReqs, idReqs uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t := demo.Demo()
		var p *demo.Person
		for k := range t.People {
			if t.People[k].UserPrincipalName == diego {
				p = &t.People[k]
			}
		}
		for k := 0; k < 23; k++ { // + Marketing Department and Ads Campaign Managers = 25
			t.Groups = append(t.Groups, demo.Group{ID: fmt.Sprintf("0b0e5e00-0000-4000-8000-%012d", k+1),
				DisplayName: fmt.Sprintf("Project %02d", k+1), MailNickname: fmt.Sprintf("project-%02d", k+1),
				SecurityEnabled: true, MemberIDs: []string{p.ID}, CreatedDateTime: t.Created})
		}
		p.Licenses = append(p.Licenses, demo.SKUEMSE3, demo.SKUPowerBIPro)
		for k := range t.SKUs {
			if t.SKUs[k].ID != demo.SKUOffice365E3 {
				t.SKUs[k].PrepaidUnits++
			}
		}
		var next int64
		for _, u := range t.Ads.Users {
			next = max(next, u.ID+1)
		}
		t.Ads.Users = append(t.Ads.Users, demo.AdsUser{ID: next, UserName: "diego.agency@contoso.example", Email: p.Mail,
			FirstName: p.GivenName, LastName: p.Surname, Lcid: "EnglishUS", Status: "Active",
			Roles: []demo.AdsRole{{RoleID: demo.RoleViewer}}, LastChanged: t.Created})
		e := newBulkEnv(b, t, chaos.Config{Latency: latency}, 10)
		// Warm tokens and connections: one read per system.
		if res, _ := e.call(b, "get_entra_user", map[string]any{"user": "alex.wilber@contoso.example"}, time.Minute); res.IsError {
			b.Fatal(text(res))
		}
		if res, _ := e.call(b, "ads_whoami", map[string]any{}, time.Minute); res.IsError {
			b.Fatal(text(res))
		}
		before := e.sb.Chaos.Stats()
		b.StartTimer()
		start := time.Now()
		res, out := e.call(b, "offboard_everywhere", map[string]any{"people": []any{diego}, "reason": fmt.Sprint("HR-3000-", i)}, 5*time.Minute)
		d := time.Since(start)
		b.StopTimer()
		elapsed += d
		after := e.sb.Chaos.Stats()
		g := after[chaos.ServiceGraph].Requests - before[chaos.ServiceGraph].Requests
		a := after[chaos.ServiceAds].Requests - before[chaos.ServiceAds].Requests
		id := after[chaos.ServiceIdentity].Requests - before[chaos.ServiceIdentity].Requests
		graphReqs, adsReqs, idReqs = graphReqs+g, adsReqs+a, idReqs+id
		if res.IsError || out["status"] != "done" {
			b.Fatalf("status %v: %s", out["status"], text(res))
		}
		pp := list(out, "people")[0]
		groups, adsSteps := 0, 0
		for _, s := range list(pp, "steps") {
			switch k := fmt.Sprint(s["key"]); {
			case strings.HasPrefix(k, "entra/group/"):
				groups++
			case strings.HasPrefix(k, "ads/"):
				adsSteps++
			}
		}
		if groups != 25 || adsSteps != 2 {
			b.Fatalf("%d group steps, %d Ads steps", groups, adsSteps)
		}
		for _, c := range list(pp, "verification") {
			if c["result"] != "PASS" {
				b.Errorf("verification %s: %s", c["check"], c["detail"])
			}
		}
		b.Logf("offboard_everywhere: %v; requests: Graph %d, Ads %d, identity %d", d.Round(time.Millisecond), g, a, id)
	}
	per := float64(b.N)
	const engineCritical = 7 * 50.0
	b.ReportMetric(float64(elapsed.Milliseconds())/per, "ms/call")
	b.ReportMetric(engineCritical, "engine_critical_ms")
	b.ReportMetric(float64(elapsed.Milliseconds())/per/engineCritical, "ratio_engine")
	b.ReportMetric(32*50, "runbook_ms")
	b.ReportMetric(float64(graphReqs)/per, "graph_reqs")
	b.ReportMetric(float64(adsReqs)/per, "ads_reqs")
}
