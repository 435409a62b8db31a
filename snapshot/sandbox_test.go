package snapshot

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/clients/auth"
	"github.com/msidm/msidm/clients/connect"
	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/sandbox"
	"github.com/msidm/msidm/sandbox/demo"
)

// pageSize adds Prefer: odata.maxpagesize to every request when n > 0, so the emulator's
// small pages exercise the between-pages paths.
type pageSize struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (p *pageSize) RoundTrip(r *http.Request) (*http.Response, error) {
	if n := p.n.Load(); n > 0 {
		r = r.Clone(r.Context())
		r.Header.Set("Prefer", "odata.maxpagesize="+strconv.FormatInt(n, 10))
	}
	return p.base.RoundTrip(r)
}

type sbEnv struct {
	sb    *sandbox.Sandbox
	graph *graph.Client
	ads   ads.Service
	store *Store
	y     *Syncer
	page  *pageSize
}

func newSandbox(t testing.TB, tenant *demo.Tenant) *sbEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	src := auth.GraphTokenSource(http.DefaultClient, auth.AppCredentials{AuthorityURL: sb.AuthorityURL, TenantID: sb.TenantID,
		ClientID: sb.ClientID, ClientSecret: sb.ClientSecret, GraphURL: sb.GraphURL})
	ps := &pageSize{base: http.DefaultTransport}
	gc, err := graph.New(sb.GraphURL, &http.Client{Transport: &oauth2.Transport{Source: src, Base: ps}})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := connect.Build(connect.Settings{AuthorityURL: sb.AuthorityURL, GraphURL: sb.GraphURL, AdsURL: sb.AdsURL,
		TenantID: sb.TenantID, ClientID: sb.ClientID, ClientSecret: sb.ClientSecret,
		AdsClientID: sb.ClientID, AdsClientSecret: sb.ClientSecret,
		AdsDeveloperToken: sb.AdsDeveloperToken, AdsRefreshToken: sb.AdsRefreshToken}, false, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, t.TempDir(), Options{Tenant: sb.TenantID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &sbEnv{sb: sb, graph: gc, ads: cl.Ads, store: st, y: &Syncer{Store: st, Graph: gc, Ads: cl.Ads}, page: ps}
}

func (e *sbEnv) person(t testing.TB, upn string) demo.Person {
	t.Helper()
	for _, p := range e.sb.Tenant.People {
		if p.UserPrincipalName == upn {
			return p
		}
	}
	t.Fatalf("no demo person %s", upn)
	return demo.Person{}
}

// changesOf returns every change of scope after since as "kind id" strings.
func (e *sbEnv) changesOf(t testing.TB, scope string, since int64) []string {
	t.Helper()
	ch, _, err := e.store.Changes(context.Background(), scope, since, 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, c := range ch {
		out = append(out, c.Kind+" "+c.ObjectID)
	}
	return out
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	m := map[string]int{}
	for _, g := range got {
		m[g]++
	}
	for _, w := range want {
		m[w]--
	}
	for k, v := range m {
		if v != 0 {
			t.Errorf("%s: %q appears %+d times too often\n got  %v\n want %v", what, k, v, got, want)
		}
	}
}

func TestSnapshotEntraBaselineThenEachChangeOnce(t *testing.T) {
	ctx := t.Context()
	e := newSandbox(t, nil)
	res, err := e.y.SyncEntra(ctx, EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || !res.Full || res.Counts[KindBaseline] != len(e.sb.Tenant.People) || len(res.Counts) != 1 {
		t.Fatalf("first sync: %+v, want a complete baseline of %d users", res, len(e.sb.Tenant.People))
	}
	if got := e.changesOf(t, res.Scope, 0); len(got) != 0 {
		t.Fatalf("a baseline logs no per-user changes, got %v", got)
	}

	adele := e.person(t, "adele.vance@contoso.example")
	diego := e.person(t, "diego.siciliani@contoso.example")
	nestor := e.person(t, "nestor.wilke@contoso.example")
	lee := e.person(t, "lee.gu@contoso.example")
	must(t, e.graph.SetAccountEnabled(ctx, adele.ID, false))
	must(t, e.graph.UpdateUser(ctx, diego.ID, map[string]any{"displayName": "Diego S."}))
	must(t, e.graph.UpdateUser(ctx, diego.ID, map[string]any{"displayName": "Diego Siciliani-Ruiz"})) // coalesced by Graph
	must(t, e.graph.UpdateUser(ctx, lee.ID, map[string]any{"jobTitle": "Untracked"}))                 // not in $select: not reported
	must(t, e.graph.DeleteUser(ctx, nestor.ID))
	created, err := e.graph.CreateUser(ctx, map[string]any{"accountEnabled": true, "displayName": "New Hire",
		"mailNickname": "new.hire", "userPrincipalName": "new.hire@contoso.example",
		"passwordProfile": map[string]any{"password": "Sandbox-Passw0rd!", "forceChangePasswordNextSignIn": true}})
	if err != nil {
		t.Fatal(err)
	}

	res2, err := e.y.SyncEntra(ctx, EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{KindDisabled + " " + adele.ID, KindUpdated + " " + diego.ID, KindSoftDeleted + " " + nestor.ID, KindCreated + " " + created.ID}
	sameSet(t, "second sync", e.changesOf(t, res.Scope, res2.Since), want)
	if res2.Full || res2.Counts[KindDisabled] != 1 || res2.Counts[KindCreated] != 1 {
		t.Errorf("second sync result %+v", res2)
	}
	ch, _, _ := e.store.Changes(ctx, res.Scope, res2.Since, 10)
	for _, c := range ch {
		if c.ObjectID == diego.ID && c.Detail != `displayName: "Diego Siciliani" -> "Diego Siciliani-Ruiz"` {
			t.Errorf("update detail %q", c.Detail)
		}
	}

	// Nothing changed: nothing logged. A restore is logged as restored.
	res3, err := e.y.SyncEntra(ctx, EntraOptions{})
	if err != nil || len(res3.Counts) != 0 {
		t.Fatalf("idle sync: %+v %v", res3, err)
	}
	if _, err := e.graph.RestoreDeleted(ctx, nestor.ID); err != nil {
		t.Fatal(err)
	}
	res4, err := e.y.SyncEntra(ctx, EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, "after restore", e.changesOf(t, res.Scope, res4.Since), []string{KindRestored + " " + nestor.ID})
}

func TestSnapshotEntraCrashBetweenPagesLosesAndRepeatsNothing(t *testing.T) {
	ctx := t.Context()
	e := newSandbox(t, nil)
	e.page.n.Store(7)
	crash := errors.New("crash")
	stopAt := func(n int) func(int) error {
		return func(p int) error {
			if p == n {
				return crash
			}
			return nil
		}
	}
	// The baseline is interrupted twice, then finishes.
	if _, err := e.y.SyncEntra(ctx, EntraOptions{AfterPage: stopAt(1)}); !errors.Is(err, crash) {
		t.Fatalf("want the crash, got %v", err)
	}
	if _, err := e.y.SyncEntra(ctx, EntraOptions{AfterPage: stopAt(2)}); !errors.Is(err, crash) {
		t.Fatalf("want the crash, got %v", err)
	}
	res, err := e.y.SyncEntra(ctx, EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || !res.Complete || res.Users != len(e.sb.Tenant.People) {
		t.Fatalf("resumed baseline: %+v, want %d users", res, len(e.sb.Tenant.People))
	}

	// An incremental round of one user per page, cancelled after its first page.
	var ids []string
	for _, upn := range []string{"adele.vance@contoso.example", "lee.gu@contoso.example", "joni.sherman@contoso.example", "nora.keller@contoso.example"} {
		p := e.person(t, upn)
		ids = append(ids, KindDisabled+" "+p.ID)
		must(t, e.graph.SetAccountEnabled(ctx, p.ID, false))
	}
	e.page.n.Store(1)
	cctx, cancel := context.WithCancel(ctx)
	_, err = e.y.SyncEntra(cctx, EntraOptions{AfterPage: func(int) error { cancel(); return nil }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want cancellation, got %v", err)
	}
	if got := e.changesOf(t, res.Scope, res.Since); len(got) != 1 {
		t.Fatalf("after the cancelled first page the log holds %v, want exactly one change", got)
	}
	// A crash after the second page, then the rest.
	if _, err := e.y.SyncEntra(ctx, EntraOptions{AfterPage: stopAt(1)}); !errors.Is(err, crash) {
		t.Fatalf("want the crash, got %v", err)
	}
	last, err := e.y.SyncEntra(ctx, EntraOptions{})
	if err != nil || !last.Resumed {
		t.Fatalf("resume: %+v %v", last, err)
	}
	sameSet(t, "incremental round across a cancel and a crash", e.changesOf(t, res.Scope, res.Since), ids)
}

func TestSnapshotEntraExpiredTokenResyncs(t *testing.T) {
	for _, shape := range []string{"400", "410"} {
		t.Run(shape, func(t *testing.T) {
			ctx := t.Context()
			e := newSandbox(t, nil)
			e.sb.Graph.SetDeltaExpiredShape(shape)
			res, err := e.y.SyncEntra(ctx, EntraOptions{})
			if err != nil {
				t.Fatal(err)
			}
			oscar := e.person(t, "oscar.lindqvist@contoso.example")
			adele := e.person(t, "adele.vance@contoso.example")
			wendy := e.person(t, "wendy.cho@contoso.example") // soft-deleted in the demo
			must(t, e.graph.SetAccountEnabled(ctx, oscar.ID, true))
			must(t, e.graph.UpdateUser(ctx, adele.ID, map[string]any{"displayName": "Adele V."}))
			must(t, e.graph.PermanentlyDelete(ctx, wendy.ID))
			e.sb.Graph.SetDeltaTokenMaxAge(time.Nanosecond)
			time.Sleep(time.Millisecond)
			// The expired deltaLink is refused; the syncer reads everything once more and logs
			// exactly the differences, including the user that disappeared meanwhile.
			res2, err := e.y.SyncEntra(ctx, EntraOptions{})
			e.sb.Graph.SetDeltaTokenMaxAge(0)
			if err != nil {
				t.Fatal(err)
			}
			if res2.Resynced == "" || !res2.Full || !res2.Complete {
				t.Fatalf("want a reported full resync, got %+v", res2)
			}
			sameSet(t, "resync", e.changesOf(t, res.Scope, res2.Since), []string{
				KindEnabled + " " + oscar.ID, KindUpdated + " " + adele.ID, KindDeleted + " " + wendy.ID})
			res3, err := e.y.SyncEntra(ctx, EntraOptions{})
			if err != nil || res3.Resynced != "" || len(res3.Counts) != 0 {
				t.Fatalf("after the resync the new deltaLink works: %+v %v", res3, err)
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func adsID(t testing.TB, e *sbEnv, userName string) int64 {
	t.Helper()
	for i, u := range e.sb.Tenant.Ads.Users {
		if u.UserName == userName {
			if u.ID != 0 {
				return u.ID
			}
			return int64(1_600_001 + i)
		}
	}
	t.Fatalf("no Ads user %s", userName)
	return 0
}

func TestSnapshotAdsSyncDiffs(t *testing.T) {
	ctx := t.Context()
	e := newSandbox(t, nil)
	res, err := e.y.SyncAds(ctx, AdsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := len(e.sb.Tenant.Ads.Users) + len(e.sb.Tenant.Ads.Invitations)
	if res.Customers != 1 || res.Counts[KindBaseline] != want || len(res.Errors) != 0 {
		t.Fatalf("first Ads sync: %+v, want a baseline of %d", res, want)
	}
	cust := e.sb.Tenant.Ads.ID
	key := func(kind string, id int64) string {
		return kind + " " + strconv.FormatInt(cust, 10) + "/" + strconv.FormatInt(id, 10)
	}
	newUser, err := e.sb.Ads.AcceptInvitation(7001)
	must(t, err)
	must(t, e.sb.Ads.ExpireInvitation(7002))
	adele := adsID(t, e, "adele.vance@contoso.example")
	_, err = e.ads.UpdateUserRoles(ctx, ads.UserRoleUpdate{CustomerID: cust, UserID: adele, NewRoleID: ads.RoleViewer, DeleteRoleID: ads.RoleStandardUser})
	must(t, err)
	oscar := adsID(t, e, "oscar.lindqvist@contoso.example")
	must(t, e.ads.DeleteUser(ctx, oscar, ""))

	res2, err := e.y.SyncAds(ctx, AdsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, "Ads diff", e.changesOf(t, AdsScope, res2.Since), []string{
		key(KindAdded, newUser), key(KindInvitationAccepted, 7001), key(KindInvitationExpired, 7002),
		key(KindRoleChanged, adele), key(KindStatusChanged, oscar)})
	res3, err := e.y.SyncAds(ctx, AdsOptions{})
	if err != nil || len(res3.Counts) != 0 {
		t.Fatalf("idle Ads sync: %+v %v", res3, err)
	}
}

func TestSnapshotReviewFindsExactlyThePlantedProblems(t *testing.T) {
	ctx := t.Context()
	e := newSandbox(t, nil)
	if _, err := e.y.Review(ctx, ReviewInput{}); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("review without snapshots: %v", err)
	}
	if _, err := e.y.SyncEntra(ctx, EntraOptions{}); err != nil {
		t.Fatal(err)
	}
	var missing *MissingSnapshotError
	if _, err := e.y.Review(ctx, ReviewInput{}); !errors.As(err, &missing) || len(missing.Missing) != 1 {
		t.Fatalf("review without the Ads snapshot: %v", err)
	}
	if _, err := e.y.SyncAds(ctx, AdsOptions{}); err != nil {
		t.Fatal(err)
	}
	rev, err := e.y.Review(ctx, ReviewInput{InvitationDomains: []string{"contoso.example", "fabrikam.example", "northwind.example"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rev.Findings {
		got = append(got, f.Severity+" "+f.Kind+" "+f.Email)
	}
	want := []string{
		"critical super_admin_without_entra agency.owner@contoso.example",
		"high entra_identity_missing former.contractor@contoso.example",
		"high entra_identity_deleted greta.holm@contoso.example",
		"high entra_identity_disabled oscar.lindqvist@contoso.example",
		"medium invitation_outside_allowlist jordan.blake@gmail.example",
		"medium guest_with_ads_role paula.agency@fabrikam.example",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
