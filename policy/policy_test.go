package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/policy/audit"
	"github.com/msidm/msidm/policy/rules"
)

func TestGateCheck(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		effect   Effect
		wantDeny string
		visible  bool
	}{
		{"read allowed", Config{}, Read, "", true},
		{"write allowed", Config{}, Write, "", true},
		{"destructive allowed by gate", Config{}, Destructive, "", true},
		{"read-only keeps reads", Config{ReadOnly: true}, Read, "", true},
		{"read-only refuses writes", Config{ReadOnly: true}, Write, "read-only mode", false},
		{"read-only refuses destructive", Config{ReadOnly: true}, Destructive, "read-only mode", false},
		{"undeclared effect refused", Config{}, Effect(0), "declares no effect", true},
		{"policy file read_only refuses writes", Config{Rules: readOnlyRules()}, Write, "read_only: true in", false},
		{"policy file read_only keeps reads", Config{Rules: readOnlyRules()}, Read, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGate(tt.cfg)
			err := g.Check(context.Background(), Call{Tool: "x", Effect: tt.effect})
			if tt.wantDeny == "" {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
			} else {
				var d *Denied
				if !errors.As(err, &d) || !strings.Contains(err.Error(), tt.wantDeny) {
					t.Fatalf("want denial containing %q, got %v", tt.wantDeny, err)
				}
			}
			if tt.effect != 0 && g.Visible(tt.effect) != tt.visible {
				t.Errorf("Visible(%v) = %v, want %v", tt.effect, !tt.visible, tt.visible)
			}
		})
	}
}

func TestEffectString(t *testing.T) {
	for e, want := range map[Effect]string{Read: "read", Write: "write", Destructive: "destructive", 9: "Effect(9)"} {
		if e.String() != want {
			t.Errorf("%d: got %q want %q", int(e), e.String(), want)
		}
	}
}

func readOnlyRules() *rules.Policy {
	p := rules.Default()
	p.ReadOnly = true
	return p
}

// fakeDirectory knows a few users; err fails every lookup.
type fakeDirectory struct{ err error }

func (d fakeDirectory) GroupsOf(_ context.Context, user string) ([]rules.Ref, error) {
	switch {
	case d.err != nil:
		return nil, d.err
	case user == "u-tier0":
		return []rules.Ref{{ID: "g1", Name: "Tier 0 Admins"}}, nil
	}
	return nil, nil
}

func (d fakeDirectory) DirectoryRolesOf(context.Context, string) ([]rules.Ref, error) {
	return nil, d.err
}

func (d fakeDirectory) ActiveGlobalAdmins(context.Context) ([]rules.Ref, error) {
	return []rules.Ref{{ID: "u-ga", Name: "ga@contoso.example"}}, d.err
}

// fakeConfirmer answers every plan the same way and counts calls.
type fakeConfirmer struct {
	c     Confirmation
	calls int
}

func (f *fakeConfirmer) Confirm(context.Context, *mcp.CallToolRequest, Plan) (Confirmation, error) {
	f.calls++
	return f.c, nil
}

func testRules() *rules.Policy {
	p := rules.Default()
	p.Protected.Groups = []string{"Tier 0 Admins"}
	p.Protected.UPNGlobs = []string{"breakglass*@contoso.example"}
	p.InvitationDomains = []string{"contoso.example"}
	return p
}

func openAudit(t *testing.T) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), t.TempDir(), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func resultText(r *mcp.CallToolResult) string {
	if r == nil {
		return ""
	}
	return fmt.Sprint(r.Content)
}

