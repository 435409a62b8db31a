package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/msidm/msidm/policy"
	"github.com/msidm/msidm/snapshot"
)

// The snapshot tools keep a local copy of both systems in the state store (package
// snapshot): entra_delta_sync and ads_sync refresh it and page through its change log;
// access_review joins the copies. Their descriptions and schemas are kept short: tools/list
// has a 40 KB budget.

type changesPage struct {
	Since *int64 `json:"since,omitempty" jsonschema_description:"Changes after this seq."`
	Limit int    `json:"limit,omitempty"` // 1-500 (validateLimit)
}

func (in *changesPage) validate() error {
	if in.Since != nil && *in.Since < 0 {
		return inputError("since must be a seq from a previous result (0 or more)")
	}
	return validateLimit(in.Limit)
}

type entraSyncInput struct {
	Select  []string `json:"select,omitempty" jsonschema_description:"Properties to track."`
	FromNow bool     `json:"from_now,omitempty" jsonschema_description:"Start at now; read no users."`
	Full    bool     `json:"full,omitempty"` // read every user again
	changesPage
}

func (in *entraSyncInput) validate() error {
	if in.FromNow && in.Full {
		return inputError("from_now and full exclude each other")
	}
	for _, p := range in.Select {
		if strings.ContainsAny(p, " ,/?&$") || p == "" {
			return inputError("select %q is not a user property name", p)
		}
	}
	return in.changesPage.validate()
}

// SyncResult is the output of both sync tools: what the sync applied and one page of the
// change log.
type SyncResult struct {
	Full      bool              `json:"full_round,omitempty"`
	Resumed   bool              `json:"resumed,omitempty"`
	Resynced  string            `json:"resynced,omitempty"`
	Complete  bool              `json:"complete"`
	Pages     int               `json:"pages,omitempty"`
	Objects   int               `json:"objects"`
	Counts    map[string]int    `json:"counts"`
	Changes   []snapshot.Change `json:"changes"`
	NextSince int64             `json:"next_since,omitempty"`
	Errors    []string          `json:"errors,omitempty"`
	system    string
}

// JSONSchema declares only an object: tools/list has a 40 KB budget, and the text rendering
// and the field names explain the result.
func (SyncResult) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{Type: "object"} }

func (r SyncResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s snapshot: %d objects", r.system, r.Objects)
	if r.Pages > 0 {
		fmt.Fprintf(&b, ", %d pages", r.Pages)
	}
	if r.Resumed {
		b.WriteString(", resumed an interrupted round")
	}
	if r.Full {
		b.WriteString(", full round")
	}
	if !r.Complete {
		b.WriteString(" (INCOMPLETE: run a full sync before an access review)")
	}
	b.WriteString("\n")
	if r.Resynced != "" {
		fmt.Fprintf(&b, "resync: %s\n", r.Resynced)
	}
	fmt.Fprintf(&b, "applied: %s\n", formatCounts(r.Counts))
	for _, c := range r.Changes {
		fmt.Fprintf(&b, "- #%d %s %s %s", c.Seq, c.Kind, c.ObjectID, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(&b, " (%s)", c.Detail)
		}
		b.WriteString("\n")
	}
	if r.NextSince > 0 {
		fmt.Fprintf(&b, "more changes: call again with since=%d\n", r.NextSince)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "not read: %s\n", e)
	}
	return b.String()
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "no changes"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + strconv.Itoa(m[k])
	}
	return strings.Join(parts, ", ")
}

var errNoStore = errors.New("the state store is not open (msidm keeps snapshots under MSIDM_STATE_DIR); an operator must fix the state directory and restart msidm")

func (d *Deps) syncer() (*snapshot.Syncer, error) {
	if d.Snapshot == nil {
		return nil, errNoStore
	}
	return &snapshot.Syncer{Store: d.Snapshot, Graph: d.Graph, Ads: d.Ads, Concurrency: d.Concurrency}, nil
}

func entraDeltaSync(d *Deps) Tool {
	return define(spec{Name: "entra_delta_sync", Title: "Sync Entra users",
		Description: "Delta-sync Entra users to the local snapshot; returns counts and changes after since.",
		Toolset:     ToolsetEntra, Effect: policy.Read},
		func(ctx context.Context, call *Call, in entraSyncInput) (SyncResult, error) {
			y, err := d.syncer()
			if err != nil {
				return SyncResult{}, err
			}
			res, err := y.SyncEntra(ctx, snapshot.EntraOptions{Select: in.Select, FromNow: in.FromNow, Full: in.Full,
				Progress: func(pages, changes int) {
					call.Progress(ctx, pages, pages+1, fmt.Sprintf("Entra delta: %d pages, %d changes", pages, changes))
				}})
			if err != nil {
				return SyncResult{}, fmt.Errorf("%w (after %d committed pages; call again to resume from there)", err, res.Pages)
			}
			out := SyncResult{system: "Entra ID", Full: res.Full, Resumed: res.Resumed, Resynced: res.Resynced,
				Complete: res.Complete, Pages: res.Pages, Objects: res.Users, Counts: res.Counts}
			return out, d.changesPage(ctx, &out, res.Scope, in.changesPage, res.Since)
		}, d.errors)
}

