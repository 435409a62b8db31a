package offboard

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/store"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// FileName is the journal database inside the state directory.
const FileName = "offboard.db"

// Step and run statuses as the journal stores them.
const (
	StatusPending = "pending"
	StatusRunning = "running" // written before a step acts: a crash leaves it here
	StatusDone    = "done"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
	// Run-only statuses.
	StatusPartial = "partial"
	// StatusUnconfirmed is a run whose plan is recorded but not confirmed yet: offboard_resume
	// or the same call again asks the policy before anything runs.
	StatusUnconfirmed = "unconfirmed"
)

// RunID is the id of a person's run for a ticket: the same person and ticket always name the
// same run, so asking again continues it instead of starting over.
func RunID(personKey, ticket string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(personKey) + "\x00" + strings.TrimSpace(ticket)))
	return "ob-" + hex.EncodeToString(sum[:8])
}

// migrations are applied in order and recorded in schema_migrations; never edit a shipped one.
var migrations = []string{
	`CREATE TABLE runs (
		id         TEXT PRIMARY KEY,
		person_key TEXT NOT NULL,
		person     TEXT NOT NULL,
		ticket     TEXT NOT NULL,
		options    TEXT NOT NULL,
		principals TEXT NOT NULL,
		status     TEXT NOT NULL,
		created    TEXT NOT NULL,
		updated    TEXT NOT NULL
	);
	CREATE INDEX runs_person_ticket ON runs(person_key, ticket);
	CREATE TABLE steps (
		run_id      TEXT    NOT NULL REFERENCES runs(id),
		key         TEXT    NOT NULL,
		seq         INTEGER NOT NULL,
		spec        TEXT    NOT NULL,
		status      TEXT    NOT NULL,
		detail      TEXT    NOT NULL DEFAULT '',
		request_ids TEXT    NOT NULL DEFAULT '[]',
		attempts    INTEGER NOT NULL DEFAULT 0,
		updated     TEXT    NOT NULL,
		PRIMARY KEY (run_id, key)
	);
	CREATE TABLE events (
		seq    INTEGER PRIMARY KEY AUTOINCREMENT,
		run_id TEXT NOT NULL,
		key    TEXT NOT NULL,
		status TEXT NOT NULL,
		detail TEXT NOT NULL,
		time   TEXT NOT NULL
	);
	CREATE INDEX events_run ON events(run_id, seq);`,
}

// Journal is the durable record of offboarding runs: every step is written before it acts
// (running, attempts+1) and after (done, failed or skipped, with detail and Microsoft's
// request ids), so a run survives a crash and is continued without repeating a done step.
// It is safe for concurrent use.
type Journal struct {
	db  *sql.DB
	own bool
	now func() time.Time

	mu    sync.Mutex
	locks map[string]*sync.Mutex

	// Hook, when set, is called after every step status the journal writes; an error stops
	// the run there as a crash would (tests use it to crash between two steps).
	Hook func(runID, key, status string) error
}

// Open opens (creating when needed, mode 0600, WAL) dir/offboard.db and applies migrations.
func Open(ctx context.Context, dir string) (*Journal, error) {
	path := filepath.Join(dir, FileName)
	if err := store.CreatePrivate(dir, path); err != nil {
		return nil, fmt.Errorf("offboarding journal: %w", err)
	}
	// synchronous(FULL): a "running" row is on disk before the call it announces is sent.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("offboarding journal %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; avoids SQLITE_BUSY inside the process
	j, err := New(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("offboarding journal %s: %w", path, err)
	}
	j.own = true
	return j, nil
}

// OpenMemory opens a journal that lives only as long as the process: for tests and for a
// server started without a state directory (it says so in every result).
func OpenMemory(ctx context.Context) (*Journal, error) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one connection: every statement sees the same in-memory database
	j, err := New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	j.own = true
	return j, nil
}

// New uses an open database (driver "sqlite"), applying the journal's migrations.
func New(ctx context.Context, db *sql.DB) (*Journal, error) {
	if err := store.Migrate(ctx, db, migrations); err != nil {
		return nil, err
	}
	return &Journal{db: db, now: time.Now, locks: map[string]*sync.Mutex{}}, nil
}

// Close closes the database when the journal opened it.
func (j *Journal) Close() error {
	if j.own {
		return j.db.Close()
	}
	return nil
}

// Run is one person's offboarding as the journal holds it.
type Run struct {
	ID         string      `json:"run_id"`
	PersonKey  string      `json:"-"`
	Person     string      `json:"person"`
	Ticket     string      `json:"ticket"`
	Options    Options     `json:"options"`
	Principals []Principal `json:"-"`
	Status     string      `json:"status"`
	Created    time.Time   `json:"created"`
	Updated    time.Time   `json:"updated"`
	Steps      []StepState `json:"steps"`
}

// Principal is a person's account in one system.
type Principal struct {
	System string `json:"system"`
	ID     string `json:"id"`
	Name   string `json:"name"`
}

// StepState is a step with what happened to it.
type StepState struct {
	Step
	Status     string    `json:"status"`
	Detail     string    `json:"detail,omitempty"`
	RequestIDs []string  `json:"request_ids,omitempty"`
	Attempts   int       `json:"attempts"`
	Updated    time.Time `json:"updated"`
}

// ErrNoRun is returned for an unknown run id.
var ErrNoRun = errors.New("no offboarding run has this id")

const timeFormat = time.RFC3339Nano

