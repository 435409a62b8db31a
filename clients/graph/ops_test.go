package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBatch answers $batch: each item's status comes from statusFor (called per attempt),
// and it records how many requests each call carried.
func fakeBatch(t *testing.T, statusFor func(id string, attempt int) int) (*Client, *[]int) {
	var mu sync.Mutex
	sizes := []int{}
	attempts := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/$batch" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var in struct {
			Requests []BatchRequest `json:"requests"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Requests) > MaxBatch {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		sizes = append(sizes, len(in.Requests))
		var out []map[string]any
		for _, q := range in.Requests {
			st := statusFor(q.ID, attempts[q.ID])
			attempts[q.ID]++
			item := map[string]any{"id": q.ID, "status": st, "headers": map[string]string{}}
			if st == 429 {
				item["headers"] = map[string]string{"Retry-After": "0.01"}
				item["body"] = json.RawMessage(`{"error":{"code":"TooManyRequests","message":"Please retry again later.","innerError":{"request-id":"r1"}}}`)
			}
			out = append(out, item)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"responses": out})
	}))
	t.Cleanup(srv.Close)
	c, _ := New(srv.URL, srv.Client())
	return c, &sizes
}

func TestBatchChunksAndRetriesThrottledItems(t *testing.T) {
	c, sizes := fakeBatch(t, func(id string, attempt int) int {
		if strings.HasSuffix(id, "3") && attempt < 2 { // every id ending in 3 is throttled twice
			return 429
		}
		return 204
	})
	var reqs []BatchRequest
	for i := range 45 {
		reqs = append(reqs, RemoveGroupMemberRequest(fmt.Sprint(i), "g", fmt.Sprintf("u%d", i)))
	}
	out, err := c.Batch(context.Background(), reqs, BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range out {
		if r.ID != fmt.Sprint(i) || r.Status != 204 || r.Err() != nil {
			t.Fatalf("item %d: %+v", i, r)
		}
	}
	first := 0
	for _, s := range *sizes {
		if s > MaxBatch {
			t.Fatalf("a call carried %d requests", s)
		}
		if s == 20 || s == 5 {
			first++
		}
	}
	if first < 3 {
		t.Errorf("45 requests should go as 20+20+5 first: %v", *sizes)
	}
}

func TestBatchGivesUpAfterMaxRetries(t *testing.T) {
	c, _ := fakeBatch(t, func(string, int) int { return 429 })
	out, err := c.Batch(context.Background(), []BatchRequest{RemoveGroupMemberRequest("1", "g", "u")}, BatchOptions{MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !Throttled(out[0].Err()) {
		t.Fatalf("want the last 429 reported, got %+v", out[0])
	}
}

func TestBatchDependencyAcrossChunks(t *testing.T) {
	c, _ := fakeBatch(t, func(id string, _ int) int {
		if id == "0" {
			return 404
		}
		return 204
	})
	reqs := make([]BatchRequest, 22)
	for i := range reqs {
		reqs[i] = RemoveGroupMemberRequest(fmt.Sprint(i), "g", "u")
	}
	reqs[21].DependsOn = []string{"0"} // in the second chunk; "0" failed in the first
	reqs[20].DependsOn = []string{"1"}
	out, err := c.Batch(context.Background(), reqs, BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out[21].Status != http.StatusFailedDependency || out[20].Status != 204 || out[0].Status != 404 {
		t.Fatalf("statuses: 0=%d 20=%d 21=%d", out[0].Status, out[20].Status, out[21].Status)
	}
	if _, err := c.Batch(context.Background(), []BatchRequest{{ID: "a"}, {ID: "A"}}, BatchOptions{}); err == nil {
		t.Error("duplicate ids (case-insensitive) accepted")
	}
}

func TestBatchHonoursCancellation(t *testing.T) {
	c, _ := fakeBatch(t, func(string, int) int { return 429 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Batch(ctx, []BatchRequest{RemoveGroupMemberRequest("1", "g", "u")}, BatchOptions{MaxRetries: 100, MaxWait: time.Hour})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

// TestDeltaReadsTheOfficialSequence serves the documented delta pages in order.
func TestDeltaReadsTheOfficialSequence(t *testing.T) {
	pages := []string{sample(t, "delta-page1.json"), sample(t, "delta-page2.json"), sample(t, "delta-final-deltalink.json")}
	var calls atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(calls.Add(1)) - 1
		body := strings.ReplaceAll(pages[i], "https://graph.microsoft.com", srv.URL)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c, _ := New(srv.URL, srv.Client())
	var changes []DeltaChange
	var last string
	for p, err := range c.Delta(context.Background(), c.DeltaURL(DeltaOptions{Select: []string{"displayName", "givenName", "surname"}})) {
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, p.Changes...)
		last = p.DeltaLink
	}
	if calls.Load() != 3 || !strings.Contains(last, "$deltatoken=") || len(changes) == 0 {
		t.Fatalf("calls %d, deltaLink %q, %d changes", calls.Load(), last, len(changes))
	}
	removed := 0
	for _, ch := range changes {
		if ch.ID == "" {
			t.Fatalf("change without id: %+v", ch)
		}
		if ch.Removed != "" {
			removed++
		} else if _, ok := ch.Props["displayName"]; !ok {
			t.Errorf("upsert without its properties: %+v", ch)
		}
	}
	if removed == 0 {
		t.Error("the documented first page has an @removed entry; none decoded")
	}
}

func TestDeltaTokenExpiredShapes(t *testing.T) {
	for _, tt := range []struct {
		sample string
		status int
	}{
		{"delta-expired.CONSTRUCTED-directory-400.json", 400},
		{"delta-expired.OBSERVED-outlook-410.json", 410},
	} {
		body := sample(t, tt.sample)
		if strings.Contains(body, `"body"`) { // the observed capture wraps the body
			var w struct {
				Body json.RawMessage `json:"body"`
			}
			_ = json.Unmarshal([]byte(body), &w)
			body = string(w.Body)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tt.status)
			_, _ = w.Write([]byte(body))
		}))
		c, _ := New(srv.URL, srv.Client())
		_, err := c.DeltaPageAt(context.Background(), c.DeltaURL(DeltaOptions{}))
		srv.Close()
		if !DeltaTokenExpired(err) {
			t.Errorf("%s: not recognised as an expired delta token: %v", tt.sample, err)
		}
	}
}

func TestConflictShapes(t *testing.T) {
	for _, s := range []string{"error-objectconflict.OBSERVED.json", "error-member-already-exists.OBSERVED.json"} {
		body := sample(t, s)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(body))
		}))
		c, _ := New(srv.URL, srv.Client())
		err := c.AddGroupMember(context.Background(), "g", "u")
		srv.Close()
		if !Conflict(err) {
			t.Errorf("%s: not a Conflict: %v", s, err)
		}
	}
}