func TestConfirm(t *testing.T) {
	adele := Principal{System: "entra", ID: "u-adele", Name: "adele@contoso.example"}
	disable := Plan{Tool: "disable_entra_user", Effect: Destructive, Summary: "Disable sign-in for adele@contoso.example",
		Target: adele.Name, Targets: []Principal{adele}, Args: map[string]any{"user": adele.Name, "password": "p@ss"},
		Steps: []Step{{System: "entra", Action: "block sign-in", Target: adele.Name, Reversible: true, Undo: "enable_entra_user"}}}
	with := func(f func(*Plan)) Plan { p := disable; f(&p); return p }
	write := with(func(p *Plan) { p.Effect = Write; p.Tool = "update_entra_user" })
	elicited := Confirmation{Proceed: true, Mode: "elicitation", Approver: "stdio operator"}
	confirmWrites := testRules()
	confirmWrites.ConfirmWrites = true
	onlyCode := testRules()
	onlyCode.ConfirmationModes = []string{"code"}
	closedAudit := func(t *testing.T) *audit.Log { l := openAudit(t); l.Close(); return l }

	tests := []struct {
		name       string
		cfg        Config
		noAudit    bool
		audit      func(*testing.T) *audit.Log
		confirmer  *fakeConfirmer
		plan       Plan
		proceed    bool
		mode       string
		want       string // in the result text
		wantKinds  string // audit rows written, e.g. "intent" or "refused"
		asked      int    // confirmer calls
		wantVerdct string
	}{
		{"destructive without confirmer fails closed", Config{}, false, nil, nil, disable, false, "", "needs a human's confirmation", "", 0, ""},
		{"destructive confirmed writes an intent", Config{}, false, nil, &fakeConfirmer{c: elicited}, disable, true, "elicitation", "", "intent", 1, ""},
		{"confirmer declines: its result, no intent", Config{}, false, nil,
			&fakeConfirmer{c: Confirmation{Result: mcp.NewToolResultError("approval_required")}}, disable, false, "", "approval_required", "", 1, ""},
		{"mode not allowed by policy", Config{Rules: onlyCode}, false, nil, &fakeConfirmer{c: elicited}, disable, false, "", `confirmed by "elicitation"`, "", 1, ""},
		{"confirmation without a mode", Config{}, false, nil, &fakeConfirmer{c: Confirmation{Proceed: true}}, disable, false, "", `confirmed by ""`, "", 1, ""},
		{"write proceeds without confirmation", Config{}, false, nil, nil, write, true, ModeNotRequired, "", "intent", 0, ""},
		{"write with ConfirmWrites asks", Config{ConfirmWrites: true}, false, nil, &fakeConfirmer{c: elicited}, write, true, "elicitation", "", "intent", 1, ""},
		{"write with policy confirm_writes fails closed without confirmer", Config{Rules: confirmWrites}, false, nil, nil, write, false, "", "confirmation", "", 0, ""},
		{"no audit log: nothing runs", Config{}, true, nil, nil, write, false, "", "no audit log", "", 0, ""},
		{"audit write fails: nothing runs", Config{}, false, closedAudit, &fakeConfirmer{c: elicited}, disable, false, "", "could not record it in the audit log", "", 1, ""},
		{"read-only flag wins over everything", Config{ReadOnly: true}, false, nil, &fakeConfirmer{c: elicited}, disable, false, "", "read-only", "", 0, ""},
		{"read-only flag wins over dry run", Config{ReadOnly: true}, false, nil, nil, with(func(p *Plan) { p.DryRun = true }), false, "", "read-only", "", 0, ""},
		{"protected through a group: refused and audited", Config{}, false, nil, &fakeConfirmer{c: elicited},
			with(func(p *Plan) { p.Targets = []Principal{{System: "entra", ID: "u-tier0", Name: "t0@contoso.example"}} }), false, "",
			`protected.groups: t0@contoso.example (u-tier0) is protected (holds group "Tier 0 Admins")`, "refused", 0, ""},
		{"protected through a glob", Config{}, false, nil, &fakeConfirmer{c: elicited},
			with(func(p *Plan) {
				p.Targets = []Principal{{System: "entra", ID: "x", Name: "BreakGlass1@contoso.example"}}
			}), false, "",
			"protected.upn_globs", "refused", 0, ""},
		{"lookup failure fails closed", Config{Directory: fakeDirectory{err: errors.New("graph unreachable")}}, false, nil, &fakeConfirmer{c: elicited},
			disable, false, "", "graph unreachable", "refused", 0, ""},
		{"last Global Administrator", Config{}, false, nil, &fakeConfirmer{c: elicited},
			with(func(p *Plan) { p.Targets = []Principal{{System: "entra", ID: "u-ga", Name: "ga@contoso.example"}} }), false, "",
			"without an active Global Administrator", "refused", 0, ""},
		{"super admin grant refused", Config{}, false, nil, nil,
			with(func(p *Plan) { p.Effect, p.Targets, p.GrantsAdsRole = Write, nil, rules.AdsSuperAdminRole }), false, "", "ads.allow_super_admin", "refused", 0, ""},
		{"invitation outside allow-list refused", Config{}, false, nil, nil,
			with(func(p *Plan) { p.Effect, p.Targets, p.Invitations = Write, nil, []string{"x@evil.example"} }), false, "", "domains.invitations", "refused", 0, ""},
		{"dry run: plan and verdict, nothing recorded", Config{}, false, nil, &fakeConfirmer{c: elicited},
			with(func(p *Plan) { p.DryRun = true }), false, ModeDryRun, "Dry run: nothing was changed", "", 0, "would need a human's confirmation"},
		{"dry run of a refused plan says so", Config{}, false, nil, nil,
			with(func(p *Plan) {
				p.DryRun = true
				p.Targets = []Principal{{System: "entra", ID: "u-tier0", Name: "t0@contoso.example"}}
			}),
			false, ModeDryRun, "would be refused: protected.groups", "", 0, "would be refused"},
		{"read proceeds untouched", Config{}, true, nil, nil, with(func(p *Plan) { p.Effect = Read }), true, ModeNotRequired, "", "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Rules == nil {
				cfg.Rules = testRules()
			}
			if cfg.Directory == nil {
				cfg.Directory = fakeDirectory{}
			}
			var log *audit.Log
			switch {
			case tt.audit != nil:
				log = tt.audit(t)
			case !tt.noAudit:
				log = openAudit(t)
			}
			cfg.Audit = log
			cfg.Caller = func(context.Context) string { return "token:alice" }
			g := NewGate(cfg)
			if tt.confirmer != nil {
				g.SetConfirmer(tt.confirmer)
			}
			c, err := g.Confirm(context.Background(), nil, tt.plan)
			if err != nil {
				t.Fatal(err)
			}
			if c.Proceed != tt.proceed || (tt.mode != "" && c.Mode != tt.mode) {
				t.Fatalf("proceed %v mode %q, want %v %q; result %s", c.Proceed, c.Mode, tt.proceed, tt.mode, resultText(c.Result))
			}
			if !c.Proceed && c.Result == nil && tt.plan.Effect != Read {
				t.Fatal("a call that does not proceed must carry a result")
			}
			if tt.want != "" && !strings.Contains(resultText(c.Result), tt.want) {
				t.Errorf("result %s lacks %q", resultText(c.Result), tt.want)
			}
			if !strings.Contains(c.Verdict, tt.wantVerdct) {
				t.Errorf("verdict %q lacks %q", c.Verdict, tt.wantVerdct)
			}
			asked := 0
			if tt.confirmer != nil {
				asked = tt.confirmer.calls
			}
			if asked != tt.asked {
				t.Errorf("confirmer asked %d times, want %d", asked, tt.asked)
			}
			if log == nil || tt.audit != nil {
				return
			}
			rows, err := log.Tail(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, r := range rows {
				kinds = append(kinds, r.Kind)
				if r.Caller != "token:alice" || r.PlanHash != tt.plan.Hash() || strings.Contains(string(r.Args), "p@ss") {
					t.Errorf("audit row %+v", r)
				}
			}
			if strings.Join(kinds, ",") != tt.wantKinds {
				t.Errorf("audit rows %v, want %q", kinds, tt.wantKinds)
			}
			if c.Proceed {
				if rows[0].Seq != c.AuditID || rows[0].Mode != c.Mode {
					t.Errorf("intent %+v does not match confirmation %+v", rows[0], c)
				}
			}
		})
	}
}

