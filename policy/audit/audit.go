// Package audit is msidm's tamper-evident record of every write and destructive request:
// an intent row written before the call reaches Microsoft, and an outcome row after it.
//
// Rows live in an embedded SQLite database (audit.db under the state directory, mode 0600,
// WAL) and are never updated: an outcome is a new row that names its intent. Each row is
// hash-chained, hash = SHA-256(prev_hash || canonical JSON of the row's fields), so Verify
// finds an edited, removed, reordered or inserted row and names the first bad one. Triggers
// refuse UPDATE and DELETE; someone with the file can drop them, which is what the chain is for.
// Removing the newest rows is caught through SQLite's AUTOINCREMENT counter; to detect a
// rewrite of the whole file, keep the head hash Verify reports somewhere else.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/msidm/msidm/store"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// FileName is the database file inside the state directory.
const FileName = "audit.db"

// Kinds of rows.
const (
	KindIntent  = "intent"  // written before a call runs
	KindOutcome = "outcome" // written after it, naming the intent
	KindRefused = "refused" // a call the guard rails refused; nothing ran
)

// Outcome statuses.
const (
	StatusDone    = "done"
	StatusFailed  = "failed"
	StatusPartial = "partial"
	StatusRefused = "refused"
	// StatusUnknown is written at start for an intent whose outcome was never recorded
	// (msidm stopped between the call and its outcome): check the target by hand.
	StatusUnknown = "outcome unknown"
)

// Record is what the caller knows before a call runs.
type Record struct {
	Caller   string // "stdio operator" or the HTTP token subject
	Tool     string
	Effect   string // "write" or "destructive"
	Target   string
	Summary  string
	Args     any // stored as JSON with secrets redacted
	PlanHash string
	Mode     string // confirmation mode: not-required, elicitation, approval, code
	Approver string
}

// Outcome is what happened to an intent.
type Outcome struct {
	Status string // StatusDone, StatusFailed, StatusPartial, StatusRefused
	Error  string
	// RequestIDs are Microsoft's request-id (Graph) and TrackingId (Customer Management)
	// values of the calls made, so a support case can be opened for any of them.
	RequestIDs []string
}

