package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
)

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gatehouse %s\n", gatehouse.Version)
	return nil
}

func cmdMigrate(ctx context.Context, args []string, env func() (*config, error), stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "migrate", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := env()
	if err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, cfg.DatabaseURL, cfg.DB)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stdout, "migrations applied (%s)\n", db.Dialect())
	return nil
}

func cmdHashCost(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hash-cost", "hash-cost [-target 250ms]", stderr)
	target := fs.Duration("target", 250*time.Millisecond, "how long one hash should take")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	best := 0
	for cost := 8; cost <= 15; cost++ {
		h := auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: cost}
		start := time.Now()
		if _, err := h.Hash("a password of a usual length"); err != nil {
			return err
		}
		d := time.Since(start)
		fmt.Fprintf(stdout, "cost %2d: %v\n", cost, d.Round(time.Millisecond))
		if d <= *target || best == 0 {
			best = cost
		}
		if d > *target*2 {
			break
		}
	}
	fmt.Fprintf(stdout, "BCRYPT_COST=%d is the highest cost within %v on this machine\n", best, *target)
	return nil
}
