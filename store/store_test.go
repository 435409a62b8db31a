package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

func TestMigrateAppliesOnceAndRefusesNewer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "x.db")
	if err := CreatePrivate(dir, path); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	v1 := []string{`CREATE TABLE a (x INTEGER)`}
	v2 := append(v1, `CREATE TABLE b (y INTEGER)`)
	for _, m := range [][]string{v1, v1, v2, v2} { // re-running is a no-op
		if err := Migrate(ctx, db, m); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	_ = db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d migrations recorded, want 2", n)
	}
	if err := Migrate(ctx, db, v1); err == nil || !strings.Contains(err.Error(), "newer than this msidm") {
		t.Fatalf("an older binary must refuse a newer database: %v", err)
	}
	if err := Migrate(ctx, db, append(v2, `NOT SQL`)); err == nil {
		t.Fatal("a failing migration must fail")
	}
	_ = db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if n != 2 {
		t.Fatalf("a failed migration was half-applied: %d", n)
	}
}
