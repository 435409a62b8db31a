package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/graphemu"
	"github.com/msidm/msidm/sandbox/token"
)

// bearer adds the sandbox token (and optional extra headers) to every request, as the
// oauth2 transport does in production.
type bearer struct {
	tok   string
	extra http.Header
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.tok)
	for k, v := range b.extra {
		r.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestDeltaAgainstSandbox drives Delta and DeltaPageAt against the Graph emulator: a paged
// initial round, an incremental round with an update and a soft delete, $deltatoken=latest,
// and an expired deltaLink in both shapes the emulator can answer with.
func TestDeltaAgainstSandbox(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	signer := token.NewSigner(nil)
	tenant := demo.Demo()
	emu := graphemu.New(graphemu.Options{Signer: signer, Tenant: tenant, Now: now})
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	tok := signer.Mint(token.Claims{Audience: token.AudienceGraph, TenantID: tenant.ID, AppID: "app",
		Roles: []string{"User.ReadWrite.All", "Directory.ReadWrite.All"}}, time.Hour)
	hc := &http.Client{Transport: bearer{tok: tok, extra: http.Header{"Prefer": {"odata.maxpagesize=10"}}}}
	c, err := New(ts.URL, hc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	round := func(link string) (map[string]DeltaChange, int, string) {
		t.Helper()
		got := map[string]DeltaChange{}
		pages, deltaLink := 0, ""
		for p, err := range c.Delta(ctx, link) {
			if err != nil {
				t.Fatalf("delta: %v", err)
			}
			pages++
			if (p.NextLink == "") == (p.DeltaLink == "") {
				t.Fatalf("page %d: next %q delta %q", pages, p.NextLink, p.DeltaLink)
			}
			for _, ch := range p.Changes {
				if _, dup := got[ch.ID]; dup {
					t.Errorf("%s twice in one round", ch.ID)
				}
				got[ch.ID] = ch
			}
			deltaLink = p.DeltaLink
		}
		return got, pages, deltaLink
	}

	var live, softDeleted int
	var adele, alex demo.Person
	for _, p := range tenant.People {
		if p.SoftDeleted {
			softDeleted++
		} else {
			live++
		}
		switch p.DisplayName {
		case "Adele Vance":
			adele = p
		case "Alex Wilber":
			alex = p
		}
	}
	initial, pages, link := round(c.DeltaURL(DeltaOptions{Select: []string{"displayName", "jobTitle"}}))
	upserts, removed := 0, 0
	for _, ch := range initial {
		switch ch.Removed {
		case "":
			upserts++
			if _, ok := ch.Props["jobTitle"]; !ok || len(ch.Props) != 3 {
				t.Errorf("selected props of %s: %v", ch.ID, ch.Props)
			}
		case "changed":
			removed++
		default:
			t.Errorf("initial %s removed %q", ch.ID, ch.Removed)
		}
	}
	if upserts != live || removed != softDeleted || pages != (live+softDeleted+9)/10 || link == "" {
		t.Fatalf("initial round: %d upserts, %d removed, %d pages; want %d, %d", upserts, removed, pages, live, softDeleted)
	}

	if err := c.UpdateUser(ctx, adele.ID, map[string]any{"jobTitle": "Delta tester"}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateUser(ctx, alex.ID, map[string]any{"officeLocation": "untracked"}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, alex.ID); err != nil {
		t.Fatal(err)
	}
	changes, _, next := round(link)
	if len(changes) != 2 || string(changes[adele.ID].Props["jobTitle"]) != `"Delta tester"` || changes[alex.ID].Removed != "changed" {
		t.Errorf("incremental round: %+v", changes)
	}
	if again, _, _ := round(next); len(again) != 0 {
		t.Errorf("no-change round: %+v", again)
	}

	latest, err := c.DeltaPageAt(ctx, c.DeltaURL(DeltaOptions{Latest: true}))
	if err != nil || len(latest.Changes) != 0 || latest.DeltaLink == "" || latest.NextLink != "" {
		t.Fatalf("latest: %+v %v", latest, err)
	}

	for _, shape := range []struct {
		name   string
		status int
	}{{"400", http.StatusBadRequest}, {"410", http.StatusGone}} {
		emu.SetDeltaExpiredShape(shape.name)
		fresh, err := c.DeltaPageAt(ctx, c.DeltaURL(DeltaOptions{Latest: true}))
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(int64(7*24*time.Hour + time.Minute)) // past the default 7-day lifetime
		_, err = c.DeltaPageAt(ctx, fresh.DeltaLink)
		var ge *Error
		if !DeltaTokenExpired(err) || !errors.As(err, &ge) || ge.StatusCode != shape.status {
			t.Errorf("shape %s: expired token gave %v", shape.name, err)
		}
	}
	if _, err := c.DeltaPageAt(ctx, ts.URL+"/v1.0/users/delta?$deltatoken=garbled"); err == nil || DeltaTokenExpired(err) {
		t.Errorf("garbled token: %v (must be a plain 400, not an expiry)", err)
	}
}
