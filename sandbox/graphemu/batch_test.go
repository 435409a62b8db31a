package graphemu

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func batchReplies(t *testing.T, r reply) map[string]map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.raw)
	}
	out := map[string]map[string]any{}
	for _, v := range r.body["responses"].([]any) {
		item := v.(map[string]any)
		out[item["id"].(string)] = item
	}
	return out
}

func status(item map[string]any) int { return int(item["status"].(float64)) }

func TestBatch(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance")
	r := f.send(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/users/" + adele.ID + "?$select=id,displayName"},
		map[string]any{"id": "2", "method": "GET", "url": "users?$select=id,displayName,userPrincipalName&$filter=userType ne 'Member'&$count=true",
			"headers": map[string]string{"ConsistencyLevel": "eventual"}},
		map[string]any{"id": "3", "method": "PATCH", "url": "/users/" + adele.ID, "body": map[string]any{"jobTitle": "Batched"},
			"headers": map[string]string{"Content-Type": "application/json"}},
		map[string]any{"id": "4", "method": "GET", "url": "/users/nobody@contoso.example"},
		map[string]any{"id": "5", "method": "POST", "url": "/users/" + adele.ID + "/manager"},
		map[string]any{"id": "6", "method": "GET", "url": "/users/$count", "headers": map[string]string{"ConsistencyLevel": "eventual"}},
		map[string]any{"id": "7", "method": "PATCH", "url": "/users/" + adele.ID, "body": map[string]any{"jobTitle": "x"}},
	}})
	items := batchReplies(t, r)
	t.Run("contract", func(t *testing.T) {
		want := sample(t, "batch-response.json")
		ws := want["responses"].([]any)
		headersOnly := func(m map[string]any) map[string]any {
			return map[string]any{"id": m["id"], "status": m["status"], "headers": m["headers"]}
		}
		compareShape(t, "$.responses[0]", headersOnly(items["1"]), headersOnly(ws[0].(map[string]any)))
		compareShape(t, "$.responses[4]", items["2"], ws[4].(map[string]any))
		compareShape(t, "$.responses[3]", items["5"], ws[3].(map[string]any))
	})
	if status(items["1"]) != 200 || items["1"]["body"].(map[string]any)["displayName"] != "Adele Vance" {
		t.Errorf("item 1: %v", items["1"])
	}
	if b := items["2"]["body"].(map[string]any); status(items["2"]) != 200 || b["@odata.count"] != 5.0 {
		t.Errorf("item 2: %v", items["2"])
	}
	if status(items["3"]) != 204 || items["3"]["body"] != nil {
		t.Errorf("item 3: %v", items["3"])
	}
	if status(items["4"]) != 404 || status(items["5"]) != 405 {
		t.Errorf("items 4, 5: %v %v", items["4"], items["5"])
	}
	if status(items["6"]) != 200 || items["6"]["body"] != strconv.Itoa(len(liveIDs(f.tenant))) {
		t.Errorf("item 6: %v", items["6"])
	}
	if status(items["7"]) != 400 {
		t.Errorf("item 7 (body without Content-Type): %v", items["7"])
	}
	if g := f.send(http.MethodGet, "/v1.0/users/"+adele.ID+"?$select=jobTitle", nil); g.body["jobTitle"] != "Batched" {
		t.Errorf("batched PATCH not applied: %v", g.body)
	}
	if f.srv.Calls("PATCH", "/users/{id}") != 1 || f.srv.Calls("POST", "/$batch") != 1 || f.srv.Calls("GET", "/users/$count") != 1 {
		t.Errorf("calls: PATCH %d, $batch %d, $count %d", f.srv.Calls("PATCH", "/users/{id}"), f.srv.Calls("POST", "/$batch"),
			f.srv.Calls("GET", "/users/$count"))
	}
}

func TestBatchDependsOn(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance")
	// The shape of samples/batch-dependson-request.json: 1 ← 2 ← 4 ← 3, and 2 fails.
	req := sample(t, "batch-dependson-request.json")
	urls := map[string]string{"1": "/users/" + adele.ID, "2": "/users/nobody@contoso.example", "4": "/users/" + adele.ID, "3": "/users/" + adele.ID}
	for _, v := range req["requests"].([]any) {
		it := v.(map[string]any)
		it["url"] = urls[it["id"].(string)]
	}
	items := batchReplies(t, f.send(http.MethodPost, "/v1.0/$batch", req))
	if status(items["1"]) != 200 || status(items["2"]) != 404 || status(items["4"]) != 424 || status(items["3"]) != 424 {
		t.Errorf("statuses 1=%v 2=%v 4=%v 3=%v", items["1"]["status"], items["2"]["status"], items["4"]["status"], items["3"]["status"])
	}
	if e := items["3"]["body"].(map[string]any)["error"].(map[string]any); e["code"] != "FailedDependency" {
		t.Errorf("424 body: %v", e)
	}
	if got := f.srv.Calls("GET", "/users/{id}"); got != 2 {
		t.Errorf("items run = %d, want 2 (dependents of a failure must not run)", got)
	}
	// Order: a dependent runs after its dependency even when listed first.
	r := f.send(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "b", "dependsOn": []string{"a"}, "method": "GET", "url": "/users/new.hire@contoso.example?$select=id"},
		map[string]any{"id": "a", "method": "POST", "url": "/users", "body": newUserBody("new.hire@contoso.example"),
			"headers": map[string]string{"Content-Type": "application/json"}},
	}})
	if items := batchReplies(t, r); status(items["a"]) != 201 || status(items["b"]) != 200 {
		t.Errorf("ordered: a=%v b=%v", items["a"]["status"], items["b"]["status"])
	}
}

