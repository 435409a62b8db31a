package rules

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Directory answers the questions guard rails ask Microsoft Entra ID. The server implements
// it with the Graph client; every error it returns makes Evaluate refuse (fail closed).
type Directory interface {
	// GroupsOf returns the groups a user belongs to, directly or through nested groups
	// (Graph: GET /users/{id|upn}/transitiveMemberOf/microsoft.graph.group).
	// user is an object id or a UPN. A user the directory does not know returns ErrNotFound.
	GroupsOf(ctx context.Context, user string) ([]Ref, error)
	// DirectoryRolesOf returns the directory roles a user holds, with the role template id
	// as ID and the display name as Name (Graph: transitiveMemberOf/microsoft.graph.directoryRole).
	// A user the directory does not know returns ErrNotFound.
	DirectoryRolesOf(ctx context.Context, user string) ([]Ref, error)
	// ActiveGlobalAdmins returns the Global Administrators whose account is enabled, with
	// object id as ID and UPN as Name. It must return an error rather than a partial list.
	ActiveGlobalAdmins(ctx context.Context) ([]Ref, error)
}

// ErrNotFound is what a Directory returns for a user it does not know.
var ErrNotFound = errors.New("not found in the directory")

// Ref names a directory object by id and display name (or UPN).
type Ref struct {
	ID   string
	Name string
}

// Change is what Evaluate needs to know about a planned write or destructive call.
type Change struct {
	Tool        string
	Destructive bool
	// Targets are every principal the call changes.
	Targets []Target
	// AdsRoles are the Microsoft Advertising role ids the call grants (41 is Super Admin).
	AdsRoles []int
	// Invitations are the e-mail addresses the call invites; NewUsers the UPNs it creates.
	Invitations []string
	NewUsers    []string
}

// Target is one principal a change touches.
type Target struct {
	System string // "entra" or "ads"
	ID     string // Entra object id or Ads user id
	Name   string // UPN or e-mail
}

func (t Target) String() string {
	switch {
	case t.Name != "" && t.ID != "":
		return fmt.Sprintf("%s (%s)", t.Name, t.ID)
	case t.Name != "":
		return t.Name
	}
	return t.ID
}

// Refusal is a guard rail saying no. Rule names the policy setting that refused, so the
// operator knows what to change; Err is the lookup failure when the check could not be done.
type Refusal struct {
	Rule   string
	Reason string
	Err    error
}

func (r *Refusal) Error() string { return fmt.Sprintf("%s: %s", r.Rule, r.Reason) }
func (r *Refusal) Unwrap() error { return r.Err }

