package rules

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExamplePolicyLoads(t *testing.T) {
	p, err := Load("../examples/policy.yaml")
	if err != nil {
		t.Fatalf("the shipped example must load: %v", err)
	}
	if p.MaxTargets != 10 || p.AllowAdsSuperAdmin || p.ReadOnly || len(p.Protected.UPNGlobs) == 0 ||
		len(p.Protected.Groups) == 0 || len(p.Protected.DirectoryRoles) == 0 || len(p.InvitationDomains) == 0 {
		t.Errorf("example policy lost a rule: %+v", p)
	}
	if p.Source != "../examples/policy.yaml" {
		t.Errorf("Source = %q", p.Source)
	}
}

func TestParseValid(t *testing.T) {
	src := `version: 1
read_only: true
confirm_writes: true
confirmation: {modes: [code, approval]}
protected:
  upn_globs: ["BreakGlass*@Contoso.example"]
  groups: [Tier 0]
  directory_roles: [Global Administrator]
ads: {allow_super_admin: true}
domains: {invitations: ["*.contoso.example", contoso.example], new_users: ["*"]}
max_targets_per_call: 3
change_window: {days: [Mon, fri], start: "22:00", end: "02:30", timezone: Europe/Dublin}
`
	p, err := Parse([]byte(src), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := p.Window
	if !p.ReadOnly || !p.ConfirmWrites || !p.AllowAdsSuperAdmin || p.MaxTargets != 3 ||
		strings.Join(p.ConfirmationModes, ",") != "code,approval" || p.Protected.UPNGlobs[0] != "breakglass*@contoso.example" ||
		w == nil || w.Start != 22*60 || w.End != 2*60+30 || w.Location.String() != "Europe/Dublin" || len(w.Days) != 2 {
		t.Fatalf("parsed %+v window %+v", p, w)
	}
	if got := w.String(); got != "mon,fri 22:00-02:30 Europe/Dublin" {
		t.Errorf("window renders as %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown top-level key", "version: 1\nread_onyl: true\n", []string{`p.yaml:2: read_onyl: unknown key; known keys here:`, "read_only"}},
		{"unknown nested key", "protected:\n  upn_glob: [a]\n", []string{`p.yaml:2: protected.upn_glob: unknown key`}},
		{"bad glob with line", "version: 1\nprotected:\n  upn_globs:\n    - ok@contoso.example\n    - \"[\"\n", []string{`p.yaml:5: protected.upn_globs[1]: "[" is not a valid glob`}},
		{"wrong type bool", "read_only: yes\n", []string{`p.yaml:1: read_only: want true or false, got "yes"`}},
		{"wrong type list", "domains:\n  invitations: contoso.example\n", []string{`p.yaml:2: domains.invitations: want a list, got "contoso.example"`}},
		{"wrong type int", "max_targets_per_call: ten\n", []string{`p.yaml:1: max_targets_per_call: want a whole number, got "ten"`}},
		{"max out of range", "max_targets_per_call: 0\n", []string{`max_targets_per_call: must be between 1 and 1000, got 0`}},
		{"address as domain", "domains:\n  new_users: [a@contoso.example]\n", []string{`p.yaml:2: domains.new_users[0]: "a@contoso.example" is an address`}},
		{"bad window time", "change_window:\n  days: [mon]\n  start: \"8am\"\n  end: \"18:00\"\n  timezone: UTC\n", []string{`p.yaml:3: change_window.start: "8am" is not a time of day`}},
		{"bad window day", "change_window:\n  days: [mon, funday]\n  start: \"08:00\"\n  end: \"18:00\"\n  timezone: UTC\n", []string{`p.yaml:2: change_window.days[1]: "funday" is not a day`}},
		{"bad window zone", "change_window:\n  days: [mon]\n  start: \"08:00\"\n  end: \"18:00\"\n  timezone: Mars/Olympus\n", []string{`p.yaml:5: change_window.timezone: "Mars/Olympus" is not a known time zone`}},
		{"window missing end", "change_window:\n  days: [mon]\n  start: \"08:00\"\n  timezone: UTC\n", []string{`p.yaml:2: change_window: missing end`}},
		{"empty window", "change_window:\n  days: [mon]\n  start: \"08:00\"\n  end: \"08:00\"\n  timezone: UTC\n", []string{`change_window.end: equals start`}},
		{"unknown mode", "confirmation:\n  modes: [elicitation, telepathy]\n", []string{`p.yaml:2: confirmation.modes[1]: unknown confirmation mode "telepathy"`}},
		{"no modes", "confirmation:\n  modes: []\n", []string{`confirmation.modes: must list at least one mode`}},
		{"repeated key", "read_only: false\nread_only: true\n", []string{`p.yaml:2: read_only: repeated key`}},
		{"bad version", "version: 2\n", []string{`p.yaml:1: version: unsupported version 2`}},
		{"top level not a mapping", "- a\n", []string{`p.yaml:1: policy: want a mapping`}},
		{"syntax error", "read_only: true\n  bad: [\n", []string{"p.yaml:"}},
		{"empty file", "", []string{"p.yaml:1: the policy file is empty"}},
		{"several problems at once", "read_only: 1\nmax_targets_per_call: true\n", []string{"p.yaml:1: read_only", "p.yaml:2: max_targets_per_call"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.src), "p.yaml")
			var perr *Error
			if !errors.As(err, &perr) || p != nil {
				t.Fatalf("want *Error, got %v (policy %v)", err, p)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(t.TempDir() + "/nope.yaml"); err == nil || !strings.Contains(err.Error(), "policy file") {
		t.Fatalf("got %v", err)
	}
}

func TestWindowOpen(t *testing.T) {
	dublin, _ := time.LoadLocation("Europe/Dublin")
	day := &Window{Days: []time.Weekday{time.Monday, time.Tuesday}, Start: 8 * 60, End: 18 * 60, Location: dublin}
	night := &Window{Days: []time.Weekday{time.Friday}, Start: 22 * 60, End: 2 * 60, Location: time.UTC}
	at := func(s string, loc *time.Location) time.Time {
		t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		name string
		w    *Window
		t    time.Time
		open bool
	}{
		{"monday 08:00 opens", day, at("2026-03-02 08:00", dublin), true},
		{"monday 17:59 open", day, at("2026-03-02 17:59", dublin), true},
		{"monday 18:00 closed", day, at("2026-03-02 18:00", dublin), false},
		{"wednesday closed", day, at("2026-03-04 10:00", dublin), false},
		{"time zone applied (UTC 07:30 is 08:30 Dublin summer)", day, at("2026-06-01 07:30", time.UTC), true},
		{"overnight start day", night, at("2026-03-06 23:00", time.UTC), true},
		{"overnight after midnight belongs to friday", night, at("2026-03-07 01:00", time.UTC), true},
		{"overnight saturday night closed", night, at("2026-03-07 23:00", time.UTC), false},
		{"overnight friday 01:00 belongs to thursday", night, at("2026-03-06 01:00", time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Open(tt.t); got != tt.open {
				t.Errorf("Open(%v) = %v", tt.t, got)
			}
		})
	}
}

// fakeDir is a directory of users keyed by id and UPN.
type fakeDir struct {
	groups map[string][]Ref
	roles  map[string][]Ref
	admins []Ref
	err    error // returned by every call
}

func (d *fakeDir) GroupsOf(_ context.Context, user string) ([]Ref, error) {
	return lookup(d, d.groups, user)
}

func (d *fakeDir) DirectoryRolesOf(_ context.Context, user string) ([]Ref, error) {
	return lookup(d, d.roles, user)
}

func (d *fakeDir) ActiveGlobalAdmins(context.Context) ([]Ref, error) { return d.admins, d.err }

func lookup(d *fakeDir, m map[string][]Ref, user string) ([]Ref, error) {
	if d.err != nil {
		return nil, d.err
	}
	refs, ok := m[user]
	if !ok {
		return nil, ErrNotFound
	}
	return refs, nil
}

func TestEvaluate(t *testing.T) {
	base := func() *Policy {
		p := Default()
		p.Protected = Protected{
			UPNGlobs:       []string{"breakglass*@contoso.example"},
			Groups:         []string{"Tier 0"},
			DirectoryRoles: []string{"Global Administrator"},
		}
		p.InvitationDomains = []string{"contoso.example", "*.fabrikam.example"}
		p.NewUserDomains = []string{"contoso.example"}
		p.MaxTargets = 3
		return p
	}
	with := func(f func(*Policy)) *Policy { p := base(); f(p); return p }
	dir := &fakeDir{
		groups: map[string][]Ref{
			"u-adele": {{ID: "g-sales", Name: "Sales"}},
			"u-tier0": {{ID: "g-t0", Name: "tier 0"}},
			"u-ga1":   {}, "u-ga2": {},
			"ads@contoso.example": {{ID: "g-t0", Name: "Tier 0"}},
		},
		roles: map[string][]Ref{
			"u-adele": {}, "u-tier0": {}, "u-ga1": {}, "u-ga2": {},
			"u-role":              {{ID: "62e90394-69f5-4237-9190-012177145e10", Name: "Global Administrator"}},
			"ads@contoso.example": {},
		},
		admins: []Ref{{ID: "u-ga1", Name: "ga1@contoso.example"}},
	}
	dir.groups["u-role"] = nil
	adele := Target{System: "entra", ID: "u-adele", Name: "adele@contoso.example"}
	ga1 := Target{System: "entra", ID: "u-ga1", Name: "ga1@contoso.example"}
	noRolesPolicy := with(func(p *Policy) { p.Protected.DirectoryRoles = nil })
	twoAdmins := &fakeDir{groups: dir.groups, roles: dir.roles, admins: []Ref{{ID: "u-ga1"}, {ID: "u-ga2"}}}
	monday10 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	window := &Window{Days: []time.Weekday{time.Monday}, Start: 8 * 60, End: 9 * 60, Location: time.UTC}

	tests := []struct {
		name     string
		p        *Policy
		dir      Directory
		c        Change
		wantRule string // "" means allowed
		wantText string
	}{
		{"ordinary user allowed", base(), dir, Change{Destructive: true, Targets: []Target{adele}}, "", ""},
		{"protected by UPN glob (case-insensitive)", base(), dir,
			Change{Targets: []Target{{System: "entra", ID: "x", Name: "BreakGlass2@contoso.example"}}}, "protected.upn_globs", `matches "breakglass*@contoso.example"`},
		{"protected by group", base(), dir, Change{Targets: []Target{{System: "entra", ID: "u-tier0", Name: "t0@contoso.example"}}},
			"protected.groups", `holds group "Tier 0"`},
		{"protected by directory role", base(), dir, Change{Targets: []Target{{System: "entra", ID: "u-role", Name: "r@contoso.example"}}},
			"protected.directory_roles", `holds directory role "Global Administrator"`},
		{"ads user protected through its Entra group", base(), dir, Change{Targets: []Target{{System: "ads", ID: "77", Name: "ads@contoso.example"}}},
			"protected.groups", "Tier 0"},
		{"ads user unknown to Entra is not protected", base(), dir, Change{Targets: []Target{{System: "ads", ID: "78", Name: "ext@northwind.example"}}}, "", ""},
		{"entra user unknown to the directory fails closed", base(), dir, Change{Targets: []Target{{System: "entra", ID: "u-ghost", Name: "g@contoso.example"}}},
			"protected.groups", "could not check"},
		{"lookup error fails closed", base(), &fakeDir{err: errors.New("graph: 503 serviceUnavailable")}, Change{Targets: []Target{adele}},
			"protected.groups", "503 serviceUnavailable"},
		{"no directory fails closed", base(), nil, Change{Targets: []Target{adele}}, "protected.groups", "no directory is configured"},
		{"target without UPN refused when globs set", base(), dir, Change{Targets: []Target{{System: "entra", ID: "u-adele"}}}, "protected.upn_globs", "no UPN"},
		{"last Global Administrator", noRolesPolicy, dir, Change{Destructive: true, Targets: []Target{ga1}}, "last Global Administrator", "1 active, 1 targeted"},
		{"last Global Administrator matched by UPN", noRolesPolicy, dir, Change{Destructive: true, Targets: []Target{{System: "entra", ID: "u-ga2", Name: "GA1@contoso.example"}}},
			"last Global Administrator", "without an active Global Administrator"},
		{"one of two Global Administrators allowed", noRolesPolicy, twoAdmins, Change{Destructive: true, Targets: []Target{ga1}}, "", ""},
		{"both Global Administrators refused", noRolesPolicy, twoAdmins, Change{Destructive: true, Targets: []Target{ga1, {System: "entra", ID: "u-ga2", Name: "ga2@contoso.example"}}},
			"last Global Administrator", "2 active, 2 targeted"},
		{"write to a Global Administrator is not a removal", noRolesPolicy, dir, Change{Targets: []Target{ga1}}, "", ""},
		{"admin count failure fails closed", with(func(p *Policy) { p.Protected = Protected{} }), &fakeDir{err: errors.New("timeout")},
			Change{Destructive: true, Targets: []Target{adele}}, "last Global Administrator", "could not count"},
		{"empty admin list fails closed", with(func(p *Policy) { p.Protected = Protected{} }), &fakeDir{},
			Change{Destructive: true, Targets: []Target{adele}}, "last Global Administrator", "cannot be completed"},
		{"ads-only destructive change needs no admin count", with(func(p *Policy) { p.Protected = Protected{} }), nil,
			Change{Destructive: true, Targets: []Target{{System: "ads", ID: "5", Name: "x@contoso.example"}}}, "", ""},
		{"super admin refused", base(), dir, Change{AdsRoles: []int{203, 41}}, "ads.allow_super_admin", "Super Admin"},
		{"super admin allowed by policy", with(func(p *Policy) { p.AllowAdsSuperAdmin = true }), dir, Change{AdsRoles: []int{41}}, "", ""},
		{"standard role allowed", base(), dir, Change{AdsRoles: []int{203}}, "", ""},
		{"invitation domain allowed", base(), dir, Change{Invitations: []string{"a@contoso.example", "b@eu.fabrikam.example"}}, "", ""},
		{"invitation domain refused", base(), dir, Change{Invitations: []string{"a@evil.example"}}, "domains.invitations", `domain "evil.example"`},
		{"subdomain glob does not match apex", base(), dir, Change{Invitations: []string{"a@fabrikam.example"}}, "domains.invitations", "not allowed"},
		{"invitation without domain", base(), dir, Change{Invitations: []string{"nobody"}}, "domains.invitations", "not an address"},
		{"new user domain refused", base(), dir, Change{NewUsers: []string{"n@fabrikam.example"}}, "domains.new_users", "contoso.example"},
		{"empty allow-list allows nothing", with(func(p *Policy) { p.NewUserDomains = nil }), dir, Change{NewUsers: []string{"n@contoso.example"}}, "domains.new_users", "the list is empty"},
		{"too many targets", base(), dir, Change{Targets: []Target{adele, adele, adele, adele}}, "max_targets_per_call", "changes 4 principals and the policy allows at most 3"},
		{"too many invitations", base(), dir, Change{Invitations: []string{"a@contoso.example", "b@contoso.example", "c@contoso.example", "d@contoso.example"}}, "max_targets_per_call", "4"},
		{"outside the change window", with(func(p *Policy) { p.Window = window }), dir, Change{Targets: []Target{adele}}, "change_window", "mon 08:00-09:00 UTC; it is now mon 10:00"},
		{"inside the change window", with(func(p *Policy) {
			p.Window = &Window{Days: window.Days, Start: 8 * 60, End: 11 * 60, Location: time.UTC}
		}), dir,
			Change{Targets: []Target{adele}}, "", ""},
		{"read_only in the file", with(func(p *Policy) { p.ReadOnly = true }), dir, Change{Targets: []Target{adele}}, "read_only", "read_only: true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Evaluate(context.Background(), tt.dir, tt.c, monday10)
			if tt.wantRule == "" {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) || r.Rule != tt.wantRule || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("want refusal by %s containing %q, got %v", tt.wantRule, tt.wantText, err)
			}
		})
	}
}

func TestLookupErrorIsWrapped(t *testing.T) {
	cause := errors.New("throttled")
	err := Default().Evaluate(context.Background(), &fakeDir{err: cause}, Change{Destructive: true, Targets: []Target{{System: "entra", ID: "u"}}}, time.Now())
	if !errors.Is(err, cause) {
		t.Fatalf("lookup failure not wrapped: %v", err)
	}
}
