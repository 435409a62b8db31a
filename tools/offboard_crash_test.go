package tools

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/msidm/msidm/offboard"
)

// The crash matrix: a full one-person run (every kind of step diego has: block, revoke, group
// removals, licences, leave date, Ads deactivation, soft-delete) is measured once, then stopped
// at every journal write it makes, on a fresh sandbox each time, and continued. Whatever the
// boundary, the continuation must verify PASS everywhere and the emulators must have received
// exactly as many mutating requests in total (crash + continuation) as the clean run sent:
// a step finished before the crash is never sent again.

// crashArgs is the offboard_everywhere call of the matrix: every option on.
func crashArgs(ticket string) map[string]any {
	return map[string]any{"people": []any{diego}, "reason": ticket, "entra": "disable_and_delete",
		"revoke_sessions": true, "remove_groups": true, "remove_licenses": true, "ads": "deactivate",
		"set_leave_date": "2026-03-31"}
}

// boundary is one journal write: a step's key and the status written.
type boundary struct{ key, status string }

func (b boundary) String() string { return b.key + "=" + b.status }

// crashEnv is offboardEnv with the state directory returned, so a test can reach the journal
// file from outside the engine.
func crashEnv(t *testing.T) (*env, *offboard.Journal, string) {
	t.Helper()
	e := newEnv(t, envOptions{confirmer: approveAll{}})
	dir := t.TempDir()
	j, err := offboard.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	e.deps.Journal = j
	return e, j, dir
}

