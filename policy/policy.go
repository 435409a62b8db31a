// Package policy decides whether a tool call may run. Every tool declares its effect (read,
// write or destructive) and every call passes through a Gate before any backend call.
//
// This first slice enforces read-only mode; confirmation of destructive calls, guard rails,
// dry runs and the audit log are built on the same Gate by the policy-layer issue.
package policy

import (
	"context"
	"fmt"
)

// Effect classifies what a tool does to the systems it manages.
type Effect int

const (
	// Read changes nothing.
	Read Effect = iota + 1
	// Write changes state in a way that is easy to undo (invite, update a profile).
	Write
	// Destructive removes access or data (deactivate, disable, delete, remove a role or
	// licence or membership, revoke sessions, offboard).
	Destructive
)

func (e Effect) String() string {
	switch e {
	case Read:
		return "read"
	case Write:
		return "write"
	case Destructive:
		return "destructive"
	}
	return fmt.Sprintf("Effect(%d)", int(e))
}

// Config is the policy in force.
type Config struct {
	// ReadOnly refuses every write and destructive call; it wins over every other setting.
	ReadOnly bool
	// ConfirmWrites asks a human to confirm writes too, not only destructive calls.
	ConfirmWrites bool
}

// Gate applies a Config to tool calls.
type Gate struct {
	cfg       Config
	confirmer Confirmer
}

// NewGate returns a Gate for cfg.
func NewGate(cfg Config) *Gate { return &Gate{cfg: cfg} }

// Config returns the policy in force.
func (g *Gate) Config() Config { return g.cfg }

// Call describes one tool call as the policy sees it.
type Call struct {
	Tool   string
	Effect Effect
}

// Denied is a refusal the caller can act on: the message names the setting that refused.
type Denied struct {
	Call   Call
	Reason string
}

func (d *Denied) Error() string {
	return fmt.Sprintf("%s refused by policy: %s", d.Call.Tool, d.Reason)
}

// Visible reports whether a tool of this effect is offered at all (tools/list).
func (g *Gate) Visible(e Effect) bool {
	return !(g.cfg.ReadOnly && e != Read)
}

// Check decides one call before anything reaches Microsoft. A nil error means allowed.
func (g *Gate) Check(_ context.Context, c Call) error {
	switch {
	case c.Effect != Read && c.Effect != Write && c.Effect != Destructive:
		// A tool that forgot to declare its effect is never trusted.
		return &Denied{Call: c, Reason: "the tool declares no effect; this is a bug in msidm"}
	case g.cfg.ReadOnly && c.Effect != Read:
		return &Denied{Call: c, Reason: "msidm runs in read-only mode (--read-only or MSIDM_READ_ONLY); restart it without read-only to make changes"}
	}
	return nil
}
