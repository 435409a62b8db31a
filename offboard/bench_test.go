package offboard_test

// BenchmarkOffboardOnePerson measures issue 7's first target: one person with 25 removable
// group memberships, 3 licences and 2 Microsoft Advertising users, at 50 ms emulated latency
// on every service, must finish within 1.3x of the engine's critical path.
//
//	go test ./offboard -run '^$' -bench '^BenchmarkOffboardOnePerson$' -benchtime=5x
//
// The critical path is counted from engine.go (each item is one round trip of 50 ms; items
// on one line run in parallel):
//
//	resolution  GET /users/{upn}?$select=UserFields                          1  (the caller's read, as planPerson does)
//	plan        GET /users/{id}/memberOf (one page: 25 groups < default $top) 1  (Engine.Plan)
//	phase 1     GET /users/{id} (execution.entraUser) then PATCH accountEnabled 2  (block)
//	phase 2     POST revokeSignInSessions (user state cached)                  1  (revoke)
//	phase 3     max( $batch x ceil(25/20)=2 chunks sent in parallel  = 1,
//	                 POST assignLicense (all 3 SKUs in one call)      = 1,
//	                 per Ads user: GetUser then DeleteUser            = 2 )    2
//	                                                                          --
//	                                                                           7 round trips = 350 ms
//
// Verification (Engine.Verify) is reported on its own: GET user, GET memberOf, then one
// GetUser per Ads user, all sequential: 2 + 2 = 4 round trips = 200 ms.
// The sequential runbook of the docs is 32 round trips = 1,600 ms.

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/msidm/msidm/clients/connect"
	"github.com/msidm/msidm/clients/redact"
	"github.com/msidm/msidm/offboard"
	"github.com/msidm/msidm/sandbox"
	"github.com/msidm/msidm/sandbox/chaos"
	"github.com/msidm/msidm/sandbox/demo"
)

const (
	benchUPN        = "diego.siciliani@contoso.example"
	benchGroups     = 25
	benchLatency    = 50 * time.Millisecond
	criticalRTs     = 7  // see the table above
	verifyRTs       = 4  // GET user, GET memberOf, 2 x Ads GetUser
	runbookRTs      = 32 // the documented sequential runbook
	secondAdsUserNm = "diego.agency@contoso.example"
)

// heavyLeaver returns the demo tenant with Diego Siciliani given 25 direct, removable group
// memberships (his two demo groups plus 23 new security groups), all three licences (E3 from
// the demo plus EMS and Power BI Pro, with one more seat bought of each) and a second Ads
// user in the demo's only customer whose sign-in name differs but whose contact e-mail is
// his address (offboard_everywhere finds it by contact e-mail).
func heavyLeaver(tb testing.TB) (*demo.Tenant, string) {
	tb.Helper()
	t := demo.Demo()
	i := slices.IndexFunc(t.People, func(p demo.Person) bool { return p.UserPrincipalName == benchUPN })
	if i < 0 {
		tb.Fatalf("%s is not in the demo tenant", benchUPN)
	}
	p := &t.People[i]
	direct := 0
	for _, g := range t.Groups {
		if slices.Contains(g.MemberIDs, p.ID) && !slices.Contains(g.GroupTypes, "DynamicMembership") && !g.OnPremisesSyncEnabled {
			direct++
		}
	}
	for k := 0; direct < benchGroups; k++ {
		t.Groups = append(t.Groups, demo.Group{ID: fmt.Sprintf("0b0e5e00-0000-4000-8000-%012d", k+1),
			DisplayName: fmt.Sprintf("Project %02d", k+1), MailNickname: fmt.Sprintf("project-%02d", k+1),
			SecurityEnabled: true, MemberIDs: []string{p.ID}, CreatedDateTime: t.Created})
		direct++
	}
	for _, sku := range []string{demo.SKUEMSE3, demo.SKUPowerBIPro} {
		if !slices.Contains(p.Licenses, sku) {
			p.Licenses = append(p.Licenses, sku)
			for j := range t.SKUs {
				if t.SKUs[j].ID == sku {
					t.SKUs[j].PrepaidUnits++
				}
			}
		}
	}
	var next int64
	for _, u := range t.Ads.Users {
		next = max(next, u.ID+1)
	}
	t.Ads.Users = append(t.Ads.Users, demo.AdsUser{ID: next, UserName: secondAdsUserNm, Email: p.Mail,
		FirstName: p.GivenName, LastName: p.Surname, JobTitle: "Agency seat", Lcid: "EnglishUS", Status: "Active",
		Roles: []demo.AdsRole{{RoleID: demo.RoleViewer}}, LastChanged: t.Created})
	return t, p.ID
}

func BenchmarkOffboardOnePerson(b *testing.B) {
	for _, mode := range []string{"disk", "memory"} {
		b.Run("journal="+mode, func(b *testing.B) { benchOnePerson(b, mode) })
	}
}

