package audit

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are applied in order; the schema_migrations table records each one. Never
// edit a shipped migration: add the next one.
var migrations = []string{
	`CREATE TABLE records (
		seq         INTEGER PRIMARY KEY AUTOINCREMENT,
		kind        TEXT    NOT NULL,
		intent      INTEGER NOT NULL DEFAULT 0,
		time        TEXT    NOT NULL,
		caller      TEXT    NOT NULL,
		tool        TEXT    NOT NULL,
		effect      TEXT    NOT NULL,
		target      TEXT    NOT NULL,
		summary     TEXT    NOT NULL,
		args        TEXT    NOT NULL,
		plan_hash   TEXT    NOT NULL,
		mode        TEXT    NOT NULL,
		approver    TEXT    NOT NULL,
		status      TEXT    NOT NULL,
		error       TEXT    NOT NULL,
		request_ids TEXT    NOT NULL,
		prev_hash   TEXT    NOT NULL,
		hash        TEXT    NOT NULL
	);
	CREATE INDEX records_intent ON records(intent) WHERE kind = 'outcome';
	CREATE TRIGGER records_append_only_update BEFORE UPDATE ON records
		BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
	CREATE TRIGGER records_append_only_delete BEFORE DELETE ON records
		BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;`,
}

func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this msidm (%d); upgrade msidm", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("schema migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`,
			i+1, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return fmt.Errorf("schema migration %d: %w", i+1, err)
		}
	}
	return tx.Commit()
}

func schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("not an msidm audit database (%w)", err)
	}
	return v, nil
}
