// Package store holds what msidm's embedded SQLite databases share: private files under the
// state directory and versioned schema migrations. The audit log (policy/audit), the
// offboarding journal (offboard) and the snapshots (snapshot) each own their schema; this
// package only opens and migrates them the same way (modernc.org/sqlite, no cgo).
package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"
)

// CreatePrivate makes dir (0700) and the database file path in it (0600), tightening a file
// that others can read: the databases hold names, addresses and who changed what.
func CreatePrivate(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return f.Chmod(0o600)
	}
	return nil
}

// Migrate applies migrations[v:] in one transaction, where v is the number already applied,
// recording each in schema_migrations. A database newer than the binary is refused rather
// than misread.
func Migrate(ctx context.Context, db *sql.DB, migrations []string) error {
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
