package graphemu

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestChangeLogExactlyOnce: each successful write appends exactly the entries of its kind;
// refused writes and reads append nothing.
func TestChangeLogExactlyOnce(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance")
	alex := person(t, f.tenant, "Alex Wilber")
	greta := person(t, f.tenant, "Greta Holm")
	marketing := groupNamed(t, f.tenant, "Marketing Department")
	sales := groupNamed(t, f.tenant, "Sales (dynamic)")
	aiko := person(t, f.tenant, "Aiko Tanaka")
	ref := func(id string) map[string]any {
		return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + id}
	}
	var created string
	steps := []struct {
		name, method, path string
		body               any
		want               []string // "type:kind" per entry
	}{
		{"create", "POST", "/users", newUserBody("log.me@contoso.example"), []string{"user:upsert"}},
		{"patch", "PATCH", "/users/" + adele.ID, map[string]any{"jobTitle": "x"}, []string{"user:upsert"}},
		{"refused patch", "PATCH", "/users/" + adele.ID, map[string]any{"displayName": ""}, nil},
		{"read", "GET", "/users/" + adele.ID, nil, nil},
		{"licence", "POST", "/users/" + adele.ID + "/assignLicense", map[string]any{"addLicenses": []any{}, "removeLicenses": []any{}}, []string{"user:upsert"}},
		{"revoke", "POST", "/users/" + adele.ID + "/revokeSignInSessions", nil, []string{"user:upsert"}},
		{"manager put", "PUT", "/users/" + adele.ID + "/manager/$ref", ref(alex.ID), []string{"user:upsert"}},
		{"manager delete", "DELETE", "/users/" + adele.ID + "/manager/$ref", nil, []string{"user:upsert"}},
		{"member add", "POST", "/groups/" + marketing.ID + "/members/$ref", ref(aiko.ID), []string{"group:upsert"}},
		{"member add refused", "POST", "/groups/" + sales.ID + "/members/$ref", ref(aiko.ID), nil},
		{"member remove", "DELETE", "/groups/" + marketing.ID + "/members/" + aiko.ID + "/$ref", nil, []string{"group:upsert"}},
		{"delete", "DELETE", "/users/" + adele.ID, nil, []string{"user:softDeleted"}},
		{"restore", "POST", "/directory/deletedItems/" + adele.ID + "/restore", nil, []string{"user:upsert"}},
		{"permanent delete", "DELETE", "/directory/deletedItems/" + greta.ID, nil, []string{"user:deleted", "group:upsert"}},
	}
	for _, st := range steps {
		before := f.srv.changeLog()
		r := f.send(st.method, "/v1.0"+st.path, st.body)
		if st.name == "create" {
			created = r.body["id"].(string)
		}
		after := f.srv.changeLog()
		var got []string
		for i, c := range after[len(before):] {
			got = append(got, c.objectType+":"+c.kind)
			if c.seq != uint64(len(before)+i+1) || !c.at.Equal(f.clock.now()) {
				t.Errorf("%s: entry %+v", st.name, c)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Errorf("%s (%d): entries %v, want %v", st.name, r.status, got, st.want)
		}
	}
	if log := f.srv.changeLog(); log[0].objectID != created {
		t.Errorf("first entry %+v, want the created user", log[0])
	}
}

// TestConcurrentWrites drives reads and writes from many goroutines (run with -race): every
// write lands exactly once in the change log, and licence accounting stays exact.
func TestConcurrentWrites(t *testing.T) {
	f := newWriteFixture(t)
	f.srv.SetSyncDelay(time.Millisecond)
	marketing := groupNamed(t, f.tenant, "Marketing Department")
	const workers, each = 8, 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				upn := fmt.Sprintf("c%d.%d@contoso.example", w, i)
				r := f.send(http.MethodPost, "/v1.0/users", newUserBody(upn))
				if r.status != 201 {
					t.Errorf("create %s: %d", upn, r.status)
					return
				}
				id := r.body["id"].(string)
				f.send(http.MethodPatch, "/v1.0/users/"+id, map[string]any{"usageLocation": "US"})
				f.send(http.MethodPost, "/v1.0/groups/"+marketing.ID+"/members/$ref",
					map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + id})
				f.get("/v1.0/users?$top=50&$filter=" + urlq("startswith(displayName,'R')"))
				f.get("/v1.0/users/" + id + "/transitiveMemberOf")
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(ids) != workers*each {
		t.Fatalf("%d users created", len(ids))
	}
	per := map[string]int{}
	for _, c := range f.srv.changeLog() {
		per[c.objectID]++
	}
	for _, id := range ids {
		if per[id] != 2 { // create + patch
			t.Errorf("user %s: %d entries, want 2", id, per[id])
		}
	}
	if per[marketing.ID] != workers*each {
		t.Errorf("group entries %d, want %d", per[marketing.ID], workers*each)
	}
	log := f.srv.changeLog()
	for i, c := range log {
		if c.seq != uint64(i+1) {
			t.Fatalf("seq %d at %d", c.seq, i)
		}
	}
}