// Evaluate applies the guard rails to c at time now. It returns nil when c may go on to
// confirmation, and a *Refusal otherwise. Checks that need the directory call dir; a nil dir
// or any lookup error refuses the change, naming what could not be checked.
func (p *Policy) Evaluate(ctx context.Context, dir Directory, c Change, now time.Time) error {
	// The Global Administrator count does not depend on the other checks: start it now so its
	// round trips overlap the protected-principal lookups instead of following them.
	admins := p.startAdminCount(ctx, dir, c)
	checks := []func() error{
		func() error { return p.checkReadOnly() },
		func() error { return p.checkTargets(c) },
		func() error { return p.checkWindow(now) },
		func() error { return p.checkAdsRoles(c) },
		func() error { return p.checkDomains(c) },
		func() error { return p.checkProtected(ctx, dir, c) },
		func() error { return p.checkLastGlobalAdmin(dir, c, admins) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (p *Policy) checkReadOnly() error {
	if p.ReadOnly {
		return &Refusal{Rule: "read_only", Reason: fmt.Sprintf("the policy file %s sets read_only: true", p.Source)}
	}
	return nil
}

func (p *Policy) checkTargets(c Change) error {
	n := max(len(c.Targets), len(c.Invitations)+len(c.NewUsers))
	if n > p.MaxTargets {
		return &Refusal{Rule: "max_targets_per_call", Reason: fmt.Sprintf(
			"the call changes %d principals and the policy allows at most %d per call; split it into smaller calls", n, p.MaxTargets)}
	}
	return nil
}

func (p *Policy) checkWindow(now time.Time) error {
	if p.Window == nil || p.Window.Open(now) {
		return nil
	}
	local := now.In(p.Window.Location)
	return &Refusal{Rule: "change_window", Reason: fmt.Sprintf("changes are allowed only %s; it is now %s %s",
		p.Window, dayNames[local.Weekday()], local.Format("15:04"))}
}

func (p *Policy) checkAdsRoles(c Change) error {
	if slices.Contains(c.AdsRoles, AdsSuperAdminRole) && !p.AllowAdsSuperAdmin {
		return &Refusal{Rule: "ads.allow_super_admin", Reason: "granting the Microsoft Advertising Super Admin role is not allowed; " +
			"grant Standard instead, or set ads.allow_super_admin: true in the policy file"}
	}
	return nil
}

func (p *Policy) checkDomains(c Change) error {
	for _, list := range []struct {
		rule    string
		allowed []string
		addrs   []string
	}{{"domains.invitations", p.InvitationDomains, c.Invitations}, {"domains.new_users", p.NewUserDomains, c.NewUsers}} {
		for _, addr := range list.addrs {
			at := strings.LastIndexByte(addr, '@')
			if at < 0 || at == len(addr)-1 {
				return &Refusal{Rule: list.rule, Reason: fmt.Sprintf("%q is not an address with a domain", addr)}
			}
			domain := strings.ToLower(addr[at+1:])
			if !matchAny(list.allowed, domain) {
				allowed := "nothing (the list is empty)"
				if len(list.allowed) > 0 {
					allowed = strings.Join(list.allowed, ", ")
				}
				return &Refusal{Rule: list.rule, Reason: fmt.Sprintf("domain %q of %s is not allowed; the policy allows %s", domain, addr, allowed)}
			}
		}
	}
	return nil
}

// checkProtected refuses any change to a protected principal, matched by UPN glob, group
// membership or directory role. Ads users are matched by e-mail, and looked up in the
// directory by that address; an Ads user unknown to Entra holds no groups or roles.
func (p *Policy) checkProtected(ctx context.Context, dir Directory, c Change) error {
	pr := p.Protected
	looked := prefetch(ctx, dir, c.Targets, len(pr.Groups) > 0, len(pr.DirectoryRoles) > 0)
	for _, t := range c.Targets {
		if len(pr.UPNGlobs) > 0 {
			if t.Name == "" {
				return &Refusal{Rule: "protected.upn_globs", Reason: fmt.Sprintf("target %s has no UPN or e-mail to check; refusing", t)}
			}
			if g, ok := firstMatch(pr.UPNGlobs, strings.ToLower(t.Name)); ok {
				return &Refusal{Rule: "protected.upn_globs", Reason: fmt.Sprintf("%s is protected (matches %q); msidm never changes it", t, g)}
			}
		}
		if len(pr.Groups) == 0 && len(pr.DirectoryRoles) == 0 {
			continue
		}
		key := t.Name
		if t.System == "entra" && t.ID != "" {
			key = t.ID
		}
		for _, q := range []struct {
			rule   string
			want   []string
			lookup func(context.Context, string) ([]Ref, error)
			what   string
		}{
			{"protected.groups", pr.Groups, looked.groups, "group"},
			{"protected.directory_roles", pr.DirectoryRoles, looked.roles, "directory role"},
		} {
			if len(q.want) == 0 {
				continue
			}
			refs, err := q.lookup(ctx, key)
			if errors.Is(err, ErrNotFound) && t.System != "entra" {
				continue
			}
			if err != nil {
				return &Refusal{Rule: q.rule, Err: err, Reason: fmt.Sprintf(
					"could not check whether %s is protected (%s lookup failed: %v); refusing until the check can be completed", t, q.what, err)}
			}
			if r, ok := refMatch(q.want, refs); ok {
				return &Refusal{Rule: q.rule, Reason: fmt.Sprintf("%s is protected (holds %s %q); msidm never changes it", t, q.what, r)}
			}
		}
	}
	return nil
}

// checkLastGlobalAdmin refuses a destructive change that would leave the tenant without an
// active Global Administrator. It counts conservatively: any destructive change to an
// active Global Administrator counts as removing one.
// needsAdminCount reports whether c could remove an active Global Administrator.
func needsAdminCount(c Change) bool {
	return c.Destructive && slices.ContainsFunc(c.Targets, func(t Target) bool { return t.System == "entra" })
}

// adminCount is an ActiveGlobalAdmins call in flight.
type adminCount struct {
	done   chan struct{}
	admins []Ref
	err    error
}

func (p *Policy) startAdminCount(ctx context.Context, dir Directory, c Change) *adminCount {
	if !needsAdminCount(c) || dir == nil {
		return nil
	}
	a := &adminCount{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.admins, a.err = dir.ActiveGlobalAdmins(ctx)
	}()
	return a
}

func (p *Policy) checkLastGlobalAdmin(dir Directory, c Change, count *adminCount) error {
	if !needsAdminCount(c) {
		return nil
	}
	const rule = "last Global Administrator"
	if dir == nil || count == nil {
		return &Refusal{Rule: rule, Reason: "no directory is available to count the active Global Administrators; refusing"}
	}
	<-count.done
	admins, err := count.admins, count.err
	if err != nil {
		return &Refusal{Rule: rule, Err: err, Reason: fmt.Sprintf(
			"could not count the active Global Administrators (%v); refusing until the check can be completed", err)}
	}
	if len(admins) == 0 {
		return &Refusal{Rule: rule, Reason: "the directory reports no active Global Administrator, so the check cannot be completed; refusing"}
	}
	var hit []string
	for _, t := range c.Targets {
		if t.System != "entra" {
			continue
		}
		for _, a := range admins {
			if (t.ID != "" && strings.EqualFold(t.ID, a.ID)) || (t.Name != "" && strings.EqualFold(t.Name, a.Name)) {
				hit = append(hit, t.String())
				break
			}
		}
	}
	if len(hit) > 0 && len(hit) >= len(admins) {
		return &Refusal{Rule: rule, Reason: fmt.Sprintf(
			"%s would leave the tenant without an active Global Administrator (%d active, %d targeted); assign another Global Administrator first",
			strings.Join(hit, ", "), len(admins), len(hit))}
	}
	return nil
}

// lookups holds the answers of the directory for every target, fetched concurrently: a plan
// with several targets would otherwise wait for two sequential lookups per target.
type lookups struct {
	mu          sync.Mutex
	groupAnswer map[string]answer
	roleAnswer  map[string]answer
}

type answer struct {
	refs []Ref
	err  error
}

func (l *lookups) groups(_ context.Context, key string) ([]Ref, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.groupAnswer[key]
	if !ok { // a target without an id or name: nothing could be looked up, so fail closed
		return nil, fmt.Errorf("the target has no id or name to look up")
	}
	return a.refs, a.err
}

func (l *lookups) roles(_ context.Context, key string) ([]Ref, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.roleAnswer[key]
	if !ok { // a target without an id or name: nothing could be looked up, so fail closed
		return nil, fmt.Errorf("the target has no id or name to look up")
	}
	return a.refs, a.err
}

// prefetch asks the directory about every target at once (at most 8 lookups in flight). The
// evaluation then reads the answers in target order, so which refusal is reported first does
// not depend on timing.
func prefetch(ctx context.Context, dir Directory, targets []Target, groups, roles bool) *lookups {
	l := &lookups{groupAnswer: map[string]answer{}, roleAnswer: map[string]answer{}}
	if !groups && !roles {
		return l
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	ask := func(dst map[string]answer, key string, m func(Directory, context.Context, string) ([]Ref, error)) {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			refs, err := dirFunc(dir, m)(ctx, key)
			l.mu.Lock()
			dst[key] = answer{refs, err}
			l.mu.Unlock()
		})
	}
	seen := map[string]bool{}
	for _, t := range targets {
		key := t.Name
		if t.System == "entra" && t.ID != "" {
			key = t.ID
		}
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		if groups {
			ask(l.groupAnswer, key, Directory.GroupsOf)
		}
		if roles {
			ask(l.roleAnswer, key, Directory.DirectoryRolesOf)
		}
	}
	wg.Wait()
	return l
}

// dirFunc binds a Directory method to dir, failing every call when dir is nil.
func dirFunc(dir Directory, m func(Directory, context.Context, string) ([]Ref, error)) func(context.Context, string) ([]Ref, error) {
	return func(ctx context.Context, user string) ([]Ref, error) {
		if dir == nil {
			return nil, errors.New("no directory is configured")
		}
		return m(dir, ctx, user)
	}
}

func matchAny(globs []string, s string) bool {
	_, ok := firstMatch(globs, s)
	return ok
}

func firstMatch(globs []string, s string) (string, bool) {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return g, true
		}
	}
	return "", false
}

// refMatch finds the first ref whose id or name equals one of want, ignoring case.
func refMatch(want []string, refs []Ref) (string, bool) {
	for _, r := range refs {
		for _, w := range want {
			if strings.EqualFold(w, r.ID) || strings.EqualFold(w, r.Name) {
				return w, true
			}
		}
	}
	return "", false
}
