package tools

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/clients/redact"
	"github.com/msidm/msidm/offboard"
	"github.com/msidm/msidm/policy"
	"github.com/msidm/msidm/policy/audit"
	"github.com/msidm/msidm/snapshot"
)

// Deps are the clients and settings tools use. A nil client means its system is not
// configured; its toolset must then be deselected (see Select).
type Deps struct {
	Graph         *graph.Client
	Ads           ads.Service
	AdsCustomerID int64
	// Concurrency bounds parallel calls to one service within a tool call (default 16).
	Concurrency int
	Redactor    *redact.Redactor
	Logger      *slog.Logger
	// Gate decides every mutating call (guard rails, confirmation, audit).
	Gate *policy.Gate
	// Audit backs the msidm://audit/recent resource; nil hides it.
	Audit *audit.Log
	// Approvals answers check_approval; nil when the approval page is off.
	Approvals ApprovalChecker
	Journal   *offboard.Journal // offboarding runs; nil: an in-memory journal (tools/offboard.go)
	Snapshot  *snapshot.Store   // entra_delta_sync, ads_sync, access_review; nil: they report it

	errors *errorShaper
}

// All returns every tool msidm offers, in catalogue order. Clients in d may be nil when
// the caller only needs the definitions (msidm tools).
func All(d *Deps) []Tool {
	if d.Concurrency == 0 {
		d.Concurrency = 16
	}
	if d.Redactor == nil {
		d.Redactor = &redact.Redactor{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Gate == nil {
		d.Gate = policy.NewGate(policy.Config{})
	}
	d.errors = &errorShaper{redactor: d.Redactor}
	return []Tool{
		listAdsUsers(d),
		getAdsUser(d),
		inviteUser(d),
		listInvitations(d),
		changeRole(d),
		updateAdsUser(d),
		deactivateAdsUser(d),
		adsWhoAmI(d),
		listEntraUsers(d),
		getEntraUser(d),
		createUserTool(d),
		updateUserTool(d),
		setEnabledTool(d, false),
		setEnabledTool(d, true),
		revokeSessionsTool(d),
		licenseTool(d, true),
		licenseTool(d, false),
		groupMemberTool(d, true),
		groupMemberTool(d, false),
		setManagerTool(d),
		deleteUserTool(d),
		restoreUserTool(d),
		listDeletedUsers(d),
		listSKUs(d),
		listGroups(d),
		entraDeltaSync(d),
		adsSync(d),
		findUserEverywhere(d),
		accessReview(d),
		offboardEverywhere(d),
		offboardStatus(d),
		offboardResume(d),
		checkApproval(d),
	}
}

// Selection narrows the catalogue: --toolsets and --tools.
type Selection struct {
	Toolsets []string // empty: all
	Tools    []string // empty: all tools of the selected toolsets
}

// Select applies sel to all, and reports unknown names with the valid ones.
func Select(all []Tool, sel Selection) ([]Tool, error) {
	for _, ts := range sel.Toolsets {
		if !slices.Contains(Toolsets, Toolset(ts)) {
			return nil, fmt.Errorf("unknown toolset %q in --toolsets/MSIDM_TOOLSETS; valid toolsets: %s", ts, joinToolsets())
		}
	}
	names := map[string]bool{}
	for _, t := range all {
		names[t.Def.Name] = true
	}
	for _, n := range sel.Tools {
		if !names[n] {
			return nil, fmt.Errorf("unknown tool %q in --tools/MSIDM_TOOLS; run 'msidm tools' for the list", n)
		}
	}
	var out []Tool
	for _, t := range all {
		// Tools of no toolset (check_approval) serve every toolset.
		if len(sel.Toolsets) > 0 && t.Toolset != "" && !slices.Contains(sel.Toolsets, string(t.Toolset)) {
			continue
		}
		if len(sel.Tools) > 0 && !slices.Contains(sel.Tools, t.Def.Name) {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func joinToolsets() string {
	s := make([]string, len(Toolsets))
	for i, t := range Toolsets {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// ServerInfo names the server in the MCP handshake.
type ServerInfo struct {
	Name    string
	Version string
}

const instructions = `msidm manages the user lifecycle of a company's Microsoft estate: Microsoft Entra ID (Graph) and Microsoft Advertising (Customer Management).
List tools return compact pages; pass next_cursor back as cursor to continue. Errors say what to do next.`

// NewServer builds the MCP server with the tools the gate lets through. Every call passes
// gate.Check before its handler runs; tools the gate hides are not listed and cannot be called.
func NewServer(info ServerInfo, d *Deps, tools []Tool, gate *policy.Gate, logger *slog.Logger) *server.MCPServer {
	s := server.NewMCPServer(info.Name, info.Version,
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(false, false),
		server.WithPromptCapabilities(false),
		server.WithInstructions(instructions),
		server.WithRecovery(),
		// No server.WithInputSchemaValidation: its messages ("<root>: &{Properties:[x]}") do
		// not help a model; every tool decodes strictly and validates with messages that name
		// the field and the fix (tool.go).
	)
	mutating := false
	for _, t := range tools {
		mutating = mutating || (t.Effect != policy.Read && gate.Visible(t.Effect))
	}
	for _, t := range tools {
		// Tools of no toolset (check_approval) only matter when something can be approved.
		if !gate.Visible(t.Effect) || (t.Toolset == "" && !mutating) {
			continue
		}
		s.AddTool(t.Def, gated(gate, t, logger))
	}
	d.resources(s)
	prompts(s)
	return s
}

// gated runs the policy check before the handler: nothing reaches a client unless the gate
// allows the call.
func gated(gate *policy.Gate, t Tool, logger *slog.Logger) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if err := gate.Check(ctx, policy.Call{Tool: t.Def.Name, Effect: t.Effect}); err != nil {
			logger.Warn("tool call refused by policy", "tool", t.Def.Name, "effect", t.Effect.String(), "err", err)
			return mcp.NewToolResultError(explain(err)), nil
		}
		res, err := t.Handler(ctx, req)
		if res != nil && res.IsError {
			logger.Info("tool call failed", "tool", t.Def.Name)
		} else {
			logger.Debug("tool call done", "tool", t.Def.Name)
		}
		return res, err
	}
}