func adsSync(d *Deps) Tool {
	return define(spec{Name: "ads_sync", Title: "Sync Ads users",
		Description: "Snapshot all Ads customers' users, roles, invitations; returns counts and changes after since.",
		Toolset:     ToolsetAds, Effect: policy.Read},
		func(ctx context.Context, call *Call, in changesPage) (SyncResult, error) {
			y, err := d.syncer()
			if err != nil {
				return SyncResult{}, err
			}
			res, err := y.SyncAds(ctx, snapshot.AdsOptions{Progress: func(done, total int) {
				call.Progress(ctx, done, total, "snapshotting Microsoft Advertising customers")
			}})
			if err != nil {
				return SyncResult{}, err
			}
			out := SyncResult{system: fmt.Sprintf("Microsoft Advertising (%d customers)", res.Customers), Complete: res.Customers > 0,
				Objects: res.Users, Counts: res.Counts, Errors: res.Errors}
			return out, d.changesPage(ctx, &out, snapshot.AdsScope, in, res.Since)
		}, d.errors)
}

// changesPage fills out with the changes after in.Since (default: those of this sync).
func (d *Deps) changesPage(ctx context.Context, out *SyncResult, scope string, in changesPage, before int64) error {
	since := before
	if in.Since != nil {
		since = *in.Since
	}
	limit := limitOrDefault(in.Limit)
	changes, more, err := d.Snapshot.Changes(ctx, scope, since, limit)
	if err != nil {
		return err
	}
	n := fitBudget(len(changes), func(k int) int { o := *out; o.Changes = changes[:k]; return jsonSize(o) })
	out.Changes = changes[:n]
	if (more || n < len(changes)) && n > 0 {
		out.NextSince = changes[n-1].Seq
	}
	return nil
}

type reviewInput struct {
	Limit  int    `json:"limit,omitempty"` // 1-500 (validateLimit)
	Cursor string `json:"cursor,omitempty"`
}

func (in *reviewInput) validate() error { return validateLimit(in.Limit) }

// ReviewFinding is one access-review finding with the call that acts on it.
type ReviewFinding struct {
	snapshot.Finding
	NextCall string `json:"next_call"`
}

// ReviewResult is access_review's output.
type ReviewResult struct {
	Findings    []ReviewFinding `json:"findings"`
	Count       int             `json:"count"`
	Total       int             `json:"total"`
	NextCursor  string          `json:"next_cursor,omitempty"`
	EntraSynced string          `json:"entra_synced"`
	AdsSynced   string          `json:"ads_synced"`
}

// JSONSchema declares only an object (tools/list budget; see SyncResult).
func (ReviewResult) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{Type: "object"} }

func (r ReviewResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Access review (Entra snapshot %s, Ads snapshot %s): %d of %d findings", r.EntraSynced, r.AdsSynced, r.Count, r.Total)
	if r.NextCursor != "" {
		fmt.Fprintf(&b, " (more: call again with cursor=%s)", r.NextCursor)
	}
	b.WriteString("\n")
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "- [%s] %s: %s", strings.ToUpper(f.Severity), f.Kind, f.Email)
		if f.Roles != "" {
			fmt.Fprintf(&b, " (%s)", f.Roles)
		}
		fmt.Fprintf(&b, ": %s. Next: %s\n", f.Detail, f.NextCall)
	}
	return b.String()
}

func accessReview(d *Deps) Tool {
	return define(spec{Name: "access_review", Title: "Access review",
		Description: "Join the Entra and Ads snapshots: orphaned Ads access, guests with roles, off-policy invitations.",
		Toolset:     ToolsetCross, Effect: policy.Read},
		func(ctx context.Context, call *Call, in reviewInput) (ReviewResult, error) {
			y, err := d.syncer()
			if err != nil {
				return ReviewResult{}, err
			}
			cur, err := decodeCursor(in.Cursor, "access-review")
			if err != nil {
				return ReviewResult{}, err
			}
			rev, err := y.Review(ctx, snapshot.ReviewInput{InvitationDomains: d.Gate.Rules().InvitationDomains})
			var missing *snapshot.MissingSnapshotError
			if errors.As(err, &missing) {
				return ReviewResult{}, inputError("%s; run that first, then access_review again", missing.Error())
			}
			if err != nil {
				return ReviewResult{}, err
			}
			all := make([]ReviewFinding, len(rev.Findings))
			for i, f := range rev.Findings {
				all[i] = ReviewFinding{Finding: f, NextCall: nextCall(f)}
			}
			cur.Scope = "access-review"
			page, next := pageOf(all, cur, in.Limit, func(p []ReviewFinding) any { return ReviewResult{Findings: p} })
			return ReviewResult{Findings: page, Count: len(page), Total: len(all), NextCursor: next,
				EntraSynced: rev.EntraSynced, AdsSynced: rev.AdsSynced}, nil
		}, d.errors)
}

// nextCall names the tool call that acts on a finding, with its arguments.
func nextCall(f snapshot.Finding) string {
	args := func(m map[string]any) string { raw, _ := json.Marshal(m); return string(raw) }
	user := map[string]any{"user": strconv.FormatInt(f.AdsUserID, 10), "customer_id": f.CustomerID}
	switch f.Kind {
	case snapshot.FindingGuestWithAdsRole:
		return "get_ads_user " + args(user) + ", then change_role action=remove if the guest no longer needs it"
	case snapshot.FindingInvitationOutside:
		return "find_user_everywhere " + args(map[string]any{"person": f.Email}) +
			"; invitations cannot be cancelled through the API: a Super Admin cancels it in the Microsoft Advertising UI"
	}
	return "deactivate_ads_user " + args(user)
}
