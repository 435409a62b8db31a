package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func openTest(t *testing.T, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// fill writes n intent+outcome pairs and one refusal.
func fill(t *testing.T, l *Log, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id, err := l.Intent(ctx, Record{Caller: "stdio operator", Tool: "disable_entra_user", Effect: "destructive",
			Target: fmt.Sprintf("u%d@contoso.example", i), Summary: "Disable sign-in", Args: map[string]any{"user": i}, PlanHash: "ph", Mode: "elicitation"})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Outcome(ctx, id, Outcome{Status: StatusDone, RequestIDs: []string{"req-" + fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Refused(ctx, Record{Tool: "offboard_user", Target: "breakglass1@contoso.example"}, "protected.upn_globs: protected"); err != nil {
		t.Fatal(err)
	}
}

// tamper runs SQL on the database behind the log's back, as someone with the file would,
// dropping the append-only triggers first.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range append([]string{"DROP TRIGGER records_append_only_update", "DROP TRIGGER records_append_only_delete"}, stmts...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name     string
		stmts    []string
		firstBad int64
		problem  string
	}{
		{"intact", nil, 0, ""},
		{"edited target", []string{`UPDATE records SET target = 'someone@else.example' WHERE seq = 3`}, 3, "edited"},
		{"edited args", []string{`UPDATE records SET args = '{"user":99}' WHERE seq = 5`}, 5, "edited"},
		{"edited request ids", []string{`UPDATE records SET request_ids = '["forged"]' WHERE seq = 4`}, 4, "edited"},
		{"edited status and rehashed without the chain", []string{`UPDATE records SET status = 'failed', hash = 'x' WHERE seq = 2`}, 2, "edited"},
		{"deleted middle record", []string{`DELETE FROM records WHERE seq = 4`}, 4, "record 4 is missing"},
		{"deleted newest records", []string{`DELETE FROM records WHERE seq >= 6`}, 6, "removed from the end"},
		{"reordered records", []string{`UPDATE records SET seq = 100 WHERE seq = 3`, `UPDATE records SET seq = 3 WHERE seq = 5`, `UPDATE records SET seq = 5 WHERE seq = 100`}, 3, "does not chain"},
		{"inserted record", []string{`UPDATE records SET seq = seq + 1000 WHERE seq >= 4`, `UPDATE records SET seq = seq - 999 WHERE seq >= 1000`,
			`INSERT INTO records (` + columns + `) SELECT 4, kind, intent, time, caller, tool, effect, target, summary, args, plan_hash, mode,
				approver, status, error, request_ids, prev_hash, hash FROM records WHERE seq = 2`}, 4, "does not chain onto record 3"},
		{"outcome pointed at another intent", []string{`UPDATE records SET intent = 3 WHERE seq = 2`}, 2, "edited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir, Options{})
			fill(t, l, 3) // 7 records
			if len(tt.stmts) > 0 {
				tamper(t, l.Path(), tt.stmts...)
			}
			rep, err := l.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tt.firstBad == 0 {
				if !rep.OK || rep.Records != 7 || len(rep.Head) != 64 {
					t.Fatalf("clean log reported %+v", rep)
				}
				return
			}
			if rep.OK || rep.FirstBad != tt.firstBad || !strings.Contains(rep.Problem, tt.problem) {
				t.Fatalf("want first bad %d (%q), got %+v", tt.firstBad, tt.problem, rep)
			}
			if !strings.Contains(rep.String(), fmt.Sprintf("record %d", tt.firstBad)) {
				t.Errorf("report line %q does not name the record", rep.String())
			}
		})
	}
}

func TestRecordsAreAppendOnly(t *testing.T) {
	l := openTest(t, t.TempDir(), Options{})
	fill(t, l, 1)
	for _, q := range []string{`UPDATE records SET tool = 'x'`, `DELETE FROM records`} {
		if _, err := l.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: want append-only refusal, got %v", q, err)
		}
	}
}

