package audit

import (
	"context"
	"database/sql"
	"fmt"
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

func schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("not an msidm audit database (%w)", err)
	}
	return v, nil
}
