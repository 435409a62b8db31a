// Package snapshot is msidm's embedded state store: a local copy of the Entra ID users
// (kept current with Graph delta queries) and of every reachable Microsoft Advertising
// customer's users and invitations, an append-only change log of every difference a sync
// applied, and the access review that joins the two copies by e-mail identity.
//
// Everything lives in one SQLite database (snapshot.db under the state directory, mode
// 0600, WAL). A delta page's changes, its change-log rows and the link to continue from are
// written in one transaction, so a sync stopped at any point (crash, cancellation, expired
// token) resumes from the last committed page and neither loses nor repeats a change.
package snapshot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/msidm/msidm/store"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// FileName is the database file inside the state directory.
const FileName = "snapshot.db"

// Options configure a Store.
type Options struct {
	// Tenant keys the Entra snapshot (the Entra tenant id). "" uses the Graph service root
	// of the syncing client, which is enough for one tenant per state directory.
	Tenant string
	// Now is the clock; tests set it.
	Now func() time.Time
}

// Store is an open snapshot database. It is safe for concurrent use; syncs of one system
// are serialised so a background refresh and a tool call never interleave pages.
type Store struct {
	db    *sql.DB
	path  string
	opts  Options
	entra chan struct{} // held while an Entra sync runs
	ads   chan struct{} // held while an Ads sync runs
}

// migrations are applied in order; schema_migrations records each one. Never edit a
// shipped migration: add the next one.
var migrations = []string{
	`CREATE TABLE entra_cursors (
		scope      TEXT PRIMARY KEY,        -- tenant + "|" + sorted $select set
		tenant     TEXT NOT NULL,
		select_set TEXT NOT NULL,
		link       TEXT NOT NULL,           -- nextLink of a round in progress, else the deltaLink
		in_round   INTEGER NOT NULL,        -- 1: link is a nextLink
		round_kind TEXT NOT NULL,           -- '' incremental, 'full' (sweep at the end), 'baseline' (empty scope)
		round      INTEGER NOT NULL,        -- id of the current or last full round
		complete   INTEGER NOT NULL,        -- a full round has finished since the last from_now
		synced     TEXT NOT NULL            -- time of the last committed page
	);
	CREATE TABLE entra_users (
		scope      TEXT NOT NULL,
		id         TEXT NOT NULL,
		upn        TEXT NOT NULL,
		props      TEXT NOT NULL,           -- JSON object: the merged delta properties
		state      TEXT NOT NULL,           -- 'active' or 'soft_deleted'
		seen_round INTEGER NOT NULL,        -- last full round that reported the user
		PRIMARY KEY (scope, id)
	) WITHOUT ROWID;
	CREATE TABLE ads_customers (
		customer_id INTEGER PRIMARY KEY,
		name        TEXT NOT NULL,
		synced      TEXT NOT NULL
	);
	CREATE TABLE ads_users (
		customer_id INTEGER NOT NULL,
		user_id     INTEGER NOT NULL,
		user_name   TEXT NOT NULL,
		email       TEXT NOT NULL,
		name        TEXT NOT NULL,
		status      TEXT NOT NULL,
		roles       TEXT NOT NULL,          -- canonical JSON of the CustomerRoles
		PRIMARY KEY (customer_id, user_id)
	);
	CREATE TABLE ads_invitations (
		customer_id   INTEGER NOT NULL,
		invitation_id INTEGER NOT NULL,
		email         TEXT NOT NULL,
		name          TEXT NOT NULL,
		role_id       INTEGER NOT NULL,
		expires       TEXT NOT NULL,
		expired       INTEGER NOT NULL,
		PRIMARY KEY (customer_id, invitation_id)
	);
	CREATE TABLE changes (
		seq       INTEGER PRIMARY KEY AUTOINCREMENT,
		time      TEXT NOT NULL,
		scope     TEXT NOT NULL,            -- an Entra scope, or 'ads'
		kind      TEXT NOT NULL,
		object_id TEXT NOT NULL,
		name      TEXT NOT NULL,
		detail    TEXT NOT NULL
	);
	CREATE INDEX changes_scope ON changes(scope, seq);`,
}

// Open opens (creating when needed) dir/snapshot.db and applies schema migrations.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	path := filepath.Join(dir, FileName)
	if err := store.CreatePrivate(dir, path); err != nil {
		return nil, fmt.Errorf("snapshot store: %w", err)
	}
	// synchronous(NORMAL) in WAL mode keeps every commit atomic and survives a process crash;
	// the store is a cache of Microsoft's state, so losing the last commit to a power cut only
	// means the next sync repeats that page.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("snapshot store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway, this avoids SQLITE_BUSY inside the process
	if err := store.Migrate(ctx, db, migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("snapshot store %s: %w", path, err)
	}
	return &Store{db: db, path: path, opts: opts, entra: make(chan struct{}, 1), ads: make(chan struct{}, 1)}, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) now() time.Time { return s.opts.Now().UTC() }

// lock takes one of the per-system sync locks, giving up when ctx ends.
func lock(ctx context.Context, ch chan struct{}) (func(), error) {
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Change is one entry of the change log.
type Change struct {
	Seq      int64  `json:"seq"`
	Time     string `json:"time"`
	Kind     string `json:"kind"`
	ObjectID string `json:"id"`
	Name     string `json:"name,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Change kinds. Entra: from delta pages. Ads: from diffing two snapshots.
const (
	KindCreated     = "created"
	KindUpdated     = "updated"
	KindDisabled    = "disabled"
	KindEnabled     = "enabled"
	KindSoftDeleted = "soft_deleted"
	KindRestored    = "restored"
	KindDeleted     = "deleted"

	KindAdded              = "added"
	KindRemoved            = "removed"
	KindStatusChanged      = "status_changed"
	KindRoleChanged        = "role_changed"
	KindInvited            = "invited"
	KindInvitationAccepted = "invitation_accepted"
	KindInvitationExpired  = "invitation_expired"
	KindInvitationRemoved  = "invitation_removed"

	// KindBaseline counts objects recorded by the first sync of an empty snapshot; they are
	// not written to the change log one by one.
	KindBaseline = "baseline"
)

// AdsScope is the change-log scope of Microsoft Advertising changes.
const AdsScope = "ads"

// Changes returns at most limit changes of scope with a sequence number above since, in
// order, and whether more follow.
func (s *Store) Changes(ctx context.Context, scope string, since int64, limit int) ([]Change, bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, time, kind, object_id, name, detail FROM changes
		WHERE scope = ? AND seq > ? ORDER BY seq LIMIT ?`, scope, since, limit+1)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.Seq, &c.Time, &c.Kind, &c.ObjectID, &c.Name, &c.Detail); err != nil {
			return nil, false, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// LastSeq is the highest sequence number in the change log (0 when empty).
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&seq)
	return seq, err
}

// appendChange writes one change-log row inside tx and returns its sequence number.
func appendChange(ctx context.Context, stmt *sql.Stmt, now, scope, kind, id, name, detail string) (int64, error) {
	res, err := stmt.ExecContext(ctx, now, scope, kind, id, name, detail)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

const insertChange = `INSERT INTO changes (time, scope, kind, object_id, name, detail) VALUES (?, ?, ?, ?, ?, ?)`

// ErrNoSnapshot is returned by Review when a snapshot it needs was never taken.
var ErrNoSnapshot = errors.New("snapshot missing")