// Entry is one stored row.
type Entry struct {
	Seq        int64           `json:"seq"`
	Kind       string          `json:"kind"`
	Intent     int64           `json:"intent,omitempty"` // for outcome rows: the intent's Seq
	Time       string          `json:"time"`
	Caller     string          `json:"caller,omitempty"`
	Tool       string          `json:"tool"`
	Effect     string          `json:"effect,omitempty"`
	Target     string          `json:"target,omitempty"`
	Summary    string          `json:"summary,omitempty"`
	Args       json.RawMessage `json:"args,omitempty"`
	PlanHash   string          `json:"plan_hash,omitempty"`
	Mode       string          `json:"mode,omitempty"`
	Approver   string          `json:"approver,omitempty"`
	Status     string          `json:"status,omitempty"`
	Error      string          `json:"error,omitempty"`
	RequestIDs []string        `json:"request_ids,omitempty"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// Options configure a Log.
type Options struct {
	// Redact masks secret values in stored text (clients/redact.Redactor.String).
	Redact func(string) string
	// ReadOnly opens an existing database for Tail and Verify: no migration, no recovery
	// rows, no writes. Use it from `msidm audit` while a server may be running.
	ReadOnly bool
	// Now is the clock; tests set it.
	Now func() time.Time
}

// Log is an open audit database. It is safe for concurrent use.
type Log struct {
	db        *sql.DB
	path      string
	opts      Options
	mu        sync.Mutex // serialises appends so each row chains onto the last
	recovered []Entry
}

// Open opens (creating when needed) dir/audit.db. Unless opts.ReadOnly, it applies schema
// migrations and appends an "outcome unknown" row for every intent left without an outcome
// by a previous run; Recovered returns those intents so the start-up can report them.
func Open(ctx context.Context, dir string, opts Options) (*Log, error) {
	if opts.Redact == nil {
		opts.Redact = func(s string) string { return s }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	path := filepath.Join(dir, FileName)
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
	} else if err := store.CreatePrivate(dir, path); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	// synchronous(FULL): an intent row is on disk before the call it announces runs.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway, this avoids SQLITE_BUSY inside the process
	l := &Log{db: db, path: path, opts: opts}
	if err := l.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	return l, nil
}

func (l *Log) init(ctx context.Context) error {
	if l.opts.ReadOnly {
		v, err := schemaVersion(ctx, l.db)
		if err != nil {
			return err
		}
		if v != len(migrations) {
			return fmt.Errorf("schema version %d, this msidm reads %d", v, len(migrations))
		}
		return nil
	}
	if err := store.Migrate(ctx, l.db, migrations); err != nil {
		return err
	}
	unfinished, err := l.Unfinished(ctx)
	if err != nil {
		return err
	}
	for _, e := range unfinished {
		if err := l.Outcome(ctx, e.Seq, Outcome{Status: StatusUnknown,
			Error: "msidm stopped before recording the outcome; check the target in the admin portal"}); err != nil {
			return err
		}
	}
	l.recovered = unfinished
	return nil
}

// Path is the database file.
func (l *Log) Path() string { return l.path }

// Recovered returns the intents that Open found without an outcome and marked "outcome unknown".
func (l *Log) Recovered() []Entry { return slices.Clone(l.recovered) }

// Close closes the database.
func (l *Log) Close() error { return l.db.Close() }

// Intent records a call before it runs and returns its sequence number, which Outcome needs.
// A call must not run when Intent fails.
func (l *Log) Intent(ctx context.Context, r Record) (int64, error) {
	e, err := l.entry(KindIntent, r)
	if err != nil {
		return 0, err
	}
	return l.append(ctx, e, nil)
}

// Refused records a call the guard rails refused; nothing ran.
func (l *Log) Refused(ctx context.Context, r Record, reason string) (int64, error) {
	e, err := l.entry(KindRefused, r)
	if err != nil {
		return 0, err
	}
	e.Status, e.Error = StatusRefused, l.opts.Redact(reason)
	return l.append(ctx, e, nil)
}

// Outcome records what happened to intent. Each intent takes one outcome.
func (l *Log) Outcome(ctx context.Context, intent int64, o Outcome) error {
	if o.Status == "" {
		return errors.New("audit: outcome without a status")
	}
	ids := make([]string, len(o.RequestIDs))
	for i, id := range o.RequestIDs {
		ids[i] = l.opts.Redact(id)
	}
	e := Entry{Kind: KindOutcome, Intent: intent, Status: o.Status, Error: l.opts.Redact(o.Error), RequestIDs: ids}
	_, err := l.append(ctx, e, func(tx *sql.Tx, e *Entry) error {
		in, err := scanEntry(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM records WHERE seq = ? AND kind = ?`, intent, KindIntent))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no intent %d", intent)
		}
		if err != nil {
			return err
		}
		var done int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM records WHERE kind = ? AND intent = ?`, KindOutcome, intent).Scan(&done); err != nil {
			return err
		}
		if done > 0 {
			return fmt.Errorf("intent %d already has an outcome", intent)
		}
		e.Caller, e.Tool, e.Effect, e.Target, e.PlanHash, e.Mode, e.Approver = in.Caller, in.Tool, in.Effect, in.Target, in.PlanHash, in.Mode, in.Approver
		return nil
	})
	return err
}

func (l *Log) entry(kind string, r Record) (Entry, error) {
	if r.Tool == "" {
		return Entry{}, errors.New("audit: record without a tool")
	}
	args, err := RedactArgs(r.Args, l.opts.Redact)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: arguments of %s: %w", r.Tool, err)
	}
	return Entry{Kind: kind, Caller: r.Caller, Tool: r.Tool, Effect: r.Effect, Target: l.opts.Redact(r.Target),
		Summary: l.opts.Redact(r.Summary), Args: args, PlanHash: r.PlanHash, Mode: r.Mode, Approver: r.Approver}, nil
}

// append chains e onto the last row and inserts it in one immediate transaction; check,
// when given, runs first inside that transaction and may complete e.
func (l *Log) append(ctx context.Context, e Entry, check func(*sql.Tx, *Entry) error) (int64, error) {
	if l.opts.ReadOnly {
		return 0, errors.New("audit: the log is open read-only")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	defer tx.Rollback()
	if check != nil {
		if err := check(tx, &e); err != nil {
			return 0, fmt.Errorf("audit: %w", err)
		}
	}
	var last int64
	var prev string
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("audit: %w", err)
	}
	// Continue after the highest number ever used, so removed newest rows leave a visible gap.
	counter, err := sequenceCounter(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	e.Seq = max(last, counter) + 1
	e.Time = l.opts.Now().UTC().Format(time.RFC3339Nano)
	e.PrevHash = prev
	e.Hash = chainHash(e)
	ids, _ := json.Marshal(e.RequestIDs)
	if e.RequestIDs == nil {
		ids = []byte("[]")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO records (`+columns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		e.Seq, e.Kind, e.Intent, e.Time, e.Caller, e.Tool, e.Effect, e.Target, e.Summary, string(e.Args), e.PlanHash,
		e.Mode, e.Approver, e.Status, e.Error, string(ids), e.PrevHash, e.Hash)
	if err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	return e.Seq, nil
}

