package snapshot

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/clients/graph"
)

// DefaultSelect is the identity property set tracked when no $select is given: what the
// access review needs to match a person by any of their addresses.
var DefaultSelect = []string{"id", "userPrincipalName", "mail", "otherMails", "proxyAddresses", "accountEnabled", "userType", "displayName"}

// Syncer refreshes a Store from Microsoft Graph and Customer Management. A zero Concurrency
// means 8 GetUser calls in flight. Build one per caller; the Store serialises their syncs.
type Syncer struct {
	Store       *Store
	Graph       *graph.Client
	Ads         ads.Service
	Concurrency int
}

// EntraOptions tune one SyncEntra call. The zero value continues incrementally (or starts
// the first full round) with DefaultSelect.
type EntraOptions struct {
	Select []string // tracked properties; the deltaLink is kept per (tenant, select set)
	// FromNow starts tracking at the current state ($deltatoken=latest) without reading the
	// users: the snapshot keeps only what later rounds report and is marked incomplete.
	FromNow bool
	// Full discards the stored link and reads every user again; users the full round does not
	// report are logged as deleted.
	Full bool
	// Progress is called after each committed page.
	Progress func(pages, changes int)
	// AfterPage is called after each committed page; an error stops the sync there, as a
	// crash would (tests use it).
	AfterPage func(page int) error
}

// EntraResult reports one SyncEntra call.
type EntraResult struct {
	Scope    string         // change-log scope of this (tenant, select set)
	Resumed  bool           // continued a round an earlier call left between pages
	Full     bool           // a full round ran (first sync, full, or resync)
	Resynced string         // why an automatic full resync ran ("" if none)
	Pages    int            // pages committed by this call
	Counts   map[string]int // applied changes by kind (KindBaseline for a first snapshot)
	Since    int64          // the change log's last sequence number before this call
	Users    int            // users in the snapshot after the call (soft-deleted included)
	Complete bool           // the snapshot holds every user (a full round has finished)
}

type entraCursor struct {
	link      string
	inRound   bool
	roundKind string
	round     int64
	complete  bool
}

const (
	roundIncremental = ""
	roundFull        = "full"
	roundBaseline    = "baseline"
)

// EntraScope is the change-log scope of an Entra snapshot: tenant and sorted select set.
func EntraScope(tenant string, sel []string) string {
	return tenant + "|" + strings.Join(normalizeSelect(sel), ",")
}