func benchOnePerson(b *testing.B, journal string) {
	var total, exec, verify time.Duration
	var graphReqs, adsReqs uint64
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		ctx, cancel := context.WithCancel(context.Background())
		tenant, _ := heavyLeaver(b)
		sb, err := sandbox.Start(ctx, sandbox.Options{Tenant: tenant, Chaos: chaos.Config{Latency: benchLatency}})
		if err != nil {
			b.Fatal(err)
		}
		cl, err := connect.Build(connect.Settings{
			AuthorityURL: sb.AuthorityURL, GraphURL: sb.GraphURL, AdsURL: sb.AdsURL,
			TenantID: sb.TenantID, ClientID: sb.ClientID, ClientSecret: sb.ClientSecret,
			AdsClientID: sb.ClientID, AdsClientSecret: sb.ClientSecret,
			AdsDeveloperToken: sb.AdsDeveloperToken, AdsRefreshToken: sb.AdsRefreshToken,
		}, true, true, &redact.Redactor{}, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		var j *offboard.Journal
		if journal == "disk" {
			j, err = offboard.Open(ctx, b.TempDir())
		} else {
			j, err = offboard.OpenMemory(ctx)
		}
		if err != nil {
			b.Fatal(err)
		}
		// Tokens and connections are warmed outside the measurement: one read per system.
		if _, err := cl.Graph.GetUser(ctx, "alex.wilber@contoso.example", "id"); err != nil {
			b.Fatal(err)
		}
		if _, _, err := cl.Ads.GetUser(ctx, 0); err != nil {
			b.Fatal(err)
		}
		var adsUsers []offboard.AdsUser
		for _, u := range tenant.Ads.Users {
			if u.UserName == benchUPN || u.UserName == secondAdsUserNm {
				adsUsers = append(adsUsers, offboard.AdsUser{CustomerID: tenant.Ads.ID, ID: u.ID, UserName: u.UserName})
			}
		}
		if len(adsUsers) != 2 {
			b.Fatalf("want 2 Ads users, have %v", adsUsers)
		}
		eng := &offboard.Engine{Graph: cl.Graph, Ads: cl.Ads, Journal: j}
		before := sb.Chaos.Stats()
		b.StartTimer()

		start := time.Now()
		u, err := cl.Graph.GetUser(ctx, benchUPN, offboard.UserFields...)
		if err != nil {
			b.Fatal(err)
		}
		steps, err := eng.Plan(ctx, offboard.Person{Entra: u, Ads: adsUsers}, offboard.Defaults())
		if err != nil {
			b.Fatal(err)
		}
		run := offboard.Run{ID: offboard.RunID(benchUPN, fmt.Sprint("BENCH-", n)), PersonKey: benchUPN, Person: benchUPN,
			Ticket: fmt.Sprint("BENCH-", n), Options: offboard.Defaults()}
		if _, err := j.Begin(ctx, run, steps); err != nil {
			b.Fatal(err)
		}
		execStart := time.Now()
		done, err := eng.Execute(ctx, run.ID)
		if err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		checks := eng.Verify(ctx, done)
		verifyEnd := time.Now()

		b.StopTimer()
		total += end.Sub(start)
		exec += end.Sub(execStart)
		verify += verifyEnd.Sub(end)
		after := sb.Chaos.Stats()
		graphReqs += after[chaos.ServiceGraph].Requests - before[chaos.ServiceGraph].Requests
		adsReqs += after[chaos.ServiceAds].Requests - before[chaos.ServiceAds].Requests
		kinds := map[string]int{}
		for _, s := range done.Steps {
			kinds[s.Kind]++
			if s.Status != offboard.StatusDone {
				b.Errorf("step %s: %s (%s)", s.Key, s.Status, s.Detail)
			}
		}
		if done.Status != offboard.StatusDone || kinds[offboard.KindGroup] != benchGroups || kinds[offboard.KindAdsDeact] != 2 {
			b.Fatalf("run %s, steps by kind %v", done.Status, kinds)
		}
		for _, c := range checks {
			if c.Result != "PASS" {
				b.Errorf("verification %s %s: %s", c.Check, c.Target, c.Detail)
			}
		}
		if n == 0 {
			b.Logf("journal=%s: %d steps %v; plan+execute %v (execute %v), verify %v", journal, len(done.Steps), kinds,
				end.Sub(start).Round(time.Millisecond), end.Sub(execStart).Round(time.Millisecond), verifyEnd.Sub(end).Round(time.Millisecond))
		}
		_ = j.Close()
		cancel()
		_ = sb.Close()
		b.StartTimer()
	}
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	critical := float64(criticalRTs * benchLatency.Milliseconds())
	b.ReportMetric(per(total), "ms/run")
	b.ReportMetric(per(exec), "execute_ms")
	b.ReportMetric(per(verify), "verify_ms")
	b.ReportMetric(criticalRTs, "critical_rts")
	b.ReportMetric(critical, "critical_ms")
	b.ReportMetric(per(total)/critical, "ratio")
	b.ReportMetric(float64(verifyRTs*benchLatency.Milliseconds()), "verify_critical_ms")
	b.ReportMetric(float64(runbookRTs*benchLatency.Milliseconds()), "runbook_ms")
	b.ReportMetric(float64(graphReqs)/float64(b.N), "graph_reqs")
	b.ReportMetric(float64(adsReqs)/float64(b.N), "ads_reqs")
}
