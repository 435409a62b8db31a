package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msidm/msidm/policy/audit"
)

// seedAudit writes two finished calls and one refusal to dir's audit log.
func seedAudit(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	l, err := audit.Open(ctx, dir, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, target := range []string{"adele@contoso.example", "ben@contoso.example"} {
		id, err := l.Intent(ctx, audit.Record{Caller: "stdio operator", Tool: "disable_entra_user", Effect: "destructive",
			Target: target, PlanHash: strings.Repeat("ab", 32), Mode: "elicitation", Approver: "stdio operator"})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Outcome(ctx, id, audit.Outcome{Status: audit.StatusDone, RequestIDs: []string{"req-" + target[:3]}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Refused(ctx, audit.Record{Caller: "token:bob", Tool: "offboard_user", Target: "breakglass1@contoso.example"},
		"protected.upn_globs: protected"); err != nil {
		t.Fatal(err)
	}
}

func tamperAudit(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, audit.FileName))
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

func TestAuditCommand(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		tamper  []string
		empty   bool // no database at all
		wantOut []string
		wantErr string
		usage   bool
	}{
		{"tail", []string{"tail"}, nil, false, []string{
			"#1 ", "intent destructive disable_entra_user adele@contoso.example by stdio operator (elicitation) plan abababababab",
			"#2 ", "outcome of #1: done disable_entra_user adele@contoso.example request-ids req-ade",
			"#5 ", "refused offboard_user breakglass1@contoso.example by token:bob: protected.upn_globs"}, "", false},
		{"tail -n", []string{"tail", "-n", "1"}, nil, false, []string{"#5 "}, "", false},
		{"tail --json", []string{"tail", "-n", "2", "--json"}, nil, false, []string{`"seq":4`, `"kind":"outcome"`, `"seq":5`}, "", false},
		{"verify clean", []string{"verify"}, nil, false, []string{"audit log intact: 5 records"}, "", false},
		{"verify edited row", []string{"verify"}, []string{`UPDATE records SET target = 'mallory@contoso.example' WHERE seq = 3`}, false, nil,
			"audit log TAMPERED at record 3: its content does not match its hash (edited)", false},
		{"verify deleted row", []string{"verify"}, []string{`DELETE FROM records WHERE seq = 2`}, false, nil,
			"audit log TAMPERED at record 2: record 2 is missing", false},
		{"verify deleted newest row", []string{"verify"}, []string{`DELETE FROM records WHERE seq = 5`}, false, nil,
			"TAMPERED at record 5: records 5 to 5 were removed from the end", false},
		{"no database", []string{"verify"}, nil, true, nil, "no audit log at", false},
		{"no subcommand", nil, nil, false, nil, "tail or verify", true},
		{"unknown subcommand", []string{"purge"}, nil, false, nil, `unknown audit command "purge"`, true},
		{"bad -n", []string{"tail", "-n", "0"}, nil, false, nil, "-n must be between", true},
		{"unknown flag", []string{"verify", "--fix"}, nil, false, nil, "unknown flag", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("MSIDM_STATE_DIR", dir)
			if !tt.empty {
				seedAudit(t, dir)
			}
			if tt.tamper != nil {
				tamperAudit(t, dir, tt.tamper...)
			}
			var stdout, stderr bytes.Buffer
			err := runAudit(context.Background(), tt.args, &stdout, &stderr)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line containing %q", err, tt.wantErr)
				}
				var ue *usageError
				if errors.As(err, &ue) != tt.usage {
					t.Errorf("usage error %v, want %v", errors.As(err, &ue), tt.usage)
				}
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output\n%s\nlacks %q", stdout.String(), w)
				}
			}
			if tt.name == "tail -n" && strings.Count(stdout.String(), "\n") != 1 {
				t.Errorf("-n 1 printed %q", stdout.String())
			}
			if tt.name == "tail --json" {
				for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
					var e audit.Entry
					if err := json.Unmarshal([]byte(line), &e); err != nil || e.Hash == "" {
						t.Errorf("line %q: %v", line, err)
					}
				}
			}
		})
	}
}

func TestAuditVerifyIsReadOnly(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MSIDM_STATE_DIR", dir)
	l, err := audit.Open(context.Background(), dir, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Intent(context.Background(), audit.Record{Tool: "disable_entra_user"}); err != nil {
		t.Fatal(err)
	}
	l.Close() // an intent in flight, as while a server runs
	var stdout, stderr bytes.Buffer
	if err := runAudit(context.Background(), []string{"verify"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "1 intent(s) without an outcome") {
		t.Errorf("stderr %q", stderr.String())
	}
	l2, err := audit.Open(context.Background(), dir, audit.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if open, _ := l2.Unfinished(context.Background()); len(open) != 1 {
		t.Errorf("verify must not record outcomes; unfinished %v", open)
	}
}