func normalizeSelect(sel []string) []string {
	if len(sel) == 0 {
		sel = DefaultSelect
	}
	out := []string{"id"}
	for _, p := range sel {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func (y *Syncer) tenant() string {
	if y.Store.opts.Tenant != "" {
		return y.Store.opts.Tenant
	}
	if y.Graph != nil {
		return y.Graph.BaseURL()
	}
	return ""
}

// SyncEntra runs /users/delta from the stored link, committing each page with the link that
// follows it. An expired or invalid token starts one full round again (reported in
// Resynced). When ctx ends, the pages committed so far stay and the next call resumes.
func (y *Syncer) SyncEntra(ctx context.Context, opts EntraOptions) (EntraResult, error) {
	if y.Graph == nil {
		return EntraResult{}, errors.New("snapshot: no Graph client")
	}
	unlock, err := lock(ctx, y.Store.entra)
	if err != nil {
		return EntraResult{}, err
	}
	defer unlock()
	sel := normalizeSelect(opts.Select)
	res := EntraResult{Scope: EntraScope(y.tenant(), sel), Counts: map[string]int{}}
	if res.Since, err = y.Store.LastSeq(ctx); err != nil {
		return res, err
	}
	cur, found, err := y.Store.entraCursor(ctx, res.Scope)
	if err != nil {
		return res, err
	}
	switch {
	case opts.FromNow:
		cur = entraCursor{link: y.Graph.DeltaURL(graph.DeltaOptions{Select: sel, Latest: true}), inRound: true, round: cur.round}
	case !found || opts.Full || cur.link == "":
		cur, err = y.Store.startFullRound(ctx, res.Scope, cur, y.Graph.DeltaURL(graph.DeltaOptions{Select: sel}))
		if err != nil {
			return res, err
		}
	default:
		res.Resumed = cur.inRound
	}
	res.Full = cur.roundKind != roundIncremental
	for cur.link != "" {
		page, err := y.Graph.DeltaPageAt(ctx, cur.link)
		if graph.DeltaTokenExpired(err) && res.Resynced == "" {
			res.Resynced = "the delta token expired or was rejected (" + err.Error() + "); ran a full resync"
			if cur, err = y.Store.startFullRound(ctx, res.Scope, cur, y.Graph.DeltaURL(graph.DeltaOptions{Select: sel})); err != nil {
				return res, err
			}
			res.Full = true
			continue
		}
		if err != nil {
			return res, y.Store.finish(ctx, &res, err)
		}
		if err := y.enrichRemoved(ctx, res.Scope, sel, page); err != nil {
			return res, y.Store.finish(ctx, &res, err)
		}
		next, err := y.Store.applyEntraPage(ctx, res.Scope, sel, cur, page, opts.FromNow, res.Counts)
		if err != nil {
			return res, y.Store.finish(ctx, &res, err)
		}
		cur = next
		res.Pages++
		if opts.Progress != nil {
			opts.Progress(res.Pages, sum(res.Counts))
		}
		if !cur.inRound {
			break // the deltaLink is stored; the round is over
		}
		if opts.AfterPage != nil {
			if err := opts.AfterPage(res.Pages); err != nil {
				return res, y.Store.finish(ctx, &res, err)
			}
		}
	}
	return res, y.Store.finish(ctx, &res, nil)
}

// finish fills the snapshot totals of res (with a fresh context when ctx has ended) and
// passes err through.
func (s *Store) finish(ctx context.Context, res *EntraResult, err error) error {
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	if e := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM entra_users WHERE scope = ?`, res.Scope).Scan(&res.Users); e != nil && err == nil {
		err = e
	}
	cur, _, e := s.entraCursor(ctx, res.Scope)
	if e != nil && err == nil {
		err = e
	}
	res.Complete = cur.complete
	return err
}

// enrichRemoved gives a soft-deleted user the snapshot has no properties for (an @removed
// "changed" entry carries only the id) its selected properties from deletedItems, so the
// access review can still match the person by address. A user already purged is left bare.
func (y *Syncer) enrichRemoved(ctx context.Context, scope string, sel []string, page *graph.DeltaPage) error {
	var ids []int
	for i, ch := range page.Changes {
		if ch.Removed != "changed" || ch.ID == "" {
			continue
		}
		var props string
		err := y.Store.db.QueryRowContext(ctx, `SELECT props FROM entra_users WHERE scope = ? AND id = ?`, scope, ch.ID).Scan(&props)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if props == "" || props == "{}" {
			ids = append(ids, i)
		}
	}
	conc := max(y.Concurrency, 8)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, i := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			u, err := y.Graph.GetDeleted(ctx, page.Changes[i].ID)
			if err != nil {
				return // purged meanwhile, or not readable: the review reports the address as missing
			}
			raw, _ := json.Marshal(u)
			var all map[string]json.RawMessage
			_ = json.Unmarshal(raw, &all)
			props := map[string]json.RawMessage{}
			for _, k := range sel {
				if v, ok := all[k]; ok && k != "id" {
					props[k] = v
				}
			}
			page.Changes[i].Props = props
		})
	}
	wg.Wait()
	return ctx.Err()
}

func sum(m map[string]int) int {
	n := 0
	for k, v := range m {
		if k != KindBaseline {
			n += v
		}
	}
	return n + m[KindBaseline]
}

func (s *Store) entraCursor(ctx context.Context, scope string) (entraCursor, bool, error) {
	var c entraCursor
	err := s.db.QueryRowContext(ctx, `SELECT link, in_round, round_kind, round, complete FROM entra_cursors WHERE scope = ?`, scope).
		Scan(&c.link, &c.inRound, &c.roundKind, &c.round, &c.complete)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, err
}

// startFullRound returns the cursor of a new full round. Nothing is stored until its first
// page commits, so an abandoned start leaves the previous cursor in force.
func (s *Store) startFullRound(ctx context.Context, scope string, prev entraCursor, link string) (entraCursor, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM entra_users WHERE scope = ?`, scope).Scan(&n); err != nil {
		return prev, err
	}
	kind := roundFull
	if n == 0 {
		kind = roundBaseline
	}
	return entraCursor{link: link, inRound: true, roundKind: kind, round: prev.round + 1, complete: prev.complete}, nil
}

// applyEntraPage applies one delta page and stores the link that follows it, in one
// transaction. On the last page of a full round, users the round did not report are
// deleted from the snapshot (logged as deleted).
func (s *Store) applyEntraPage(ctx context.Context, scope string, sel []string, cur entraCursor, page *graph.DeltaPage, fromNow bool, counts map[string]int) (entraCursor, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return cur, err
	}
	defer tx.Rollback()
	now := s.now().Format("2006-01-02T15:04:05.000Z")
	get, err := tx.PrepareContext(ctx, `SELECT upn, props, state FROM entra_users WHERE scope = ? AND id = ?`)
	if err != nil {
		return cur, err
	}
	defer get.Close()
	put, err := tx.PrepareContext(ctx, `INSERT INTO entra_users (scope, id, upn, props, state, seen_round) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, id) DO UPDATE SET upn = excluded.upn, props = excluded.props, state = excluded.state,
		seen_round = CASE WHEN excluded.seen_round = 0 THEN entra_users.seen_round ELSE excluded.seen_round END`)
	if err != nil {
		return cur, err
	}
	defer put.Close()
	del, err := tx.PrepareContext(ctx, `DELETE FROM entra_users WHERE scope = ? AND id = ?`)
	if err != nil {
		return cur, err
	}
	defer del.Close()
	logc, err := tx.PrepareContext(ctx, insertChange)
	if err != nil {
		return cur, err
	}
	defer logc.Close()

	seen := int64(0) // 0: incremental rounds leave seen_round as it was (see put)
	if cur.roundKind != roundIncremental {
		seen = cur.round
	}
	pending := map[string]int{}
	record := func(kind, id, name, detail string) error {
		pending[kind]++
		if kind == KindBaseline {
			return nil
		}
		_, err := appendChange(ctx, logc, now, scope, kind, id, name, detail)
		return err
	}
	for _, ch := range page.Changes {
		if ch.ID == "" {
			continue
		}
		var upn, propsText, state string
		err := get.QueryRowContext(ctx, scope, ch.ID).Scan(&upn, &propsText, &state)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return cur, err
		}
		props := map[string]json.RawMessage{}
		if exists {
			if err := json.Unmarshal([]byte(propsText), &props); err != nil {
				return cur, fmt.Errorf("snapshot: user %s: %w", ch.ID, err)
			}
		}
		switch ch.Removed {
		case "deleted":
			if !exists {
				continue
			}
			if _, err := del.ExecContext(ctx, scope, ch.ID); err != nil {
				return cur, err
			}
			if err := record(KindDeleted, ch.ID, upn, "permanently deleted"); err != nil {
				return cur, err
			}
			continue
		case "":
		default: // "changed": soft-deleted, restorable for 30 days
			if exists && state == "soft_deleted" {
				if err := touchSeen(ctx, tx, scope, ch.ID, seen); err != nil {
					return cur, err
				}
				continue
			}
			kind := KindSoftDeleted
			if !exists && cur.roundKind == roundBaseline {
				kind = KindBaseline
			}
			if len(ch.Props) > 0 { // enriched from deletedItems
				merge(props, ch.Props)
				raw, _ := json.Marshal(props)
				propsText, upn = string(raw), stringProp(props, "userPrincipalName")
			}
			if _, err := put.ExecContext(ctx, scope, ch.ID, upn, orEmpty(propsText), "soft_deleted", seen); err != nil {
				return cur, err
			}
			if err := record(kind, ch.ID, upn, "deleted, restorable"); err != nil {
				return cur, err
			}
			continue
		}
		changed := merge(props, ch.Props)
		raw, err := json.Marshal(props)
		if err != nil {
			return cur, err
		}
		newUPN := stringProp(props, "userPrincipalName")
		if _, err := put.ExecContext(ctx, scope, ch.ID, newUPN, string(raw), "active", seen); err != nil {
			return cur, err
		}
		var kind, detail string
		switch {
		case !exists && cur.roundKind == roundBaseline:
			kind = KindBaseline
		case !exists:
			kind = KindCreated
		case state == "soft_deleted":
			kind, detail = KindRestored, describe(changed)
		case len(changed) == 0:
			continue // a replay: Graph may send an object again (NOTES §2)
		default:
			kind, detail = KindUpdated, describe(changed)
			if c, ok := changed["accountEnabled"]; ok {
				if string(c.new) == "false" {
					kind = KindDisabled
				} else if string(c.new) == "true" {
					kind = KindEnabled
				}
			}
		}
		if err := record(kind, ch.ID, newUPN, detail); err != nil {
			return cur, err
		}
	}

	next := cur
	if page.NextLink != "" {
		next.link, next.inRound = page.NextLink, true
	} else {
		if page.DeltaLink == "" {
			return cur, errors.New("snapshot: delta page has neither @odata.nextLink nor @odata.deltaLink")
		}
		if cur.roundKind == roundFull {
			if err := sweep(ctx, tx, logc, now, scope, cur.round, pending); err != nil {
				return cur, err
			}
		}
		if cur.roundKind != roundIncremental {
			next.complete = true
		}
		if fromNow {
			next.complete = false
		}
		next.link, next.inRound, next.roundKind = page.DeltaLink, false, roundIncremental
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO entra_cursors (scope, tenant, select_set, link, in_round, round_kind, round, complete, synced)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope) DO UPDATE SET link = excluded.link, in_round = excluded.in_round,
		round_kind = excluded.round_kind, round = excluded.round, complete = excluded.complete, synced = excluded.synced`,
		scope, strings.SplitN(scope, "|", 2)[0], strings.Join(sel, ","), next.link, next.inRound, next.roundKind, next.round, next.complete, now); err != nil {
		return cur, err
	}
	if err := tx.Commit(); err != nil {
		return cur, err
	}
	for k, v := range pending {
		counts[k] += v
	}
	return next, nil
}

func orEmpty(props string) string {
	if props == "" {
		return "{}"
	}
	return props
}

func touchSeen(ctx context.Context, tx *sql.Tx, scope, id string, round int64) error {
	if round == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE entra_users SET seen_round = ? WHERE scope = ? AND id = ?`, round, scope, id)
	return err
}

