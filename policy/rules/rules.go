// Package rules holds msidm's guard rails: the policy file (YAML, validated at start with
// line-numbered errors) and the evaluation of a planned change against it. It knows nothing
// of MCP or of the Gate; package policy translates a Plan into a Change and asks Evaluate.
//
// The schema is documented in policy/examples/policy.yaml, which ships ready to use.
package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // change_window.timezone must resolve on hosts without a zoneinfo database
)

// DefaultMaxTargets is max_targets_per_call when the policy file does not set it.
const DefaultMaxTargets = 10

// AdsSuperAdminRole is the Customer Management role id of Super Admin
// (../shared/reference/ads/NOTES.md, role ids table).
const AdsSuperAdminRole = 41

// Confirmation modes a policy may enable, in the order a confirmer should try them.
const (
	ModeElicitation = "elicitation"
	ModeApproval    = "approval"
	ModeCode        = "code"
)

// Policy is a validated policy file. The zero value is not meant to be used; start from
// Default, Parse or Load.
type Policy struct {
	// Source names where the policy came from (file path or "built-in defaults").
	Source string
	// ReadOnly refuses every write and destructive call; it adds to --read-only, never removes it.
	ReadOnly bool
	// ConfirmWrites asks a human to confirm writes too, not only destructive calls.
	ConfirmWrites bool
	// ConfirmationModes are the confirmation mechanisms allowed, in order of preference.
	ConfirmationModes []string
	Protected         Protected
	// AllowAdsSuperAdmin permits plans that grant the Microsoft Advertising Super Admin role.
	AllowAdsSuperAdmin bool
	// InvitationDomains and NewUserDomains are lower-case domain globs; an empty list allows nothing.
	InvitationDomains []string
	NewUserDomains    []string
	// MaxTargets is the largest number of principals one call may change.
	MaxTargets int
	// Window, when not nil, is the only time changes may run.
	Window *Window
}

// Protected lists the principals no call may change.
type Protected struct {
	UPNGlobs       []string // lower-case path.Match globs on the UPN or e-mail
	Groups         []string // group display names or object ids (membership as the Directory reports it)
	DirectoryRoles []string // directory role display names or role template ids
}

// Window is a weekly change window in one time zone.
type Window struct {
	Days       []time.Weekday
	Start, End int // minutes after midnight; End < Start means the window runs past midnight
	Location   *time.Location
}

// Default is the policy in force without a policy file: no protected principals, no domains
// allowed for invitations or new users, at most DefaultMaxTargets targets per call.
func Default() *Policy {
	return &Policy{
		Source:            "built-in defaults",
		ConfirmationModes: []string{ModeElicitation, ModeApproval, ModeCode},
		MaxTargets:        DefaultMaxTargets,
	}
}

// Load reads and validates a policy file. Errors name the file and line of every problem.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	p, err := Parse(data, filepath.Base(path))
	if err != nil {
		return nil, err
	}
	p.Source = path
	return p, nil
}

// String renders the window as the operator wrote it: "mon,tue 08:00-18:00 Europe/Dublin".
func (w *Window) String() string {
	days := make([]string, len(w.Days))
	for i, d := range w.Days {
		days[i] = dayNames[d]
	}
	return fmt.Sprintf("%s %s-%s %s", strings.Join(days, ","), clock(w.Start), clock(w.End), w.Location)
}

// Open reports whether t falls inside the window. A window past midnight (22:00-02:00)
// belongs to the day it starts on.
func (w *Window) Open(t time.Time) bool {
	t = t.In(w.Location)
	m := t.Hour()*60 + t.Minute()
	day := t.Weekday()
	if w.Start < w.End {
		return slices.Contains(w.Days, day) && m >= w.Start && m < w.End
	}
	if m >= w.Start {
		return slices.Contains(w.Days, day)
	}
	return m < w.End && slices.Contains(w.Days, (day+6)%7)
}

var dayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
