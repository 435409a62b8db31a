package connect

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/clients/redact"
	"github.com/msidm/msidm/sandbox"
	"github.com/msidm/msidm/sandbox/chaos"
)

// startFaulty starts the sandbox with injected faults and builds the real clients against it.
func startFaulty(t *testing.T, cfg chaos.Config) (*sandbox.Sandbox, *Clients) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := Build(Settings{AuthorityURL: sb.AuthorityURL, GraphURL: sb.GraphURL, AdsURL: sb.AdsURL,
		TenantID: sb.TenantID, ClientID: sb.ClientID, ClientSecret: sb.ClientSecret,
		AdsClientID: sb.ClientID, AdsClientSecret: sb.ClientSecret,
		AdsDeveloperToken: sb.AdsDeveloperToken, AdsRefreshToken: sb.AdsRefreshToken}, true, true, &redact.Redactor{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Warm the token caches before faults start, so only Graph and Ads calls meet them.
	if err := cl.Check(ctx, Settings{}, &redact.Redactor{}); err != nil {
		t.Fatal(err)
	}
	if err := sb.Chaos.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return sb, cl
}

// TestReadsCompleteUnderInjectedFaults: with 30% of Graph and Customer Management requests
// answered 429 or 503 (Retry-After 1 s), every read still completes, through the shared
// transport (Graph) and the Ads client's own retries.
func TestReadsCompleteUnderInjectedFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Retry-After")
	}
	sb, cl := startFaulty(t, chaos.Config{FaultRate: 0.3, FaultStatuses: []int{429, 503}, Seed: 7,
		RetryAfter: time.Second, Services: []string{chaos.ServiceGraph}})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			if i%2 == 0 {
				_, errs[i] = cl.Graph.GetUser(ctx, "megan.bowen@contoso.example", "id")
			} else {
				_, errs[i] = cl.Graph.UsersPage(ctx, cl.Graph.UsersURL(graph.ListUsersOptions{Top: 10}), nil)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	st := sb.Chaos.Stats()[chaos.ServiceGraph]
	if st.Injected[429]+st.Injected[503] == 0 {
		t.Fatalf("no faults were injected: %+v", st)
	}
	t.Logf("graph: %d requests, %d injected faults, all 40 reads completed", st.Requests, st.Injected[429]+st.Injected[503])
}

// TestNonIdempotentPostIsNotRetriedOn503: creating a user is a POST; a 503 may have arrived
// after the service acted, so it must surface instead of being resent.
func TestNonIdempotentPostIsNotRetriedOn503(t *testing.T) {
	sb, cl := startFaulty(t, chaos.Config{FaultRate: 1, FaultStatuses: []int{503}, Services: []string{chaos.ServiceGraph}})
	_, err := cl.Graph.CreateUser(context.Background(), map[string]any{"accountEnabled": true, "displayName": "X",
		"mailNickname": "x", "userPrincipalName": "x@contoso.example",
		"passwordProfile": map[string]any{"password": "Xx1!xxxxxxxx"}})
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.StatusCode != 503 {
		t.Fatalf("want the 503, got %v", err)
	}
	if n := sb.Chaos.Stats()[chaos.ServiceGraph].Requests; n != 1 {
		t.Fatalf("the POST was sent %d times, want once", n)
	}
}

// TestRetryAfterIsHonoured: a throttled read waits at least the announced Retry-After.
func TestRetryAfterIsHonoured(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Retry-After")
	}
	sb, cl := startFaulty(t, chaos.Config{ThrottleBudget: 2, ThrottleWindow: 2 * time.Second, RetryAfter: time.Second,
		Services: []string{chaos.ServiceGraph}})
	ctx := context.Background()
	start := time.Now()
	for range 4 { // the third and fourth reads exhaust the budget of 2 units per 2 s
		if _, err := cl.Graph.UsersPage(ctx, cl.Graph.UsersURL(graph.ListUsersOptions{Top: 1, Select: []string{"id"}}), nil); err != nil {
			t.Fatal(err)
		}
	}
	st := sb.Chaos.Stats()[chaos.ServiceGraph]
	if st.Throttled == 0 {
		t.Fatalf("nothing was throttled: %+v", st)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("4 reads with %d throttled answers took %v: Retry-After was not honoured", st.Throttled, took)
	}
}