// hashed is the canonical form of a row: every field but the hash, in a fixed order.
type hashed struct {
	Seq        int64    `json:"seq"`
	Kind       string   `json:"kind"`
	Intent     int64    `json:"intent"`
	Time       string   `json:"time"`
	Caller     string   `json:"caller"`
	Tool       string   `json:"tool"`
	Effect     string   `json:"effect"`
	Target     string   `json:"target"`
	Summary    string   `json:"summary"`
	Args       string   `json:"args"` // the stored bytes, so any change to them shows
	PlanHash   string   `json:"plan_hash"`
	Mode       string   `json:"mode"`
	Approver   string   `json:"approver"`
	Status     string   `json:"status"`
	Error      string   `json:"error"`
	RequestIDs []string `json:"request_ids"`
}

// chainHash is hex(SHA-256(prev_hash || canonical JSON of e)).
func chainHash(e Entry) string {
	ids := e.RequestIDs
	if ids == nil {
		ids = []string{}
	}
	canon, err := json.Marshal(hashed{e.Seq, e.Kind, e.Intent, e.Time, e.Caller, e.Tool, e.Effect, e.Target, e.Summary,
		string(e.Args), e.PlanHash, e.Mode, e.Approver, e.Status, e.Error, ids})
	if err != nil {
		panic(err) // strings and ints only
	}
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
}

const columns = `seq, kind, intent, time, caller, tool, effect, target, summary, args, plan_hash, mode, approver, status, error, request_ids, prev_hash, hash`

type scanner interface{ Scan(dest ...any) error }

func scanEntry(s scanner) (Entry, error) {
	var e Entry
	var args, ids string
	err := s.Scan(&e.Seq, &e.Kind, &e.Intent, &e.Time, &e.Caller, &e.Tool, &e.Effect, &e.Target, &e.Summary, &args,
		&e.PlanHash, &e.Mode, &e.Approver, &e.Status, &e.Error, &ids, &e.PrevHash, &e.Hash)
	if err != nil {
		return e, err
	}
	if args != "" {
		e.Args = json.RawMessage(args)
	}
	if err := json.Unmarshal([]byte(ids), &e.RequestIDs); err != nil {
		// A mangled column is tampering; keep the raw text so the hash check reports it.
		e.RequestIDs = []string{ids}
	}
	if len(e.RequestIDs) == 0 {
		e.RequestIDs = nil
	}
	return e, nil
}

func sequenceCounter(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'records'`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// Tail returns the newest n rows, oldest first.
func (l *Log) Tail(ctx context.Context, n int) ([]Entry, error) {
	entries, err := l.query(ctx, `SELECT `+columns+` FROM records ORDER BY seq DESC LIMIT ?`, n)
	slices.Reverse(entries)
	return entries, err
}

// Unfinished lists intents that have no outcome row, oldest first.
func (l *Log) Unfinished(ctx context.Context) ([]Entry, error) {
	return l.query(ctx, `SELECT `+columns+` FROM records r WHERE kind = ? AND NOT EXISTS
		(SELECT 1 FROM records o WHERE o.kind = ? AND o.intent = r.seq) ORDER BY seq`, KindIntent, KindOutcome)
}

func (l *Log) query(ctx context.Context, q string, args ...any) ([]Entry, error) {
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