// cleanCrashRun runs the matrix's call once without a crash and returns every journal write
// in the order the hook saw them and the mutating requests the run sent.
func cleanCrashRun(t *testing.T) ([]boundary, mutations) {
	t.Helper()
	e, j, _ := crashEnv(t)
	var mu sync.Mutex
	var seq []boundary
	j.Hook = func(_, key, status string) error {
		mu.Lock()
		seq = append(seq, boundary{key, status})
		mu.Unlock()
		return nil
	}
	before := e.mutations()
	out := e.ok("offboard_everywhere", crashArgs("HR-CRASH"))
	j.Hook = nil
	p := person(t, out)
	if out["status"] != "done" || p["status"] != "done" {
		t.Fatalf("clean run: %v / %v", out["status"], p["status"])
	}
	assertAllPass(t, p)
	got := e.mutations().minus(before)
	if want := expected(p); got.String() != want.String() {
		t.Fatalf("clean run sent %v, want one request per step %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	return seq, got
}

// TestOffboardCrashAtEveryBoundary stops the run at each journal write of the clean run (the
// write is on disk, then the run stops as a crash would: every later write stops it too) and
// continues it, once with offboard_resume (run id from offboard_status) and once with the same
// offboard_everywhere call.
func TestOffboardCrashAtEveryBoundary(t *testing.T) {
	seq, clean := cleanCrashRun(t)
	steps := map[string]bool{}
	for _, b := range seq {
		steps[b.key] = true
	}
	for _, want := range []string{"entra/block", "entra/revoke", "entra/licenses", "entra/leave_date", "entra/delete"} {
		if !steps[want] {
			t.Fatalf("the clean run has no %s step: %v", want, seq)
		}
	}
	groups, adsUsers := 0, 0
	for k := range steps {
		switch {
		case strings.HasPrefix(k, "entra/group/"):
			groups++
		case strings.HasPrefix(k, "ads/"):
			adsUsers++
		}
	}
	if groups == 0 || adsUsers == 0 {
		t.Fatalf("the clean run has %d group and %d Ads steps: %v", groups, adsUsers, seq)
	}
	if len(seq) != 2*len(steps) {
		t.Fatalf("the clean run wrote %d step statuses for %d steps, want running+done each: %v", len(seq), len(steps), seq)
	}
	t.Logf("clean run: %d steps (%d groups, %d Ads users), %d journal writes, mutations %v", len(steps), groups, adsUsers, len(seq), clean)

	for _, b := range seq {
		for _, how := range []string{"resume", "again"} {
			t.Run(fmt.Sprintf("%s_%s/%s", strings.ReplaceAll(b.key, "/", "_"), b.status, how), func(t *testing.T) {
				t.Parallel()
				crashThenContinue(t, b, how, false, clean)
			})
		}
	}
	// The window a journal hook cannot reach: the action happened but its "done" was lost
	// (a kill between the response and the write). Simulated by writing the step back to
	// "running" after it finished: the continuation must find the effect and not send it again
	// (group removals and the soft-delete resend and accept a 404: see crashThenContinue).
	for _, b := range seq {
		if b.status != offboard.StatusDone {
			continue
		}
		for _, how := range []string{"resume", "again"} {
			t.Run(fmt.Sprintf("%s_lost_done/%s", strings.ReplaceAll(b.key, "/", "_"), how), func(t *testing.T) {
				t.Parallel()
				crashThenContinue(t, b, how, true, clean)
			})
		}
	}
}

var errCrash = errors.New("simulated crash")

func crashThenContinue(t *testing.T, at boundary, how string, loseDone bool, clean mutations) {
	e, j, dir := crashEnv(t)
	ticket := "HR-CRASH"
	args := crashArgs(ticket)
	runID := offboard.RunID(diego, ticket)
	var crashed atomic.Bool
	var after atomic.Int64 // journal writes other goroutines committed after the crash
	j.Hook = func(_, key, status string) error {
		if crashed.Load() {
			after.Add(1)
			return errCrash
		}
		if key == at.key && status == at.status {
			crashed.Store(true)
			return errCrash
		}
		return nil
	}
	before := e.mutations()
	res, _ := e.call("offboard_everywhere", args)
	j.Hook = nil
	if !crashed.Load() {
		t.Fatalf("the run never wrote %s: %s", at, text(res))
	}
	if !res.IsError {
		t.Fatalf("a crashed run reported success: %s", text(res))
	}
	atCrash := e.mutations().minus(before)
	for k, v := range atCrash {
		if v > clean[k] {
			t.Fatalf("before the crash already %d × %s, the whole clean run sends %d", v, k, clean[k])
		}
	}
	r, err := j.Get(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Steps {
		if s.Key == at.key && s.Status != at.status {
			t.Fatalf("journal after the crash: %s is %s, want %s", s.Key, s.Status, at.status)
		}
	}
	if loseDone {
		loseDoneWrite(t, dir, runID, at.key)
	}

	var out map[string]any
	switch how {
	case "resume":
		st := e.ok("offboard_status", map[string]any{"run_id": runID})
		if st["status"] != "unfinished" || !strings.Contains(fmt.Sprint(st["next"]), runID) {
			t.Fatalf("offboard_status after the crash: %v (next %v)", st["status"], st["next"])
		}
		res, o := e.call("offboard_resume", map[string]any{"run_id": runID})
		if res.IsError {
			t.Fatalf("offboard_resume failed: %s", text(res))
		}
		out = o
	default:
		out = e.ok("offboard_everywhere", args)
	}
	p := person(t, out)
	if p["run_id"] != runID || p["status"] != "done" {
		t.Fatalf("continuation: run %v status %v: %v", p["run_id"], p["status"], out)
	}
	assertAllPass(t, p)
	for _, s := range list(p, "steps") {
		if s["status"] != "done" && s["status"] != "skipped" {
			t.Errorf("step %s: %s (%s)", s["key"], s["status"], s["detail"])
		}
	}
	total := e.mutations().minus(before)
	if total.String() != clean.String() {
		t.Errorf("crash at %s then %s sent %v in all, the clean run %v (before the crash: %v)", at, how, total, clean, atCrash)
	}
	if after.Load() > 0 {
		t.Logf("%d journal write(s) by parallel steps after the crash point", after.Load())
	}
}

// loseDoneWrite sets a finished step back to "running" in the journal file, as if the process
// had died after the step's request succeeded and before its outcome was written.
func loseDoneWrite(t *testing.T, dir, runID, key string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, offboard.FileName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE steps SET status = ?, detail = 'attempt 1' WHERE run_id = ? AND key = ? AND status = ?`,
		offboard.StatusRunning, runID, key, offboard.StatusDone)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("step %s was not done in the journal", key)
	}
}