// Find returns the newest run for a person and ticket, or nil.
func (j *Journal) Find(ctx context.Context, personKey, ticket string) (*Run, error) {
	var id string
	err := j.db.QueryRowContext(ctx, `SELECT id FROM runs WHERE person_key = ? AND ticket = ? ORDER BY created DESC LIMIT 1`,
		personKey, ticket).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return j.Get(ctx, id)
}

// Get reads a run and its steps in order.
func (j *Journal) Get(ctx context.Context, id string) (*Run, error) {
	var r Run
	var opts, princ, created, updated string
	err := j.db.QueryRowContext(ctx, `SELECT id, person_key, person, ticket, options, principals, status, created, updated
		FROM runs WHERE id = ?`, id).Scan(&r.ID, &r.PersonKey, &r.Person, &r.Ticket, &opts, &princ, &r.Status, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoRun
	}
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(opts), &r.Options)
	_ = json.Unmarshal([]byte(princ), &r.Principals)
	r.Created, _ = time.Parse(timeFormat, created)
	r.Updated, _ = time.Parse(timeFormat, updated)
	rows, err := j.db.QueryContext(ctx, `SELECT spec, status, detail, request_ids, attempts, updated FROM steps WHERE run_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s StepState
		var spec, ids, upd string
		if err := rows.Scan(&spec, &s.Status, &s.Detail, &ids, &s.Attempts, &upd); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(spec), &s.Step); err != nil {
			return nil, fmt.Errorf("offboarding journal: step of run %s: %w", id, err)
		}
		_ = json.Unmarshal([]byte(ids), &s.RequestIDs)
		s.Updated, _ = time.Parse(timeFormat, upd)
		r.Steps = append(r.Steps, s)
	}
	return &r, rows.Err()
}

// Begin creates run r with its planned steps, or, when r.ID exists, adds the steps it lacks
// and keeps every recorded one as it is (a done step stays done). It returns the run as stored.
func (j *Journal) Begin(ctx context.Context, r Run, steps []Step) (*Run, error) {
	now := j.now().UTC().Format(timeFormat)
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	opts, _ := json.Marshal(r.Options)
	princ, _ := json.Marshal(r.Principals)
	if r.Status == "" {
		r.Status = StatusPending
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO runs(id, person_key, person, ticket, options, principals, status, created, updated)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET options = excluded.options, status = ?, updated = excluded.updated`,
		r.ID, r.PersonKey, r.Person, r.Ticket, string(opts), string(princ), r.Status, now, now, r.Status); err != nil {
		return nil, err
	}
	var next int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM steps WHERE run_id = ?`, r.ID).Scan(&next); err != nil {
		return nil, err
	}
	for _, s := range steps {
		spec, _ := json.Marshal(s)
		status, detail := StatusPending, ""
		if s.CannotReason != "" {
			status, detail = StatusSkipped, s.CannotReason
		}
		next++
		res, err := tx.ExecContext(ctx, `INSERT INTO steps(run_id, key, seq, spec, status, detail, updated) VALUES(?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(run_id, key) DO NOTHING`, r.ID, s.Key, next, string(spec), status, detail, now)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO events(run_id, key, status, detail, time) VALUES(?, ?, ?, ?, ?)`,
				r.ID, s.Key, status, "planned", now); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return j.Get(ctx, r.ID)
}

// mark records a step's status; attempt adds one to its attempt count (a step about to act).
func (j *Journal) mark(ctx context.Context, runID, key, status, detail string, requestIDs []string, attempt bool) error {
	ctx = context.WithoutCancel(ctx) // what happened must be written even when the call was cancelled
	now := j.now().UTC().Format(timeFormat)
	ids, _ := json.Marshal(nonNil(requestIDs))
	inc := 0
	if attempt {
		inc = 1
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE steps SET status = ?, detail = ?, request_ids = ?, attempts = attempts + ?, updated = ?
		WHERE run_id = ? AND key = ?`, status, detail, string(ids), inc, now, runID, key); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events(run_id, key, status, detail, time) VALUES(?, ?, ?, ?, ?)`,
		runID, key, status, detail, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if j.Hook != nil {
		return j.Hook(runID, key, status)
	}
	return nil
}

func (j *Journal) setRunStatus(ctx context.Context, runID, status string) error {
	_, err := j.db.ExecContext(context.WithoutCancel(ctx), `UPDATE runs SET status = ?, updated = ? WHERE id = ?`,
		status, j.now().UTC().Format(timeFormat), runID)
	return err
}

// Event is one line of a run's history.
type Event struct {
	Key    string    `json:"key"`
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	Time   time.Time `json:"time"`
}

// Events returns a run's history, oldest first.
func (j *Journal) Events(ctx context.Context, runID string) ([]Event, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT key, status, detail, time FROM events WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var t string
		if err := rows.Scan(&e.Key, &e.Status, &e.Detail, &t); err != nil {
			return nil, err
		}
		e.Time, _ = time.Parse(timeFormat, t)
		out = append(out, e)
	}
	return out, rows.Err()
}

// lock serialises work on one run inside this process; it reports false when the run is
// already being worked on.
func (j *Journal) lock(runID string) (unlock func(), ok bool) {
	j.mu.Lock()
	m := j.locks[runID]
	if m == nil {
		m = &sync.Mutex{}
		j.locks[runID] = m
	}
	j.mu.Unlock()
	if !m.TryLock() {
		return nil, false
	}
	return m.Unlock, true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
