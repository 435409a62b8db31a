package snapshot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/msidm/msidm/clients/graph"
)

// TestSnapshotHandwrittenPages drives the store with delta pages shaped like the documented
// samples (NOTES §2): an initial round with an @removed "deleted" entry, then a deltaLink
// round with a sparse patch, a replay, a soft delete and a permanent delete.
func TestSnapshotHandwrittenPages(t *testing.T) {
	pages := map[string]string{
		"": `{"@odata.nextLink":"BASE/users/delta?$skiptoken=p2","value":[
			{"id":"u1","userPrincipalName":"a@x.example","accountEnabled":true,"displayName":"A"},
			{"id":"gone","@removed":{"reason":"deleted"}}]}`,
		"$skiptoken=p2": `{"@odata.deltaLink":"BASE/users/delta?$deltatoken=d1","value":[
			{"id":"u2","userPrincipalName":"b@x.example","accountEnabled":true,"displayName":"B"}]}`,
		"$deltatoken=d1": `{"@odata.deltaLink":"BASE/users/delta?$deltatoken=d2","value":[
			{"id":"u1","accountEnabled":false},
			{"id":"u1","accountEnabled":false},
			{"id":"u2","@removed":{"reason":"changed"}},
			{"id":"u3","userPrincipalName":"c@x.example","@odata.type":"#microsoft.graph.user"}]}`,
		"$deltatoken=d2": `{"@odata.deltaLink":"BASE/users/delta?$deltatoken=d3","value":[
			{"id":"u2","@removed":{"reason":"deleted"}},
			{"id":"u1","displayName":null}]}`,
		"$deltatoken=d3": `{"error":{"code":"syncStateNotFound","message":"The sync state generation is not found."}}`,
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.RawQuery
		if r.URL.Query().Get("$select") != "" {
			q = ""
		}
		body, ok := pages[q]
		if !ok {
			http.Error(w, `{"error":{"code":"NotFound","message":"`+q+`"}}`, 404)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if q == "$deltatoken=d3" {
			w.WriteHeader(http.StatusBadRequest)
			pages["$deltatoken=d3"] = pages[""] // the resync reads the initial round again
		}
		_, _ = w.Write([]byte(replaceBase(body, srv.URL+"/v1.0")))
	}))
	defer srv.Close()
	gc, err := graph.New(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := Open(ctx, t.TempDir(), Options{Tenant: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	y := &Syncer{Store: st, Graph: gc}
	kinds := func(since int64) []string {
		ch, _, err := st.Changes(ctx, EntraScope("t", nil), since, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range ch {
			out = append(out, c.Kind+" "+c.ObjectID)
		}
		return out
	}
	r1, err := y.SyncEntra(ctx, EntraOptions{})
	if err != nil || r1.Pages != 2 || r1.Counts[KindBaseline] != 2 || r1.Users != 2 {
		t.Fatalf("initial round: %+v %v", r1, err)
	}
	r2, err := y.SyncEntra(ctx, EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, "round 2", kinds(r2.Since), []string{"disabled u1", "soft_deleted u2", "created u3"})
	r3, err := y.SyncEntra(ctx, EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, "round 3", kinds(r3.Since), []string{"deleted u2", "updated u1"})
	// d3 is refused: a full resync reads u1 and u2 again; u3 was not reported and is gone,
	// u2 comes back as created, u1 changes back to its initial values.
	r4, err := y.SyncEntra(ctx, EntraOptions{})
	if err != nil || r4.Resynced == "" {
		t.Fatalf("resync: %+v %v", r4, err)
	}
	sameSet(t, "resync", kinds(r4.Since), []string{"deleted u3", "created u2", "enabled u1"})
}

func replaceBase(s, base string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		if i+4 <= len(s) && s[i:i+4] == "BASE" {
			out = append(out, base...)
			i += 3
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}
