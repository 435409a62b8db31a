// Package policy decides whether a tool call may run. Every tool declares its effect (read,
// write or destructive) and every call passes through a Gate before any backend call.
//
// Gate.Check refuses undeclared effects and read-only mode. Gate.Confirm is the one way a
// write or destructive call may proceed: it applies the guard rails of policy/rules, asks
// the Confirmer for a human's confirmation, and writes an intent to the policy/audit log
// before the call runs; the tool reports the outcome through Confirmation.Finish.
package policy

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/msidm/msidm/policy/audit"
	"github.com/msidm/msidm/policy/rules"
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
	// ReadOnly refuses every write and destructive call; it wins over every other setting,
	// including a policy file that says otherwise.
	ReadOnly bool
	// ConfirmWrites asks a human to confirm writes too, not only destructive calls (the
	// policy file's confirm_writes adds to it).
	ConfirmWrites bool
	// Rules are the guard rails from the policy file; nil means rules.Default().
	Rules *rules.Policy
	// Directory answers the guard rails' Entra questions (groups, roles, Global
	// Administrators); without it, checks that need it refuse.
	Directory rules.Directory
	// Audit records every write and destructive call before and after it runs; without it,
	// no write or destructive call may run.
	Audit *audit.Log
	// Caller names who is calling, for the audit log: "stdio operator" or the HTTP token's
	// subject. nil records "unknown".
	Caller func(ctx context.Context) string
	// Logger receives reloads and audit failures; nil discards them.
	Logger *slog.Logger
	// Now is the clock for the change window; nil means time.Now.
	Now func() time.Time
}

// Gate applies a Config to tool calls. It is safe for concurrent use; Reload swaps the
// guard rails while calls are in flight.
type Gate struct {
	cfg       Config
	rules     atomic.Pointer[rules.Policy]
	confirmer Confirmer
}

// NewGate returns a Gate for cfg.
func NewGate(cfg Config) *Gate {
	g := &Gate{cfg: cfg}
	if cfg.Rules == nil {
		cfg.Rules = rules.Default()
	}
	g.rules.Store(cfg.Rules)
	return g
}

// Config returns the configuration the Gate was built with (Rules as first given; see Rules).
func (g *Gate) Config() Config { return g.cfg }

// Rules returns the guard rails in force now.
func (g *Gate) Rules() *rules.Policy { return g.rules.Load() }

// Reload reads and validates the policy file at path and puts it in force. On any error the
// policy in force is kept and the error (with file:line of every problem) returned.
func (g *Gate) Reload(path string) error {
	p, err := rules.Load(path)
	if err != nil {
		return err
	}
	g.rules.Store(p)
	return nil
}

// ReloadOn calls Reload(path) for every value received on signals (the caller subscribes it
// to SIGHUP with signal.Notify) until ctx ends, logging the result: a bad file is reported
// and the policy in force kept.
func (g *Gate) ReloadOn(ctx context.Context, path string, signals <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-signals:
			if err := g.Reload(path); err != nil {
				g.logger().Error("policy reload failed; keeping the policy in force", "file", path, "in_force", g.Rules().Source, "err", err)
				continue
			}
			g.logger().Info("policy reloaded", "file", path)
		}
	}
}

func (g *Gate) logger() *slog.Logger {
	if g.cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.cfg.Logger
}

func (g *Gate) now() time.Time {
	if g.cfg.Now == nil {
		return time.Now()
	}
	return g.cfg.Now()
}

func (g *Gate) caller(ctx context.Context) string {
	if g.cfg.Caller == nil {
		return "unknown"
	}
	if c := g.cfg.Caller(ctx); c != "" {
		return c
	}
	return "unknown"
}

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

// Visible reports whether a tool of this effect is offered at all (tools/list). A reload
// that turns read_only on changes the answer; tools already listed are still refused by Check.
func (g *Gate) Visible(e Effect) bool {
	return e == Read || !(g.cfg.ReadOnly || g.Rules().ReadOnly)
}

// Check decides one call before anything reaches Microsoft. A nil error means allowed.
func (g *Gate) Check(_ context.Context, c Call) error {
	switch {
	case c.Effect != Read && c.Effect != Write && c.Effect != Destructive:
		// A tool that forgot to declare its effect is never trusted.
		return &Denied{Call: c, Reason: "the tool declares no effect; this is a bug in msidm"}
	case g.cfg.ReadOnly && c.Effect != Read:
		return &Denied{Call: c, Reason: "msidm runs in read-only mode (--read-only or MSIDM_READ_ONLY); restart it without read-only to make changes"}
	case g.Rules().ReadOnly && c.Effect != Read:
		return &Denied{Call: c, Reason: fmt.Sprintf("msidm runs in read-only mode (read_only: true in %s); change the policy file and reload to make changes", g.Rules().Source)}
	}
	return nil
}