// sweep ends a full round: a user the round did not report no longer exists.
func sweep(ctx context.Context, tx *sql.Tx, logc *sql.Stmt, now, scope string, round int64, pending map[string]int) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, upn FROM entra_users WHERE scope = ? AND seen_round <> ?`, scope, round)
	if err != nil {
		return err
	}
	type gone struct{ id, upn string }
	var all []gone
	for rows.Next() {
		var g gone
		if err := rows.Scan(&g.id, &g.upn); err != nil {
			rows.Close()
			return err
		}
		all = append(all, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, g := range all {
		if _, err := tx.ExecContext(ctx, `DELETE FROM entra_users WHERE scope = ? AND id = ?`, scope, g.id); err != nil {
			return err
		}
		if _, err := appendChange(ctx, logc, now, scope, KindDeleted, g.id, g.upn, "not reported by a full resync"); err != nil {
			return err
		}
		pending[KindDeleted]++
	}
	return nil
}

type propChange struct{ old, new json.RawMessage }

// merge applies a sparse delta patch to props and returns the properties whose value
// changed. Annotations (names with '@', such as manager@delta) are not properties.
func merge(props, patch map[string]json.RawMessage) map[string]propChange {
	changed := map[string]propChange{}
	for k, v := range patch {
		if k == "id" || strings.Contains(k, "@") {
			continue
		}
		v = compact(v)
		old, had := props[k]
		if had && bytes.Equal(old, v) {
			continue
		}
		props[k] = v
		changed[k] = propChange{old: old, new: v}
	}
	return changed
}

func compact(v json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}

// describe renders changed properties as "name: old -> new" in name order, each value cut
// to 60 bytes, at most 400 bytes in all.
func describe(changed map[string]propChange) string {
	names := make([]string, 0, len(changed))
	for k := range changed {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteString("; ")
		}
		c := changed[k]
		old := string(c.old)
		if old == "" {
			old = "(unset)"
		}
		fmt.Fprintf(&b, "%s: %s -> %s", k, cut(old, 60), cut(string(c.new), 60))
	}
	return cut(b.String(), 400)
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func stringProp(props map[string]json.RawMessage, name string) string {
	var s string
	_ = json.Unmarshal(props[name], &s)
	return s
}