func TestBatchErrors(t *testing.T) {
	f := newWriteFixture(t)
	many := func(n int) map[string]any {
		var rs []any
		for i := range n {
			rs = append(rs, map[string]any{"id": strconv.Itoa(i + 1), "method": "GET", "url": "/users?$top=1"})
		}
		return map[string]any{"requests": rs}
	}
	if items := batchReplies(t, f.send(http.MethodPost, "/v1.0/$batch", many(20))); len(items) != 20 {
		t.Errorf("20 items: %d replies", len(items))
	}
	before := f.srv.Calls("GET", "/users")
	tests := []struct {
		name string
		body any
	}{
		{"21 items", many(21)},
		{"empty", map[string]any{"requests": []any{}}},
		{"not JSON", "{"},
		{"duplicate ids", map[string]any{"requests": []any{
			map[string]any{"id": "1", "method": "GET", "url": "/users"}, map[string]any{"id": "1", "method": "GET", "url": "/users"}}}},
		{"unknown dependency", map[string]any{"requests": []any{
			map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"9"}}}}},
		{"cycle", map[string]any{"requests": []any{
			map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}},
			map[string]any{"id": "2", "method": "GET", "url": "/users", "dependsOn": []string{"1"}}}}},
		{"missing url", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, f.send(http.MethodPost, "/v1.0/$batch", tc.body), 400, "BadRequest", "")
		})
	}
	if got := f.srv.Calls("GET", "/users"); got != before {
		t.Errorf("a refused batch ran %d items", got-before)
	}
	items := batchReplies(t, f.send(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "POST", "url": "/$batch", "body": map[string]any{}, "headers": map[string]string{"Content-Type": "application/json"}},
		map[string]any{"id": "2", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"},
	}}))
	if status(items["1"]) != 400 || status(items["2"]) != 400 {
		t.Errorf("nested/absolute: %v %v", items["1"], items["2"])
	}
	// Items carry the batch's token: a read-only token cannot write through a batch.
	f.token = f.mint("User.Read.All")
	items = batchReplies(t, f.send(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "DELETE", "url": "/users/" + person(t, f.tenant, "Adele Vance").ID}}}))
	if status(items["1"]) != 403 {
		t.Errorf("read-only token: %v", items["1"])
	}
}

// TestBatchItemHook: a fault layer throttles single items; they get 429 with Retry-After
// inside the item (samples/batch-response-item-429.CONSTRUCTED.json) and never run.
func TestBatchItemHook(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance")
	var seen []string
	f.srv.BatchItemHook = func(method, url string) (int, string, bool) {
		seen = append(seen, method+" "+url)
		return 429, "10", strings.HasPrefix(url, "/users/"+adele.ID)
	}
	items := batchReplies(t, f.send(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "PATCH", "url": "/users/" + adele.ID, "body": map[string]any{"jobTitle": "x"},
			"headers": map[string]string{"Content-Type": "application/json"}},
		map[string]any{"id": "2", "method": "GET", "url": "/users?$top=1"},
	}}))
	want := sample(t, "batch-response-item-429.CONSTRUCTED.json")["responses"].([]any)[0].(map[string]any)
	compareShape(t, "$.responses[0]", items["1"], want)
	if status(items["1"]) != 429 || items["1"]["headers"].(map[string]any)["Retry-After"] != "10" || status(items["2"]) != 200 {
		t.Errorf("items: %v %v", items["1"], items["2"])
	}
	if f.srv.Calls("PATCH", "/users/{id}") != 0 || len(seen) != 2 {
		t.Errorf("throttled item ran (%d) or hook not asked (%v)", f.srv.Calls("PATCH", "/users/{id}"), seen)
	}
	if f.srv.Calls("GET", "/no/such/pattern") != 0 {
		t.Error("unknown pattern counted")
	}
}