func TestCrashLeavesOutcomeUnknown(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	l, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 1)
	id, err := l.Intent(ctx, Record{Caller: "token:alice", Tool: "delete_entra_user", Target: "x@contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // the process dies here: no outcome

	ro := openTest(t, dir, Options{ReadOnly: true})
	if u, _ := ro.Unfinished(ctx); len(u) != 1 || len(ro.Recovered()) != 0 {
		t.Fatalf("a read-only open must not recover: unfinished %v", u)
	}

	l2 := openTest(t, dir, Options{})
	rec := l2.Recovered()
	if len(rec) != 1 || rec[0].Seq != id || rec[0].Tool != "delete_entra_user" {
		t.Fatalf("recovered %+v", rec)
	}
	tail, _ := l2.Tail(ctx, 1)
	if len(tail) != 1 || tail[0].Status != StatusUnknown || tail[0].Intent != id || tail[0].Caller != "token:alice" {
		t.Fatalf("last record %+v", tail)
	}
	if u, _ := l2.Unfinished(ctx); len(u) != 0 {
		t.Errorf("still unfinished: %v", u)
	}
	if rep, _ := l2.Verify(ctx); !rep.OK {
		t.Errorf("verify after recovery: %v", rep)
	}
	l3 := openTest(t, dir, Options{})
	if len(l3.Recovered()) != 0 {
		t.Errorf("recovered twice: %v", l3.Recovered())
	}
}

func TestOutcomeRules(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, t.TempDir(), Options{})
	id, _ := l.Intent(ctx, Record{Tool: "t"})
	ref, _ := l.Refused(ctx, Record{Tool: "t"}, "no")
	tests := []struct {
		name   string
		intent int64
		o      Outcome
		want   string
	}{
		{"first outcome", id, Outcome{Status: StatusDone}, ""},
		{"second outcome", id, Outcome{Status: StatusFailed}, "already has an outcome"},
		{"unknown intent", 999, Outcome{Status: StatusDone}, "no intent 999"},
		{"refusal is not an intent", ref, Outcome{Status: StatusDone}, "no intent"},
		{"status required", id, Outcome{}, "without a status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.Outcome(ctx, tt.intent, tt.o)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := l.Intent(ctx, Record{}); err == nil {
		t.Error("a record without a tool must be refused")
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	ctx := context.Background()
	redact := func(s string) string { return strings.ReplaceAll(s, "s3cr3t-value", "****") }
	l := openTest(t, t.TempDir(), Options{Redact: redact})
	args := map[string]any{
		"user":              "adele@contoso.example",
		"password":          "Hunter2!",
		"passwordProfile":   map[string]any{"forceChange": true},
		"nested":            map[string]any{"client_secret": "abc", "refreshToken": "def", "note": "uses s3cr3t-value inside"},
		"list":              []any{map[string]any{"apiKey": "k"}, "s3cr3t-value"},
		"confirmation_code": "123456",
		"postal_code":       "D02",
	}
	id, err := l.Intent(ctx, Record{Tool: "create_user", Args: args, Summary: "create with s3cr3t-value"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Outcome(ctx, id, Outcome{Status: StatusFailed, Error: "401 for s3cr3t-value"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	tail, _ := l.Tail(ctx, 2)
	stored := string(tail[0].Args) + tail[0].Summary + tail[1].Error
	for _, secret := range []string{"Hunter2!", "abc", "def", `"k"`, "s3cr3t-value", "123456"} {
		if strings.Contains(stored, secret) || strings.Contains(string(raw), secret) {
			t.Errorf("secret %q stored: %s", secret, stored)
		}
	}
	var got map[string]any
	if err := json.Unmarshal(tail[0].Args, &got); err != nil {
		t.Fatal(err)
	}
	if got["password"] != Redacted || got["passwordProfile"] != Redacted || got["user"] != "adele@contoso.example" || got["postal_code"] != "D02" {
		t.Errorf("args stored as %s", tail[0].Args)
	}
}

func TestLargeArgsAreBounded(t *testing.T) {
	l := openTest(t, t.TempDir(), Options{})
	id, err := l.Intent(context.Background(), Record{Tool: "bulk", Args: map[string]string{"blob": strings.Repeat("x", 100_000)}})
	if err != nil {
		t.Fatal(err)
	}
	tail, _ := l.Tail(context.Background(), 1)
	if tail[0].Seq != id || len(tail[0].Args) > 200 || !strings.Contains(string(tail[0].Args), "truncated") {
		t.Errorf("args %s", tail[0].Args)
	}
}

func TestConcurrentIntentAndOutcome(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, t.TempDir(), Options{})
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			id, err := l.Intent(ctx, Record{Tool: "t", Target: fmt.Sprint(i)})
			if err == nil {
				err = l.Outcome(ctx, id, Outcome{Status: StatusDone})
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rep, err := l.Verify(ctx)
	if err != nil || !rep.OK || rep.Records != 2*n {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestDatabaseFileIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l := openTest(t, dir, Options{})
	for _, p := range []string{dir, l.Path()} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", p, st.Mode().Perm())
		}
	}
	if _, err := Open(context.Background(), t.TempDir(), Options{ReadOnly: true}); err == nil {
		t.Error("read-only open of a missing database must fail")
	}
}

func TestRecentJSON(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, t.TempDir(), Options{})
	empty, err := l.RecentJSON(ctx, 10)
	if err != nil || string(empty) != `{"records":[],"truncated":false}` {
		t.Fatalf("%s %v", empty, err)
	}
	for i := range 150 {
		if _, err := l.Intent(ctx, Record{Tool: "t", Summary: strings.Repeat("s", 1000), Target: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		n         int
		wantCount int // -1: bounded by size
		truncated bool
	}{{5, 5, false}, {0, 1, false}, {1000, -1, true}}
	for _, tt := range tests {
		b, err := l.RecentJSON(ctx, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Records   []Entry
			Truncated bool
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if len(b) > maxRecentBytes || p.Truncated != tt.truncated || (tt.wantCount >= 0 && len(p.Records) != tt.wantCount) {
			t.Errorf("n=%d: %d bytes, %d records, truncated %v", tt.n, len(b), len(p.Records), p.Truncated)
		}
		if last := p.Records[len(p.Records)-1]; last.Target != "149" {
			t.Errorf("n=%d: newest record missing, last is %q", tt.n, last.Target)
		}
	}
}
