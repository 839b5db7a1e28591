package sqldb

import "context"

// ExecForTest runs query on db's pool: the tests create and drop their
// databases with it.
func ExecForTest(ctx context.Context, db *DB, query string) error {
	_, err := db.sql.ExecContext(ctx, query)
	return err
}

// QueryIntForTest returns the one integer that query selects.
func QueryIntForTest(ctx context.Context, db *DB, query string) (int64, error) {
	var n int64
	err := db.sql.QueryRowContext(ctx, query).Scan(&n)
	return n, err
}

// MigrationsForTest returns how many migrations db's dialect has.
func MigrationsForTest(db *DB) int64 {
	ms, err := loadMigrations(db.d.name)
	if err != nil {
		panic(err)
	}
	return int64(len(ms))
}

// MigrateToForTest applies the migrations up to and including version.
func MigrateToForTest(ctx context.Context, db *DB, version int64) error {
	return db.migrateTo(ctx, version)
}