func TestFinishRecordsTheOutcomeOnce(t *testing.T) {
	log := openAudit(t)
	g := NewGate(Config{Audit: log})
	plan := Plan{Tool: "update_entra_user", Effect: Write, Summary: "s", Target: "a@contoso.example"}
	c, err := g.Confirm(context.Background(), nil, plan)
	if err != nil || !c.Proceed {
		t.Fatalf("%+v %v", c, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client went away after the call ran: the outcome is still recorded
	if err := c.Finish(ctx, Outcome{Status: StatusPartial, Error: "licence not removed", RequestIDs: []string{"r-1", "T-2"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(context.Background(), Outcome{Status: StatusDone}); err == nil {
		t.Error("a second Finish must fail")
	}
	if err := (Confirmation{}).Finish(context.Background(), Outcome{Status: StatusDone}); err == nil {
		t.Error("Finish without an intent must fail")
	}
	rows, _ := log.Tail(context.Background(), 2)
	if len(rows) != 2 || rows[1].Kind != audit.KindOutcome || rows[1].Intent != c.AuditID || rows[1].Status != StatusPartial ||
		strings.Join(rows[1].RequestIDs, ",") != "r-1,T-2" || rows[0].Caller != "unknown" {
		t.Fatalf("rows %+v", rows)
	}
	if u, _ := log.Unfinished(context.Background()); len(u) != 0 {
		t.Errorf("unfinished %v", u)
	}
}

func TestChangeWindowThroughTheGate(t *testing.T) {
	p := testRules()
	p.Window = &rules.Window{Days: []time.Weekday{time.Monday}, Start: 8 * 60, End: 18 * 60, Location: time.UTC}
	plan := Plan{Tool: "update_entra_user", Effect: Write, Summary: "s", Target: "a@contoso.example"}
	for _, tt := range []struct {
		at      time.Time
		proceed bool
	}{
		{time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), false},
	} {
		g := NewGate(Config{Rules: p, Audit: openAudit(t), Now: func() time.Time { return tt.at }})
		c, _ := g.Confirm(context.Background(), nil, plan)
		if c.Proceed != tt.proceed || (!c.Proceed && !strings.Contains(resultText(c.Result), "change_window")) {
			t.Errorf("%v: proceed %v result %s", tt.at, c.Proceed, resultText(c.Result))
		}
	}
}

func TestReloadKeepsThePolicyOnABadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	g := NewGate(Config{})
	if g.Rules().MaxTargets != rules.DefaultMaxTargets {
		t.Fatalf("defaults not in force: %+v", g.Rules())
	}
	tests := []struct {
		name    string
		file    string
		wantErr string
		max     int
	}{
		{"good file", "max_targets_per_call: 3\n", "", 3},
		{"bad file keeps the old policy", "max_targets_per_call: 3\nprotected:\n  upn_globs: [\"[\"]\n", `policy.yaml:3: protected.upn_globs[0]: "[" is not a valid glob`, 3},
		{"unknown key keeps the old policy", "max_targets: 5\n", "policy.yaml:1: max_targets: unknown key", 3},
		{"next good file", "max_targets_per_call: 7\nread_only: true\n", "", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(tt.file)
			err := g.Reload(path)
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Reload: %v, want %q", err, tt.wantErr)
			}
			if g.Rules().MaxTargets != tt.max {
				t.Errorf("max targets %d, want %d", g.Rules().MaxTargets, tt.max)
			}
		})
	}
	if g.Visible(Write) || g.Check(context.Background(), Call{Tool: "x", Effect: Write}) == nil {
		t.Error("a reloaded read_only: true must hide and refuse writes")
	}

	// ReloadOn reloads on each signal until its context ends.
	write("max_targets_per_call: 9\n")
	sig := make(chan os.Signal)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.ReloadOn(ctx, path, sig); close(done) }()
	sig <- os.Interrupt
	sig <- os.Interrupt // an unbuffered send returns only after the previous reload finished
	if g.Rules().MaxTargets != 9 {
		t.Errorf("after a signal: max targets %d, want 9", g.Rules().MaxTargets)
	}
	write("max_targets_per_call: nine\n")
	sig <- os.Interrupt
	sig <- os.Interrupt
	cancel()
	<-done
	if g.Rules().MaxTargets != 9 {
		t.Errorf("after signals: max targets %d, want 9", g.Rules().MaxTargets)
	}
}

func TestPlanHash(t *testing.T) {
	p := Plan{Tool: "t", Effect: Write, Summary: "s", Args: map[string]any{"a": 1, "password": "x"}}
	same := p
	same.DryRun = true
	other := p
	other.Args = map[string]any{"a": 2, "password": "x"}
	otherSecret := p
	otherSecret.Args = map[string]any{"a": 1, "password": "y"}
	if p.Hash() != same.Hash() || len(p.Hash()) != 64 {
		t.Error("dry_run must not change the hash")
	}
	if p.Hash() == other.Hash() {
		t.Error("arguments must change the hash")
	}
	if p.Hash() != otherSecret.Hash() {
		t.Error("secret arguments are redacted before hashing")
	}
}
